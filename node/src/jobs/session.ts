// Job requests are signed by the job's session key: an EIP-191 personal signature over the raw
// 32-byte request hash (bagHash of the model inputs, docs/PROTOCOL.md), sent in the
// `x-shardmesh-signature` header with `x-shardmesh-job`. Buyers use `signJobRequest`; the gateway
// checks with `verifyJobRequestSignature` against the session key the job holds on chain.
import { isAddressEqual, recoverMessageAddress } from "viem";
import type { Address, Hex } from "viem";
import { parseTensors } from "../gateway/server.ts";
import type { JsonTensor } from "../gateway/server.ts";
import { bagHash, toHex } from "../pipeline/tensor.ts";

/** The request hash of a tensor input as the gateway computes it. */
export function jobRequestHash(tensors: Record<string, JsonTensor>): Hex {
  return toHex(bagHash(parseTensors(tensors)));
}

/** The session key's signature of one job request. */
export function signJobRequest(sessionKey: { signMessage(args: { message: { raw: Hex } }): Promise<Hex> }, requestHash: Hex): Promise<Hex> {
  return sessionKey.signMessage({ message: { raw: requestHash } });
}

/** Whether `signature` over `requestHash` comes from `sessionKey` (false for a malformed signature). */
export async function verifyJobRequestSignature(sessionKey: Address, requestHash: Hex, signature: string): Promise<boolean> {
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
  try {
    return isAddressEqual(await recoverMessageAddress({ message: { raw: requestHash }, signature: signature as Hex }), sessionKey);
  } catch {
    return false;
  }
}
