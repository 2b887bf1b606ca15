// Who may read a job's per-request details at a gateway (docs/PROTOCOL.md, "What job information
// is public"). `GET /v1/jobs/{id}` shows anyone the job's served count and receipt states (the
// chain shows as much); the per-request request/response hashes, routes and stage records only to
// the holder of the job's session key: a hash of a buyer's input lets anyone confirm a guess of
// that input, and the routes show who served the buyer when.
// The reader signs (EIP-191, like the peer binding) `jobDetailsMessage(jobId, expires)`, with
// `expires` (unix seconds) at most JOB_DETAILS_MAX_VALIDITY_S ahead, and sends the signature in
// `x-shardmesh-signature` and `expires` in `x-shardmesh-expires`.
import { verifyMessage } from "viem";
import type { Account, Address, Hex } from "viem";

/** Longest a details signature may be valid for. */
export const JOB_DETAILS_MAX_VALIDITY_S = 600;

/** The text the session key signs to read a job's details until `expires` (unix seconds). */
export function jobDetailsMessage(jobId: string, expires: number): string {
  return `ShardMesh job details\njob id: ${jobId}\nexpires: ${expires}`;
}

export async function signJobDetails(account: Account, jobId: string, expires: number): Promise<Hex> {
  if (!account.signMessage) throw new TypeError("the session account cannot sign messages");
  return account.signMessage({ message: jobDetailsMessage(jobId, expires) });
}

/** Whether `signature` by `sessionKey` lets its bearer read the job's details now. */
export async function verifyJobDetails(
  sessionKey: Address,
  jobId: string,
  expires: number,
  signature: string,
  now = Date.now() / 1000,
): Promise<boolean> {
  if (!Number.isSafeInteger(expires) || expires < now || expires > now + JOB_DETAILS_MAX_VALIDITY_S) return false;
  if (!/^0x[0-9a-fA-F]{130}$/.test(signature)) return false;
  try {
    return await verifyMessage({ address: sessionKey, message: jobDetailsMessage(jobId, expires), signature: signature as Hex });
  } catch {
    return false;
  }
}
