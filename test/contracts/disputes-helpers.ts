// Shared steps of a dispute for the contract tests (and the verifier tests that drive the same
// contracts): a revealed receipt to challenge, the bond a challenge takes, the challenge, the
// committee draw, a committee's commit-reveal vote, closing a round and making the verdict final.
import { keccak256, toHex } from "viem";
import type { Address } from "viem";
import { ROLE, as, buildReceipt, networkHelpers, openJob, revealAll, roleOf, straight, submit } from "./helpers.ts";
import type { BuiltReceipt, Fixture, OpenedJob } from "./helpers.ts";

/** IDisputes.DisputeStatus. */
export const STATUS = { Open: 1, Appealable: 2, Upheld: 3, Rejected: 4 } as const;

/** Opens a job (one provider per stage), submits a 10-request receipt and reveals its sample. */
export async function revealedReceipt(f: Fixture): Promise<{ job: OpenedJob; r: BuiltReceipt; id: bigint }> {
  const job = await openJob(f);
  const r = await buildReceipt(f, job, 10, { route: straight(f) });
  const id = await submit(f, job, r);
  await revealAll(f, job, r, id);
  return { job, r, id };
}

/** The first bond of a challenge against `accused` in `jobId`: max(challengeBond, bps × its collateral). */
export async function bondOf(f: Fixture, jobId: bigint, accused: Address): Promise<bigint> {
  const job = await f.market.read.job([jobId]);
  const p = await f.params.read.paramsAt([BigInt(job.paramsVersion)]);
  const share = ((await f.market.read.collateralOf([jobId, accused])) * BigInt(p.challengeBondBps)) / 10_000n;
  return share > p.challengeBond ? share : p.challengeBond;
}

/** Challenges sample 0's leaf at `stage` from dev account `who`; returns the dispute id. */
export async function challenge(f: Fixture, job: OpenedJob, id: bigint, stage: number, who: number = ROLE.v1): Promise<bigint> {
  await f.token.write.approve([f.market.address, 10n ** 24n], as(who));
  await f.disputes.write.challenge([job.jobId, id, 0n, BigInt(stage)], as(who));
  return (await f.disputes.read.disputeCount()) - 1n;
}

/** Draws the current round's committee (mines the seed block first). */
export async function draw(f: Fixture, id: bigint) {
  await networkHelpers.mine(1);
  await f.disputes.write.drawCommittee([id], as(ROLE.stranger));
  const d = await f.disputes.read.dispute([id]);
  const [jurors, seats] = await f.disputes.read.committee([id, BigInt(d.round)]);
  return { jurors: [...jurors], seats: [...seats], round: d.round };
}

/** Every juror in `votes` commits, time passes the commit phase, and they reveal. */
export async function vote(f: Fixture, id: bigint, votes: Map<Address, boolean>) {
  const d = await f.disputes.read.dispute([id]);
  const salt = keccak256(toHex("salt"));
  for (const [j, fraud] of votes) {
    const c = await f.disputes.read.voteCommitment([id, BigInt(d.round), j, fraud, salt]);
    await f.disputes.write.commitVote([id, c], as(roleOf(j)));
  }
  const p = await f.params.read.paramsAt([BigInt(d.paramsVersion)]);
  await networkHelpers.time.increase(p.commit + 1);
  for (const [j, fraud] of votes) await f.disputes.write.revealVote([id, fraud, salt], as(roleOf(j)));
}

/** The same vote from every juror. */
export const all = (jurors: Address[], fraud: boolean) => new Map(jurors.map((j) => [j, fraud]));

/** Closes the current round after its vote-reveal window. */
export async function close(f: Fixture, id: bigint) {
  const p = await f.params.read.paramsAt([BigInt((await f.disputes.read.dispute([id])).paramsVersion)]);
  await networkHelpers.time.increase(p.commit + p.voteReveal + 1);
  await f.disputes.write.closeRound([id], as(ROLE.stranger));
}

/** Makes an appealable verdict final after its appeal window. */
export async function finalize(f: Fixture, id: bigint) {
  const p = await f.params.read.paramsAt([BigInt((await f.disputes.read.dispute([id])).paramsVersion)]);
  await networkHelpers.time.increase(p.appeal + 1);
  await f.disputes.write.finalize([id], as(ROLE.stranger));
}
