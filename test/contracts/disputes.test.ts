// Disputes: challenges with a bond proportional to the accused's collateral, committees drawn
// after the challenge from a later block (seats stake-weighted, with replacement, each locking a
// juror deposit), commit-reveal votes counted by seats over all rounds, appeals, final payouts
// (slash shares, bonds, forfeited deposits, juror rewards, lazy attestations) and zk answers.
// Regression tests name the issue 10 item they close.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeAbiParameters, keccak256, toHex } from "viem";
import {
  ROLE,
  addr,
  as,
  buildReceipt,
  deployFixture,
  drawSamples,
  networkHelpers,
  openJob,
  publicClient,
  revealWhole,
  roleOf,
  straight,
  submit,
  threeStageFixture,
  viem,
} from "./helpers.ts";
import { STATUS, all, bondOf, challenge, close, draw, finalize, revealedReceipt, vote } from "./disputes-helpers.ts";

const COMMITMENT = keccak256(toHex("weights"));

async function zkFixture() {
  const mock = await viem.deployContract("MockStageProofVerifier");
  const f = await deployFixture({ zk: { stage: 2, verifier: mock.address, weightsCommitment: COMMITMENT } });
  return { ...f, mock: mock.address };
}

describe("Disputes: committees", () => {
  it("item 4 regression: the committee is unknown when the challenge is sent; it comes from the next block's hash, seats by stake", async () => {
    // Old code: the committee was drawn inside challenge() from values known in that transaction, so a
    // challenger contract retried until its friends held the majority.
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const d0 = await challenge(f, job, id, 1);
    const anchor = (await f.disputes.read.dispute([d0])).anchorBlock;
    assert.deepEqual(await f.disputes.read.committee([d0, 0n]), [[], []], "no committee inside challenge()");
    await viem.assertions.revertWithCustomErrorWithArgs(f.disputes.write.drawCommittee([d0]), f.disputes, "DisputesSeedNotReady", [
      anchor + 1n,
      anchor + 2n,
    ]);
    await networkHelpers.mine(1);
    await f.disputes.write.drawCommittee([d0], as(ROLE.stranger));
    // The draw is what ProviderStaking gives for the hash of block anchor + 1 (unknown at challenge time).
    const target = await publicClient.getBlock({ blockNumber: anchor + 1n });
    const domain = keccak256(encodeAbiParameters([{ type: "string" }, { type: "uint256" }, { type: "uint256" }], ["committee", d0, 0n]));
    const seed = keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [target.hash, domain]));
    const exclude = [...(await f.market.read.jobProviders([job.jobId])), addr(ROLE.v1)];
    const expected = await f.staking.read.drawVerifiers([seed, 3n, exclude]);
    const [jurors, seats] = await f.disputes.read.committee([d0, 0n]);
    const count = new Map<string, number>();
    for (const e of expected) count.set(e, (count.get(e) ?? 0) + 1);
    assert.deepEqual(new Map(jurors.map((j, i) => [j, seats[i]])), count);
    for (const j of jurors) assert.ok([addr(ROLE.p4), addr(ROLE.v2), addr(ROLE.v3)].includes(j), "never a job provider or the challenger");
  });

  it("upholds by seat-weighted majority: the accused is slashed (σ to the challenger, γ to coherent jurors), deposits return to voters", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const bond = await bondOf(f, job.jobId, addr(ROLE.p2));
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p2)]);
    const id0 = await challenge(f, job, id, 1);
    const { jurors, seats } = await draw(f, id0);
    const p = await f.params.read.paramsAt([1n]);
    for (const [i, j] of jurors.entries())
      assert.equal((await f.staking.read.stakeOf([j])).locked, BigInt(seats[i]) * p.jurorDeposit, "each seat locks a deposit");
    await vote(f, id0, all(jurors, true));
    await close(f, id0);
    assert.equal((await f.disputes.read.dispute([id0])).status, STATUS.Appealable);
    for (const j of jurors) assert.equal((await f.staking.read.stakeOf([j])).locked, 0n, "voters get their deposit back");
    await finalize(f, id0);
    assert.equal((await f.disputes.read.dispute([id0])).status, STATUS.Upheld);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), true);
    const sigma = (collateral * BigInt(p.challengerShareBps)) / 10_000n;
    assert.equal(await f.market.read.credits([addr(ROLE.v1)]), bond + sigma, "bond back + σ of the slash");
    const gamma = (collateral * BigInt(p.jurorShareBps)) / 10_000n;
    const perSeat = gamma / 3n;
    for (const [i, j] of jurors.entries()) {
      await f.disputes.write.claimJurorReward([id0], as(roleOf(j)));
      assert.equal(await f.market.read.credits([j]), BigInt(seats[i]) * perSeat);
    }
    await viem.assertions.revertWithCustomError(
      f.disputes.write.claimJurorReward([id0], as(roleOf(jurors[0]))),
      f.disputes,
      "DisputesNothingToClaim",
    );
    assert.equal(await f.market.read.bondsHeld(), 0n, "every held token paid out");
  });

  it("rejects a false challenge: the bond goes half to coherent jurors, half to the accused", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const bond = await bondOf(f, job.jobId, addr(ROLE.p1));
    const id0 = await challenge(f, job, id, 0, ROLE.v2);
    const { jurors, seats } = await draw(f, id0);
    await vote(f, id0, all(jurors, false));
    await close(f, id0);
    await finalize(f, id0);
    assert.equal((await f.disputes.read.dispute([id0])).status, STATUS.Rejected);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p1)]), false);
    assert.equal(await f.market.read.credits([addr(ROLE.p1)]), bond - bond / 2n);
    const perSeat = bond / 2n / 3n;
    for (const [i, j] of jurors.entries()) {
      await f.disputes.write.claimJurorReward([id0], as(roleOf(j)));
      assert.equal(await f.market.read.credits([j]), BigInt(seats[i]) * perSeat);
    }
  });

  it("item 9 regression: a dispute nobody votes on is no free bond refund; the silent jurors lose their deposits", async () => {
    // Old code: with no vote the challenger got its bond back, so a coalition could block a stage
    // for free; non-voters lost nothing.
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const bond = await bondOf(f, job.jobId, addr(ROLE.p2));
    const id0 = await challenge(f, job, id, 1);
    const { jurors, seats } = await draw(f, id0);
    const p = await f.params.read.paramsAt([1n]);
    const stakeBefore = await Promise.all(jurors.map(async (j) => (await f.staking.read.stakeOf([j])).staked));
    await close(f, id0);
    await finalize(f, id0);
    assert.equal((await f.disputes.read.dispute([id0])).status, STATUS.Rejected, "a tie rejects");
    assert.equal(await f.market.read.credits([addr(ROLE.v1)]), 0n, "no refund");
    const deposits = 3n * p.jurorDeposit;
    assert.equal(await f.market.read.credits([addr(ROLE.p2)]), bond + deposits, "the accused gets the bond and the deposits");
    for (const [i, j] of jurors.entries())
      assert.equal((await f.staking.read.stakeOf([j])).staked, stakeBefore[i] - BigInt(seats[i]) * p.jurorDeposit);
  });

  it("item 9 regression: a verdict won by a captured committee (after a sybil's own challenge) is appealed and overturned by a larger one", async () => {
    // Old code: a (sample, stage) could be disputed once; the cheater's sybil challenged first before
    // a captured committee, the honest challenger was blocked and the coalition got its bond back.
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f); // say p2's stage-1 output is fake
    // The coalition: v1 (the cheater's sybil challenger) and p4 (the only registered juror for now).
    for (const who of [ROLE.v2, ROLE.v3]) await f.staking.write.deregisterVerifier(as(who));
    const id0 = await challenge(f, job, id, 1, ROLE.v1);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.disputes.write.challenge([job.jobId, id, 0n, 1n], as(ROLE.v2)),
      f.disputes,
      "DisputesAlreadyDisputed",
      [0n, 1n],
    );
    const r0 = await draw(f, id0);
    assert.deepEqual(r0.jurors, [addr(ROLE.p4)]);
    await vote(f, id0, all(r0.jurors, false)); // the captured committee protects the cheater
    await close(f, id0);
    let d = await f.disputes.read.dispute([id0]);
    assert.equal(d.status, STATUS.Appealable);
    assert.equal(d.verdictFraud, false);
    // An honest verifier appeals with twice the bond; honest verifiers are back in the draw.
    await f.staking.write.deregisterVerifier(as(ROLE.p4));
    await f.staking.write.registerVerifier(as(ROLE.v3));
    await f.token.write.approve([f.market.address, 10n ** 24n], as(ROLE.v2));
    await f.disputes.write.appeal([id0], as(ROLE.v2));
    d = await f.disputes.read.dispute([id0]);
    assert.equal(d.round, 1);
    assert.equal((await f.disputes.read.stakes([id0]))[1].amount, 2n * d.bond);
    const r1 = await draw(f, id0);
    assert.deepEqual(r1.jurors, [addr(ROLE.v3)]);
    assert.equal(r1.seats[0], 7, "a larger committee: 7 seats");
    await vote(f, id0, all(r1.jurors, true));
    await close(f, id0);
    d = await f.disputes.read.dispute([id0]);
    assert.equal(d.verdictFraud, true, "7 fraud seats against 3");
    await finalize(f, id0);
    assert.equal((await f.disputes.read.dispute([id0])).status, STATUS.Upheld);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), true, "the cheater is slashed after all");
    // The round-0 juror that voted against the final verdict gets nothing.
    await viem.assertions.revertWithCustomError(
      f.disputes.write.claimJurorReward([id0], as(ROLE.p4)),
      f.disputes,
      "DisputesNothingToClaim",
    );
    await f.disputes.write.claimJurorReward([id0], as(ROLE.v3));
    assert.ok((await f.market.read.credits([addr(ROLE.v3)])) > 0n);
  });

  it("regression (vote copying): no reveal during the commit phase, no commit once reveals are open", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const id0 = await challenge(f, job, id, 1);
    const { jurors } = await draw(f, id0);
    const salt = keccak256(toHex("s"));
    const c = await f.disputes.read.voteCommitment([id0, 0n, jurors[0], true, salt]);
    await f.disputes.write.commitVote([id0, c], as(roleOf(jurors[0])));
    await viem.assertions.revertWithCustomError(
      f.disputes.write.revealVote([id0, true, salt], as(roleOf(jurors[0]))),
      f.disputes,
      "DisputesCommitPhaseOpen",
    );
    const p = await f.params.read.paramsAt([1n]);
    await networkHelpers.time.increase(p.commit + 1);
    await f.disputes.write.revealVote([id0, true, salt], as(roleOf(jurors[0])));
    if (jurors.length > 1) {
      const c2 = await f.disputes.read.voteCommitment([id0, 0n, jurors[1], true, salt]);
      await viem.assertions.revertWithCustomError(
        f.disputes.write.commitVote([id0, c2], as(roleOf(jurors[1]))),
        f.disputes,
        "DisputesDeadlinePassed",
      );
    }
    await viem.assertions.revertWithCustomError(f.disputes.write.commitVote([id0, c], as(ROLE.buyer)), f.disputes, "DisputesNotJuror");
  });

  it("item 11: a lazy attestation of a sample later proven fraudulent loses its deposit to the dispute and earns no fee", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, r, id } = await revealedReceipt(f);
    const attester = (await f.spotCheck.read.sample([job.jobId, id, 0n])).verifier;
    await f.spotCheck.write.attest([job.jobId, id, 0n], as(roleOf(attester)));
    const challenger = [ROLE.v1, ROLE.v2, ROLE.v3, ROLE.p4].find((x) => addr(x) !== attester)!;
    const id0 = await challenge(f, job, id, 1, challenger);
    const { jurors } = await draw(f, id0);
    await vote(f, id0, all(jurors, true));
    await close(f, id0);
    const p = await f.params.read.paramsAt([1n]);
    const stakedBefore = (await f.staking.read.stakeOf([attester])).staked;
    await finalize(f, id0);
    assert.equal((await f.staking.read.stakeOf([attester])).staked, stakedBefore - p.attestDeposit, "attestation deposit slashed");
    assert.equal((await f.spotCheck.read.sample([job.jobId, id, 0n])).attestationForfeited, true);
    await networkHelpers.time.increase(Number(p.reveal + p.challenge));
    const before = await f.market.read.credits([attester]);
    await f.market.write.settle([job.jobId, id, r.records]);
    assert.equal(await f.market.read.credits([attester]), before, "no verifier fee for it");
    assert.equal((await f.staking.read.stakeOf([attester])).locked, 0n);
  });
});

describe("Disputes: checks", () => {
  it("rejects challenges from job providers, unregistered accounts, on unrevealed stages, twice, and after the window", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    await drawSamples(f, job, id);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.disputes.write.challenge([job.jobId, id, 0n, 0n], as(ROLE.v1)),
      f.disputes,
      "DisputesStageNotRevealed",
      [0n, 0n],
    );
    await revealWhole(f, job, r, id);
    const w = await f.spotCheck.read.deadlines([job.jobId, id]);
    await f.token.write.approve([f.market.address, 10n ** 24n], as(ROLE.p1));
    await viem.assertions.revertWithCustomError(
      f.disputes.write.challenge([job.jobId, id, 0n, 1n], as(ROLE.p1)),
      f.disputes,
      "DisputesNotEligibleChallenger",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.disputes.write.challenge([job.jobId, id, 0n, 1n], as(ROLE.stranger)),
      f.disputes,
      "DisputesNotEligibleChallenger",
      [addr(ROLE.stranger), 0n],
    );
    await challenge(f, job, id, 1);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.disputes.write.challenge([job.jobId, id, 0n, 1n], as(ROLE.v2)),
      f.disputes,
      "DisputesAlreadyDisputed",
      [0n, 1n],
    );
    await networkHelpers.time.increaseTo(w[1]);
    await viem.assertions.revertWithCustomError(challenge(f, job, id, 2, ROLE.v2), f.disputes, "DisputesChallengeWindowClosed");
  });

  it("the bond scales with the accused's collateral (β × C, at least challengeBond)", async () => {
    const f = await deployFixture({ protocol: { challengeBondBps: 1_000 } });
    const { job, id } = await revealedReceipt(f);
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p2)]);
    const before = await f.token.read.balanceOf([addr(ROLE.v1)]);
    await challenge(f, job, id, 1);
    assert.equal(before - (await f.token.read.balanceOf([addr(ROLE.v1)])), collateral / 10n);
  });
});

describe("Disputes: zk stage", () => {
  it("a valid proof in time rejects the challenge and pays the bond to the accused", async () => {
    const f = await networkHelpers.loadFixture(zkFixture);
    const { job, id } = await revealedReceipt(f);
    const bond = await bondOf(f, job.jobId, addr(ROLE.p3));
    const id0 = await challenge(f, job, id, 2);
    assert.equal((await f.disputes.read.dispute([id0])).kind, 1);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.disputes.write.answerWithProof([id0, "0x1234"], as(ROLE.p3)),
      f.disputes,
      "DisputesInvalidProof",
      [id0, f.mock],
    );
    const rev = await f.spotCheck.read.stageReveal([job.jobId, id, 0n, 2n]);
    // MockStageProofVerifier: a proof is abi.encode(keccak256(abi.encode(commitment, inputHash, outputHash))).
    const digest = keccak256(
      encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }], [COMMITMENT, rev.inputHash, rev.outputHash]),
    );
    await f.disputes.write.answerWithProof([id0, encodeAbiParameters([{ type: "bytes32" }], [digest])], as(ROLE.p3));
    assert.equal((await f.disputes.read.dispute([id0])).status, STATUS.Rejected);
    assert.equal(await f.market.read.credits([addr(ROLE.p3)]), bond);
  });

  it("no valid proof before the deadline slashes the accused: σ to the challenger, the rest to the treasury", async () => {
    const f = await networkHelpers.loadFixture(zkFixture);
    const { job, id } = await revealedReceipt(f);
    const bond = await bondOf(f, job.jobId, addr(ROLE.p3));
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p3)]);
    const id0 = await challenge(f, job, id, 2);
    const p = await f.params.read.paramsAt([1n]);
    await viem.assertions.revertWithCustomError(f.disputes.write.closeRound([id0]), f.disputes, "DisputesDeadlineNotReached");
    await networkHelpers.time.increase(p.answer + 1);
    const treasuryBefore = await f.market.read.credits([addr(ROLE.treasury)]);
    await f.disputes.write.closeRound([id0], as(ROLE.stranger));
    assert.equal((await f.disputes.read.dispute([id0])).status, STATUS.Upheld);
    const sigma = (collateral * BigInt(p.challengerShareBps)) / 10_000n;
    assert.equal(await f.market.read.credits([addr(ROLE.v1)]), bond + sigma);
    assert.equal((await f.market.read.credits([addr(ROLE.treasury)])) - treasuryBefore, collateral - sigma);
    assert.equal(await f.market.read.bondsHeld(), 0n);
  });
});
