// Job requests are signed by the job's session key: EIP-712 typed data
// `JobRequest(uint256 jobId, uint64 nonce, bytes32 requestHash)` in the ShardMesh domain (chain
// id and JobMarket address, node/src/receipts/eip712.ts), so a signature is bound to one job on
// one chain and, by its nonce, to one request of it: the gateway answers a nonce once per job
// (node/src/jobs/admission.ts), so a replayed signature buys nothing. The buyer numbers its
// requests 0, 1, 2, … (nonce < the job's maxUnits). The request hash is the bagHash of the model
// inputs (docs/PROTOCOL.md). Buyers sign with `signJobRequest` (node/src/receipts) and send it in
// `x-shardmesh-signature` with `x-shardmesh-job` and `x-shardmesh-nonce`; the gateway checks it
// with `verifyJobRequestSignature` against the session key the job holds on chain.
import { isAddressEqual, keccak256, recoverTypedDataAddress, toBytes } from "viem";
import type { Address, Hex, TypedDataDomain } from "viem";
import type { LocalAccount } from "viem/accounts";
import { bagHash, parseJsonBag } from "../tensor/index.ts";
import type { JsonTensor } from "../tensor/index.ts";
import { jobRequestTypedData, type JobRequest } from "../receipts/eip712.ts";

import { signJobRequest } from "../receipts/eip712.ts";
export { signJobRequest };

/**
 * The request hash of a language-model request (the OpenAI routes): keccak256 of the exact body
 * bytes sent (UTF-8), since its model inputs (tokens, then hidden states) come from the gateway.
 */
export function generationRequestHash(body: string | Uint8Array): Hex {
  return keccak256(typeof body === "string" ? toBytes(body) : body);
}

/** The session key's x-shardmesh-signature for a language-model request body under `jobId`, as its request `nonce`. */
export function signGenerationRequest(
  sessionKey: LocalAccount,
  domain: TypedDataDomain,
  jobId: bigint,
  nonce: number | bigint,
  body: string,
): Promise<Hex> {
  return signJobRequest(sessionKey, domain, { jobId, nonce: BigInt(nonce), requestHash: generationRequestHash(body) });
}

/** The request hash of a tensor input as the gateway computes it. */
export function jobRequestHash(tensors: Record<string, JsonTensor>): Hex {
  return bagHash(parseJsonBag(tensors));
}

/** Whether `signature` over (jobId, nonce, requestHash) comes from `sessionKey` (false for a malformed signature). */
export async function verifyJobRequestSignature(
  domain: TypedDataDomain,
  sessionKey: Address,
  request: JobRequest,
  signature: string,
): Promise<boolean> {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
  try {
    return isAddressEqual(
      await recoverTypedDataAddress({ ...jobRequestTypedData(domain, request), signature: signature as Hex }),
      sessionKey,
    );
  } catch {
    return false;
  }
}
