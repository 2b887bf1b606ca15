// When may a provider forget a job's tensors? `isJobFinal` answers from the chain for the trace
// janitor (node/src/trace/janitor.ts).
//
// The rule, from contracts/market/JobMarket.sol, SpotCheck.sol and Disputes.sol:
// - A new receipt (which could cover any request served in the job) needs `submitReceipt` to pass:
//   the job is Open (`_requireOpenJob`), chain time < `expiresAt` (JobMarketJobExpired), the
//   cumulative count grows and the units stay ≤ `maxUnits` (JobMarketCountNotIncreasing,
//   JobMarketUnitsAboveMax; each request is at least one unit). So none can come once the job is
//   Closed, expired, or `units == maxUnits`.
// - A submitted receipt is Pending until `settle`, which needs chain time ≥ submittedAt + reveal +
//   challenge windows (counted from the seed) and `SpotCheck.settlementCheck` clear: every sample resolved and no open
//   dispute. Reveals only happen inside the reveal window, `challenge` only strictly before the end
//   of the challenge window ("a settled receipt must not gain a dispute afterwards"), and an open
//   dispute (zk answer, committee re-execution: both need the tensors) blocks settlement. So once
//   a receipt is Settled nothing references its tensors again, and `pendingReceipts == 0` means
//   every receipt of the job is Settled. (`closeJob` itself requires `pendingReceipts == 0` and
//   expired-or-used-up, so Closed implies both.)
// - Hence: final ⟺ pendingReceipts == 0 AND (Closed OR chain now ≥ expiresAt OR units ==
//   maxUnits). A receipt left Pending after its windows (nobody settled it) keeps the job's
//   tensors: per-receipt state is not inspected, which only errs on the side of keeping.
// A job id that is not a uint256 (development meshes with --unsigned-jobs) cannot be named by a
// receipt, so it is final. Read errors (RPC down, wrong market address, a job not on chain yet)
// throw: the janitor keeps the tensors and asks again next round.
import type { ChainContext } from "./context.ts";

/** JobMarket.JobStatus.Closed (contracts/interfaces/IJobMarket.sol). */
const JOB_CLOSED = 2;

/** The fields of `IJobMarket.Job` the rule reads. */
export interface JobFinalityFields {
  status: number;
  expiresAt: bigint;
  units: number;
  maxUnits: number;
  pendingReceipts: number;
}

/** The rule above, for a job as read on chain at chain time `now` (seconds). */
export function jobIsFinal(job: JobFinalityFields, now: bigint): boolean {
  if (job.pendingReceipts !== 0) return false;
  return job.status === JOB_CLOSED || now >= job.expiresAt || job.units >= job.maxUnits;
}

/** `isJobFinal(jobId)` over a provider's chain connection (reads JobMarket.job and the latest block). */
export function jobFinality(chain: Pick<ChainContext, "publicClient" | "read">): (jobId: string) => Promise<boolean> {
  return async (jobId) => {
    if (!/^(0x[0-9a-fA-F]{1,64}|[0-9]{1,78})$/.test(jobId)) return true;
    const [job, block] = await Promise.all([
      chain.read.market.read.job([BigInt(jobId)]),
      chain.publicClient.getBlock({ blockTag: "latest" }),
    ]);
    return jobIsFinal(job, block.timestamp);
  };
}
