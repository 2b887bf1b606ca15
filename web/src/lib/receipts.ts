// The buyer's side of a receipt: the job's session key (kept in this browser) signs
// (jobId, count, units, outputRoot) under the ShardMesh EIP-712 domain, with no wallet prompt.
// The types and domain are @shardmesh/node/receipts/eip712.ts itself (one definition for the node,
// the contracts' tests and the web app).
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { buyerReceiptTypedData, shardMeshDomain } from "@shardmesh/node/receipts/eip712.ts";

export { EIP712_NAME, EIP712_VERSION, buyerReceiptTypes, jobRequestTypes } from "@shardmesh/node/receipts/eip712.ts";

export function signBuyerReceipt(
  sessionKey: Hex,
  chainId: number,
  jobMarket: Address,
  receipt: { jobId: bigint; count: number; units: number; outputRoot: Hex },
): Promise<Hex> {
  return privateKeyToAccount(sessionKey).signTypedData(buyerReceiptTypedData(shardMeshDomain(chainId, jobMarket), receipt));
}
