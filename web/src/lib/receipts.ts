// The buyer's side of a receipt: the job's session key (kept in this browser) signs
// (jobId, count, outputRoot) under the ShardMesh EIP-712 domain, with no wallet prompt.
// Types mirror node/src/receipts/eip712.ts (a unit test checks they are identical).
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";

export const EIP712_NAME = "ShardMesh";
export const EIP712_VERSION = "1";

export const buyerReceiptTypes = {
  BuyerReceipt: [
    { name: "jobId", type: "uint256" },
    { name: "count", type: "uint32" },
    { name: "outputRoot", type: "bytes32" },
  ],
} as const;

export function signBuyerReceipt(sessionKey: Hex, chainId: number, jobMarket: Address, receipt: { jobId: bigint; count: number; outputRoot: Hex }): Promise<Hex> {
  return privateKeyToAccount(sessionKey).signTypedData({
    domain: { name: EIP712_NAME, version: EIP712_VERSION, chainId, verifyingContract: jobMarket },
    types: buyerReceiptTypes,
    primaryType: "BuyerReceipt",
    message: receipt,
  });
}
