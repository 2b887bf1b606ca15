// Adjudicator: sampling, reveals with Merkle proofs, on-chain hand-off checks (slash at once),
// unrevealed leaves as fraud, and disputes — zk proof answer / timeout and committee commit-reveal.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeAbiParameters, keccak256, parseEther, parseEventLogs, toHex } from "viem";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { adjudicatorAbi, jobMarketAbi } from "../../node/src/generated/abis.ts";
import {
  PRICE,
  ROLE,
  STAKE,
  addr,
  after,
  buildReceipt,
  deployFixture,
  fixtureWith,
  hop,
  networkHelpers,
  openJob,
  passWindows,
  publicClient,
  revealAll,
  revealStage,
  revealWhole,
  straight,
  submit,
  threeStageFixture,
  viem,
  wallets,
  ZERO32,
} from "./helpers.ts";
import type { BuiltReceipt, Fixture, OpenedJob } from "./helpers.ts";

const as = (i: number) => ({ account: wallets[i].account });
const COMMITMENT = keccak256(toHex("weights"));
const roleOf = (a: Address) => wallets.findIndex((w) => w.account.address.toLowerCase() === a.toLowerCase());

async function zkFixture() {
  const mock = await viem.deployContract("MockStageProofVerifier");
  const f = await deployFixture({ zk: { stage: 2, verifier: mock.address, weightsCommitment: COMMITMENT } });
  return { ...f, mock: mock.address };
}

const denseSampling = fixtureWith({ samplingRatePpm: 250_000 });

async function faults(txHash: Promise<Hex>) {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await txHash });
  return parseEventLogs({ abi: jobMarketAbi, eventName: "ProviderFaulted", logs: receipt.logs }).map((e) => e.args);
}

/** Opens a 3-stage job, submits a 10-request receipt and reveals everything. */
async function revealedReceipt(f: Fixture): Promise<{ job: OpenedJob; r: BuiltReceipt; id: bigint; index: number }> {
  const job = await openJob(f);
  const r = await buildReceipt(f, job, 10, { route: straight(f) });
  const id = await submit(f, job, r);
  const [index] = await revealAll(f, job, r, id);
  return { job, r, id, index: Number(index) };
}

async function challenge(f: Fixture, job: OpenedJob, id: bigint, stage: number, who: number = ROLE.v1) {
  const [bond] = await f.adjudicator.read.params();
  await f.token.write.approve([f.market.address, bond], as(who));
  await f.adjudicator.write.challenge([job.jobId, id, 0n, BigInt(stage)], as(who));
  return (await f.adjudicator.read.disputeCount()) - 1n;
}

describe("Adjudicator sampling and reveals", () => {
  it("draws k samples from a later block and accepts proofs from the routed providers", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    const block = await publicClient.getBlockNumber();
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.read.sampleIndices([job.jobId, id]),
      f.adjudicator,
      "AdjudicatorSeedNotReady",
      [block, block + 2n],
    );
    const indices = await revealAll(f, job, r, id);
    assert.equal(indices.length, 1);
    assert.ok(indices[0] >= 0n && indices[0] < 10n);
    const s = await f.adjudicator.read.sample([job.jobId, id, 0n]);
    assert.equal(s.resolved, true);
    assert.equal(s.stageMask, 0b111);
    assert.deepEqual(await f.adjudicator.read.isClear([job.jobId, id]), [true, 0n]);
  });

  it("reveals a whole sample in one transaction with the same checks", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    await revealWhole(f, job, r, id);
    assert.deepEqual(await f.adjudicator.read.isClear([job.jobId, id]), [true, 0n]);
    assert.equal((await f.adjudicator.read.sample([job.jobId, id, 0n])).stageMask, 0b111);
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);

    const job2 = await openJob(f);
    const r2 = await buildReceipt(f, job2, 10, {
      route: straight(f),
      tamper: (rec, s) => (s === 2 ? { ...rec, outputHash: hop(rec.index, 42) } : rec),
    });
    const id2 = await submit(f, job2, r2);
    await revealWhole(f, job2, r2, id2, ROLE.v3);
    assert.equal(await f.market.read.isFaulted([job2.jobId, addr(ROLE.p3)]), true);
    assert.equal((await f.adjudicator.read.sample([job2.jobId, id2, 0n])).resolved, true);
    await viem.assertions.revertWithCustomErrorWithArgs(revealWhole(f, job2, r2, id2), f.adjudicator, "AdjudicatorSampleResolved", [
      0n,
      id2,
    ]);
  });

  it("draws an eligible verifier even when the job's providers hold nearly all the stake", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const big = parseEther("10000000");
    for (const who of [ROLE.p1, ROLE.p2, ROLE.p3]) {
      await f.token.write.transfer([addr(who), big], as(ROLE.admin));
      await f.token.write.approve([f.staking.address, big], as(who));
      await f.staking.write.stake([big], as(who));
    }
    // p1..p3 (the job's providers) now hold 99.9 % of the stake: eight draws over all of it
    // almost surely miss the eligible 0.1 % (p4, v1..v3), which used to leave the receipt
    // without a verifier.
    const job = await openJob(f);
    const eligible = [ROLE.p4, ROLE.v1, ROLE.v2, ROLE.v3].map(addr);
    for (let k = 0; k < 3; k++) {
      const r = await buildReceipt(f, job, 2, { route: straight(f) });
      const id = await submit(f, job, r);
      await networkHelpers.mine(1);
      await f.adjudicator.write.drawSamples([job.jobId, id]);
      const drawn = (await f.adjudicator.read.receiptCheck([job.jobId, id])).verifier;
      assert.ok(eligible.includes(drawn), `receipt ${id}: drawn ${drawn}`);
    }
  });

  it("item 3 regression: a verifier registered after 70 dust stakers is drawn; dust cannot register", async () => {
    // Old code: VerifierDraw scanned only the first 64 addresses that ever staked and the list never
    // shrank, so a staker arriving 71st was never drawn and 64 dust stakes disabled the draw.
    const f = await networkHelpers.loadFixture(threeStageFixture);
    for (const who of [ROLE.p4, ROLE.v1, ROLE.v2, ROLE.v3]) await f.staking.write.deregisterVerifier(as(who));
    const min = await f.staking.read.minVerifierStake();
    for (let i = 0; i < 70; i++) {
      const dust = privateKeyToAccount(keccak256(toHex(`dust ${i}`)));
      await networkHelpers.setBalance(dust.address, parseEther("1"));
      await f.token.write.transfer([dust.address, 1n], as(ROLE.admin));
      await f.token.write.approve([f.staking.address, 1n], { account: dust });
      await f.staking.write.stake([1n], { account: dust });
      if (i === 0)
        await viem.assertions.revertWithCustomErrorWithArgs(
          f.staking.write.registerVerifier({ account: dust }),
          f.staking,
          "ProviderStakingBelowVerifierMinimum",
          [1n, min],
        );
    }
    const late = privateKeyToAccount(keccak256(toHex("late verifier")));
    await networkHelpers.setBalance(late.address, parseEther("1"));
    await f.token.write.transfer([late.address, STAKE], as(ROLE.admin));
    await f.token.write.approve([f.staking.address, STAKE], { account: late });
    await f.staking.write.stake([STAKE], { account: late });
    await f.staking.write.registerVerifier({ account: late });
    const job = await openJob(f);
    for (let k = 0; k < 3; k++) {
      const r = await buildReceipt(f, job, 2, { route: straight(f) });
      const id = await submit(f, job, r);
      await networkHelpers.mine(1);
      await f.adjudicator.write.drawSamples([job.jobId, id]);
      assert.equal((await f.adjudicator.read.receiptCheck([job.jobId, id])).verifier, late.address, `receipt ${id}`);
    }
  });

  it("item 8 regression: k = ceil(n × rate) with no cap, and the sampled indices are distinct (one per stratum)", async () => {
    // Old code: k was capped at 8 and indices drawn with replacement (duplicates possible).
    const f = await networkHelpers.loadFixture(denseSampling);
    const job = await openJob(f);
    const k = async (n: number) => {
      const r = await buildReceipt(f, job, n, { route: straight(f) });
      const id = await submit(f, job, r);
      await networkHelpers.mine(1);
      await f.adjudicator.write.drawSamples([job.jobId, id]);
      const indices = (await f.adjudicator.read.sampleIndices([job.jobId, id])).map(Number);
      assert.equal(new Set(indices).size, indices.length, `duplicate samples ${indices}`);
      const from = job.count - n;
      indices.forEach((x, j) => {
        const k = indices.length;
        assert.ok(x >= from + Math.floor((j * n) / k) && x < from + Math.floor(((j + 1) * n) / k), `sample ${j} outside its stratum`);
      });
      return (await f.adjudicator.read.receiptCheck([job.jobId, id])).samples;
    };
    assert.equal(await k(10), 3); // ceil(10 × 0.25)
    assert.equal(await k(40), 10); // ceil(40 × 0.25): no cap of 8 any more
    assert.equal(await k(128), 32); // the largest receipt at this rate: 32 / 0.25
  });

  it("rejects a wrong index, a bad proof, a wrong route, a wrong part and double reveals", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    await networkHelpers.mine(1);
    await f.adjudicator.write.drawSamples([job.jobId, id]);
    const [sampled] = await f.adjudicator.read.sampleIndices([job.jobId, id]);
    const i = Number(sampled);
    const other = (i + 1) % 10;
    const route = r.routes.get(i)!;
    const reveal = (index: number, proof: Hex[], rt: Address[] = route, sampleNo = 0n) =>
      f.adjudicator.write.revealBuyerLeaf([job.jobId, id, sampleNo, r.buyerTree.leaf(index), proof, rt, r.records], as(ROLE.p1));
    await viem.assertions.revertWithCustomErrorWithArgs(reveal(i, r.buyerTree.proof(i), route, 1n), f.adjudicator, "AdjudicatorBadSample", [
      1n,
      1n,
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(reveal(other, r.buyerTree.proof(other)), f.adjudicator, "AdjudicatorWrongIndex", [
      BigInt(other),
      sampled,
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(reveal(i, r.buyerTree.proof(other)), f.adjudicator, "AdjudicatorBadProof", [
      sampled,
      r.outputRoot,
    ]);
    const wrongRoute = [route[0], route[2], route[1]];
    const leafRouteHash = r.buyerTree.leaf(i).routeHash;
    await viem.assertions.revertWithCustomErrorWithArgs(
      reveal(i, r.buyerTree.proof(i), wrongRoute),
      f.adjudicator,
      "AdjudicatorRouteMismatch",
      [keccak256(encodeAbiParameters([{ type: "address[]" }], [wrongRoute])), leafRouteHash],
    );
    // stage leaf before the buyer leaf
    const tree = r.stageTrees.get(`0:${route[0].toLowerCase()}`)!;
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.revealStageLeaf([job.jobId, id, 0n, 0n, tree.leaf(i), tree.proof(i), route, r.records], as(ROLE.p1)),
      f.adjudicator,
      "AdjudicatorBuyerLeafNotRevealed",
      [0n, id],
    );
    await reveal(i, r.buyerTree.proof(i));
    await viem.assertions.revertWithCustomErrorWithArgs(reveal(i, r.buyerTree.proof(i)), f.adjudicator, "AdjudicatorAlreadyRevealed", [
      0n,
      2n ** 256n - 1n,
    ]);
    // part 1 is stage 1's part, but the leaf is from stage 0's tree
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.revealStageLeaf([job.jobId, id, 0n, 1n, tree.leaf(i), tree.proof(i), route, r.records], as(ROLE.p1)),
      f.adjudicator,
      "AdjudicatorBadProof",
      [sampled, r.records[1].root],
    );
    await revealStage(f, job, r, id, 0, 0, ROLE.p1);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.revealStageLeaf([job.jobId, id, 0n, 0n, tree.leaf(i), tree.proof(i), route, r.records], as(ROLE.p1)),
      f.adjudicator,
      "AdjudicatorAlreadyRevealed",
      [0n, 0n],
    );
    const w = await f.market.read.windowsOf([1n]);
    await networkHelpers.time.increase(Number(w.reveal) + 1);
    await viem.assertions.revertWithCustomError(revealStage(f, job, r, id, 0, 1, ROLE.p2), f.adjudicator, "AdjudicatorRevealWindowClosed");
  });

  it("rejects a buyer leaf whose route has the wrong length or names a provider without a part", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    for (const [bad, error, args] of [
      [(_i: number, r: Address[]) => r.slice(0, 2), "AdjudicatorRouteLength", [2n, 3n]],
      [(_i: number, r: Address[]) => [r[0], addr(ROLE.p4), r[2]], "AdjudicatorRouteProviderMissing", [1n, addr(ROLE.p4)]],
    ] as const) {
      const job = await openJob(f);
      const r = await buildReceipt(f, job, 10, { route: straight(f), buyerRoute: bad });
      const id = await submit(f, job, r);
      await networkHelpers.mine(1);
      await f.adjudicator.write.drawSamples([job.jobId, id]);
      const [i] = await f.adjudicator.read.sampleIndices([job.jobId, id]);
      await viem.assertions.revertWithCustomErrorWithArgs(
        f.adjudicator.write.revealBuyerLeaf(
          [job.jobId, id, 0n, r.buyerTree.leaf(Number(i)), r.buyerTree.proof(Number(i)), r.routes.get(Number(i))!, r.records],
          as(ROLE.p1),
        ),
        f.adjudicator,
        error,
        args as never,
      );
    }
  });

  it("rejects a stage leaf revealed from another provider's part of the same stage", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f, [
      [0, ROLE.p1],
      [1, ROLE.p2],
      [1, ROLE.p4],
      [2, ROLE.p3],
    ]);
    const r = await buildReceipt(f, job, 10, { route: (i, s) => (s === 1 ? (i % 2 ? ROLE.p4 : ROLE.p2) : [ROLE.p1, 0, ROLE.p3][s]) });
    const id = await submit(f, job, r);
    await networkHelpers.mine(1);
    await f.adjudicator.write.drawSamples([job.jobId, id]);
    const [i] = await f.adjudicator.read.sampleIndices([job.jobId, id]);
    const route = r.routes.get(Number(i))!;
    await f.adjudicator.write.revealBuyerLeaf(
      [job.jobId, id, 0n, r.buyerTree.leaf(Number(i)), r.buyerTree.proof(Number(i)), route, r.records],
      as(ROLE.p1),
    );
    const wrong = r.records.findIndex((p) => p.stage === 1 && p.provider !== route[1]);
    const tree = r.stageTrees.get(`1:${route[1].toLowerCase()}`)!;
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.revealStageLeaf(
        [job.jobId, id, 0n, BigInt(wrong), tree.leaf(Number(i)), tree.proof(Number(i)), route, r.records],
        as(ROLE.p1),
      ),
      f.adjudicator,
      "AdjudicatorWrongPart",
      [BigInt(wrong), 1n],
    );
  });

  it("slashes at once the stage whose input differs from the buyer's request hash", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, {
      route: straight(f),
      tamper: (rec, s) => (s === 0 ? { ...rec, inputHash: keccak256(rec.inputHash) } : rec),
    });
    const id = await submit(f, job, r);
    await networkHelpers.mine(1);
    await f.adjudicator.write.drawSamples([job.jobId, id]);
    const [i] = await f.adjudicator.read.sampleIndices([job.jobId, id]);
    const route = r.routes.get(Number(i))!;
    await f.adjudicator.write.revealBuyerLeaf(
      [job.jobId, id, 0n, r.buyerTree.leaf(Number(i)), r.buyerTree.proof(Number(i)), route, r.records],
      as(ROLE.v1),
    );
    const tree = r.stageTrees.get(`0:${route[0].toLowerCase()}`)!;
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p1)]);
    const events = await faults(
      f.adjudicator.write.revealStageLeaf(
        [job.jobId, id, 0n, 0n, tree.leaf(Number(i)), tree.proof(Number(i)), route, r.records],
        as(ROLE.v1),
      ),
    );
    assert.deepEqual(events, [
      { jobId: job.jobId, provider: addr(ROLE.p1), receiptId: id, reason: 1, slashed: collateral, prover: addr(ROLE.v1) },
    ]);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p1)]), true);
    assert.equal((await f.staking.read.stakeOf([addr(ROLE.p1)])).locked, 0n);
    assert.equal(await f.market.read.credits([addr(ROLE.v1)]), collateral / 2n, "prover share");
    // the sample is resolved (dirty); the receipt settles without the faulted provider's pay
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    assert.equal(await f.market.read.credits([addr(ROLE.p1)]), 0n);
    assert.equal(await f.market.read.credits([addr(ROLE.p2)]), 10n * PRICE);
    // a faulted provider's later parts are refused
    const r2 = await buildReceipt(f, job, 2, { route: straight(f) });
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job, r2, ROLE.p2), f.market, "JobMarketProviderFaulted", [
      addr(ROLE.p1),
      job.jobId,
    ]);
  });

  it("slashes both sides of a broken middle hand-off, and the last stage on a response mismatch", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, {
      route: straight(f),
      tamper: (rec, s) => (s === 1 ? { ...rec, outputHash: keccak256(rec.outputHash) } : rec),
    });
    const id = await submit(f, job, r);
    await revealAll(f, job, r, id, ROLE.v2);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), true);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p3)]), true);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p1)]), false);

    const job2 = await openJob(f);
    const r2 = await buildReceipt(f, job2, 10, {
      route: straight(f),
      tamper: (rec, s) => (s === 2 ? { ...rec, outputHash: hop(rec.index, 99) } : rec),
    });
    const id2 = await submit(f, job2, r2);
    await revealAll(f, job2, r2, id2, ROLE.v2);
    assert.equal(await f.market.read.isFaulted([job2.jobId, addr(ROLE.p3)]), true);
    assert.equal(await f.market.read.isFaulted([job2.jobId, addr(ROLE.p2)]), false);
  });

  it("treats an unrevealed stage leaf as fraud by its routed provider", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    const [i] = await revealAll(f, job, r, id, ROLE.p1, 1);
    const route = r.routes.get(Number(i))!;
    const rec = await f.market.read.receipt([job.jobId, id]);
    const deadline = BigInt(rec.submittedAt) + (await f.market.read.windowsOf([1n])).reveal;
    const now = BigInt(await networkHelpers.time.latest());
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.reportUnrevealed([job.jobId, id, 0n, route], as(ROLE.buyer)),
      f.adjudicator,
      "AdjudicatorRevealWindowOpen",
      [after(now), deadline],
    );
    await networkHelpers.time.increaseTo(deadline + 1n);
    const events = await faults(f.adjudicator.write.reportUnrevealed([job.jobId, id, 0n, route], as(ROLE.buyer)));
    assert.equal(events.length, 1);
    assert.equal(events[0].provider, addr(ROLE.p2));
    assert.equal(events[0].reason, 0);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.reportUnrevealed([job.jobId, id, 0n, route], as(ROLE.buyer)),
      f.adjudicator,
      "AdjudicatorSampleResolved",
      [0n, id],
    );
  });

  it("regression: a provider reporting its own missing reveal gets no prover share", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    const [i] = await revealAll(f, job, r, id, ROLE.p1, 1);
    const w = await f.market.read.windowsOf([1n]);
    await networkHelpers.time.increase(Number(w.reveal) + 1);
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p2)]);
    const events = await faults(f.adjudicator.write.reportUnrevealed([job.jobId, id, 0n, r.routes.get(Number(i))!], as(ROLE.p2)));
    assert.equal(events[0].prover, "0x0000000000000000000000000000000000000000");
    assert.equal(await f.market.read.credits([addr(ROLE.p2)]), 0n);
    assert.equal(await f.market.read.credits([addr(ROLE.treasury)]), collateral);
  });

  it("regression: no challenge at the second settlement opens", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const rec = await f.market.read.receipt([job.jobId, id]);
    const w = await f.market.read.windowsOf([1n]);
    const settlesAt = BigInt(rec.submittedAt) + w.reveal + w.challenge;
    await f.token.write.approve([f.market.address, 10n ** 21n], as(ROLE.v1));
    await networkHelpers.time.setNextBlockTimestamp(settlesAt);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.challenge([job.jobId, id, 0n, 1n], as(ROLE.v1)),
      f.adjudicator,
      "AdjudicatorChallengeWindowClosed",
      [settlesAt, settlesAt],
    );
  });

  it("treats an unrevealed buyer leaf as fraud by the receipt's submitter", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r, ROLE.p3);
    await networkHelpers.mine(1);
    const w = await f.market.read.windowsOf([1n]);
    await networkHelpers.time.increase(Number(w.reveal) + 1);
    const events = await faults(f.adjudicator.write.reportUnrevealed([job.jobId, id, 0n, []], as(ROLE.buyer)));
    assert.equal(events[0].provider, addr(ROLE.p3));
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    assert.equal(await f.market.read.credits([addr(ROLE.p3)]), 0n);
  });
});

describe("Adjudicator disputes", () => {
  it("committee upholds a challenge by majority: accused slashed, challenger refunded and rewarded", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const [bond] = await f.adjudicator.read.params();
    const d = await challenge(f, job, id, 1, ROLE.v1);
    const dispute = await f.adjudicator.read.dispute([d]);
    assert.equal(dispute.kind, 2);
    assert.equal(dispute.accused, addr(ROLE.p2));
    const members = await f.adjudicator.read.committee([d]);
    assert.ok(members.length >= 1);
    for (const m of members) {
      assert.ok(![ROLE.p1, ROLE.p2, ROLE.p3, ROLE.v1].includes(roleOf(m) as never), `member ${m} is not a job provider or the challenger`);
    }
    assert.deepEqual(await f.adjudicator.read.isClear([job.jobId, id]), [false, 1n]);
    const salt = keccak256(toHex("salt"));
    for (const m of members) {
      await f.adjudicator.write.commitVote([d, await f.adjudicator.read.voteCommitment([d, m, true, salt])], as(roleOf(m)));
    }
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.commitVote([d, salt], as(roleOf(members[0]))),
      f.adjudicator,
      "AdjudicatorAlreadyCommitted",
      [members[0], d],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.commitVote([d, salt], as(ROLE.stranger)),
      f.adjudicator,
      "AdjudicatorNotCommitteeMember",
      [addr(ROLE.stranger), d],
    );
    const w = await f.market.read.windowsOf([1n]);
    await networkHelpers.time.increase(Number(w.commit) + 1);
    const commitment = await f.adjudicator.read.voteCommitment([d, members[0], true, salt]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.revealVote([d, false, salt], as(roleOf(members[0]))),
      f.adjudicator,
      "AdjudicatorBadVoteReveal",
      [members[0], commitment],
    );
    for (const m of members) await f.adjudicator.write.revealVote([d, true, salt], as(roleOf(m)));
    await viem.assertions.revertWithCustomError(f.adjudicator.write.resolveDispute([d]), f.adjudicator, "AdjudicatorDeadlineNotReached");
    await networkHelpers.time.increase(Number(w.voteReveal) + 1);
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p2)]);
    await viem.assertions.emitWithArgs(f.adjudicator.write.resolveDispute([d]), f.adjudicator, "DisputeResolved", [
      d,
      job.jobId,
      addr(ROLE.p2),
      2,
    ]);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), true);
    assert.equal(await f.market.read.credits([addr(ROLE.v1)]), bond + collateral / 2n);
    const each = collateral / 10n / BigInt(members.length);
    for (const m of members) assert.ok((await f.market.read.credits([m])) >= each);
    assert.equal(await f.market.read.bondsHeld(), 0n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.resolveDispute([d]),
      f.adjudicator,
      "AdjudicatorDisputeNotOpen",
      [d, 2],
    );
  });

  it("committee rejects a challenge: the bond goes to the accused and the honest voters", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, r, id } = await revealedReceipt(f);
    const [bond] = await f.adjudicator.read.params();
    const d = await challenge(f, job, id, 0, ROLE.v2);
    const members = await f.adjudicator.read.committee([d]);
    const salt = keccak256(toHex("s"));
    for (const m of members)
      await f.adjudicator.write.commitVote([d, await f.adjudicator.read.voteCommitment([d, m, false, salt])], as(roleOf(m)));
    const w = await f.market.read.windowsOf([1n]);
    await networkHelpers.time.increase(Number(w.commit) + 1);
    await viem.assertions.revertWithCustomError(
      f.adjudicator.write.commitVote([d, salt], as(roleOf(members[0]))),
      f.adjudicator,
      "AdjudicatorDeadlinePassed",
    );
    for (const m of members) await f.adjudicator.write.revealVote([d, false, salt], as(roleOf(m)));
    await networkHelpers.time.increase(Number(w.voteReveal) + 1);
    await f.adjudicator.write.resolveDispute([d]);
    assert.equal((await f.adjudicator.read.dispute([d])).status, 3);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p1)]), false);
    const share = (bond * 2000n) / 10_000n / BigInt(members.length);
    assert.equal(await f.market.read.credits([addr(ROLE.p1)]), bond - share * BigInt(members.length));
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    assert.equal(await f.market.read.credits([addr(ROLE.p1)]), bond - share * BigInt(members.length) + 10n * PRICE);
  });

  it("regression (vote copying): no reveal during the commit phase, no commit once reveals are visible", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const d = await challenge(f, job, id, 1, ROLE.v1);
    const members = await f.adjudicator.read.committee([d]);
    assert.ok(members.length >= 2, `a copy needs two members, drew ${members.length}`);
    const [leader, copier] = [roleOf(members[0]), roleOf(members[1])];
    const w = await f.market.read.windowsOf([1n]);
    const commitEnd = (await f.adjudicator.read.dispute([d])).openedAt + w.commit;
    const salt = keccak256(toHex("leader"));
    await f.adjudicator.write.commitVote([d, await f.adjudicator.read.voteCommitment([d, members[0], true, salt])], as(leader));
    // The leader tries to reveal while the copier could still commit: refused, also at the last
    // second of the commit phase, so the vote stays hidden.
    const early = BigInt(await networkHelpers.time.latest()) + 1n;
    await networkHelpers.time.setNextBlockTimestamp(early);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.revealVote([d, true, salt], as(leader)),
      f.adjudicator,
      "AdjudicatorCommitPhaseOpen",
      [early, commitEnd],
    );
    await networkHelpers.time.setNextBlockTimestamp(commitEnd);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.revealVote([d, true, salt], as(leader)),
      f.adjudicator,
      "AdjudicatorCommitPhaseOpen",
      [commitEnd, commitEnd],
    );
    assert.equal((await f.adjudicator.read.dispute([d])).votesFraud, 0);
    // From the first second a reveal is accepted, a commit is not: the copier cannot commit the
    // vote it has now seen.
    await networkHelpers.time.setNextBlockTimestamp(commitEnd + 1n);
    await viem.assertions.emitWithArgs(f.adjudicator.write.revealVote([d, true, salt], as(leader)), f.adjudicator, "VoteRevealed", [
      d,
      members[0],
      true,
    ]);
    const copied = await f.adjudicator.read.voteCommitment([d, members[1], true, salt]);
    await networkHelpers.time.setNextBlockTimestamp(commitEnd + 2n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.commitVote([d, copied], as(copier)),
      f.adjudicator,
      "AdjudicatorDeadlinePassed",
      [commitEnd + 2n, commitEnd],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.revealVote([d, true, salt], as(copier)),
      f.adjudicator,
      "AdjudicatorBadVoteReveal",
      [members[1], ZERO32],
    );
    const dispute = await f.adjudicator.read.dispute([d]);
    assert.equal(dispute.votesFraud, 1);
    assert.equal(dispute.votesHonest, 0);
  });

  it("isDisputed tells a second challenger the stage is taken, before and after resolution", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const key = (stage: bigint, receiptId = id) => [job.jobId, receiptId, 0n, stage] as const;
    assert.equal(await f.adjudicator.read.isDisputed(key(1n)), false);
    const d = await challenge(f, job, id, 1, ROLE.v1);
    assert.equal(await f.adjudicator.read.isDisputed(key(1n)), true);
    assert.equal(await f.adjudicator.read.isDisputed(key(0n)), false);
    assert.equal(await f.adjudicator.read.isDisputed(key(2n)), false);
    assert.equal(await f.adjudicator.read.isDisputed([job.jobId, id, 1n, 1n]), false);
    assert.equal(await f.adjudicator.read.isDisputed(key(1n, id + 1n)), false);
    // What the view predicts: the second challenge of that stage reverts, another stage is open.
    await f.token.write.approve([f.market.address, 10n ** 21n], as(ROLE.v2));
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.challenge([job.jobId, id, 0n, 1n], as(ROLE.v2)),
      f.adjudicator,
      "AdjudicatorStageNotRevealed",
      [0n, 1n],
    );
    await f.adjudicator.write.challenge([job.jobId, id, 0n, 2n], as(ROLE.v2));
    assert.equal(await f.adjudicator.read.isDisputed(key(2n)), true);
    const w = await f.market.read.windowsOf([1n]);
    await networkHelpers.time.increase(Number(w.commit + w.voteReveal) + 1);
    await f.adjudicator.write.resolveDispute([d]);
    assert.equal((await f.adjudicator.read.dispute([d])).status, 3);
    assert.equal(await f.adjudicator.read.isDisputed(key(1n)), true);
  });

  it("returns the bond when the committee casts no vote", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const [bond] = await f.adjudicator.read.params();
    const d = await challenge(f, job, id, 1, ROLE.v1);
    const w = await f.market.read.windowsOf([1n]);
    await networkHelpers.time.increase(Number(w.commit + w.voteReveal) + 1);
    await f.adjudicator.write.resolveDispute([d]);
    assert.equal((await f.adjudicator.read.dispute([d])).status, 3);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), false);
    assert.equal(await f.market.read.credits([addr(ROLE.v1)]), bond);
    assert.equal(await f.market.read.credits([addr(ROLE.p2)]), 0n);
  });

  it("rejects challenges from job providers, under-staked accounts, on unrevealed stages and after the window", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const { job, id } = await revealedReceipt(f);
    const stake = (await f.staking.read.stakeOf([addr(ROLE.p1)])).staked;
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.challenge([job.jobId, id, 0n, 1n], as(ROLE.p1)),
      f.adjudicator,
      "AdjudicatorNotEligibleChallenger",
      [addr(ROLE.p1), stake],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.challenge([job.jobId, id, 0n, 1n], as(ROLE.stranger)),
      f.adjudicator,
      "AdjudicatorNotEligibleChallenger",
      [addr(ROLE.stranger), 0n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.challenge([job.jobId, id, 1n, 1n], as(ROLE.v1)),
      f.adjudicator,
      "AdjudicatorStageNotRevealed",
      [1n, 1n],
    );
    await challenge(f, job, id, 1, ROLE.v1);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.challenge([job.jobId, id, 0n, 1n], as(ROLE.v2)),
      f.adjudicator,
      "AdjudicatorStageNotRevealed",
      [0n, 1n],
    );
    await passWindows(f);
    await viem.assertions.revertWithCustomError(
      f.adjudicator.write.challenge([job.jobId, id, 0n, 2n], as(ROLE.v2)),
      f.adjudicator,
      "AdjudicatorChallengeWindowClosed",
    );
    await viem.assertions.revertWithCustomErrorWithArgs(f.adjudicator.read.dispute([5n]), f.adjudicator, "AdjudicatorUnknownDispute", [
      5n,
      1n,
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.answerWithProof([0n, "0x"]),
      f.adjudicator,
      "AdjudicatorWrongDisputeKind",
      [2, 1],
    );
  });

  it("rejects a challenge against an already faulted provider, and a committee nobody is eligible for", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, {
      route: straight(f),
      tamper: (rec, s) => (s === 0 ? { ...rec, inputHash: keccak256(rec.inputHash) } : rec),
    });
    const id = await submit(f, job, r);
    await revealAll(f, job, r, id, ROLE.v2);
    await f.token.write.approve([f.market.address, 10n ** 21n], as(ROLE.v1));
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.challenge([job.jobId, id, 0n, 0n], as(ROLE.v1)),
      f.adjudicator,
      "AdjudicatorAlreadyFaulted",
      [addr(ROLE.p1), job.jobId],
    );

    const { job: job2, id: id2 } = await revealedReceipt(f);
    for (const who of [ROLE.p4, ROLE.v2, ROLE.v3])
      await f.staking.write.requestUnstake([await f.staking.read.freeStake([addr(who)])], as(who));
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.challenge([job2.jobId, id2, 0n, 1n], as(ROLE.v1)),
      f.adjudicator,
      "AdjudicatorNoEligibleVerifiers",
      [0n, 1n],
    );
  });

  it("zk stage: a valid proof in time rejects the challenge and pays the bond to the accused", async () => {
    const f = await networkHelpers.loadFixture(zkFixture);
    const { job, id } = await revealedReceipt(f);
    const [bond] = await f.adjudicator.read.params();
    const d = await challenge(f, job, id, 2, ROLE.v1);
    assert.equal((await f.adjudicator.read.dispute([d])).kind, 1);
    assert.deepEqual(await f.adjudicator.read.committee([d]), []);
    const rev = await f.adjudicator.read.stageReveal([job.jobId, id, 0n, 2n]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.answerWithProof([d, "0x1234"], as(ROLE.p3)),
      f.adjudicator,
      "AdjudicatorInvalidProof",
      [d, f.mock],
    );
    const proof = encodeAbiParameters(
      [{ type: "bytes32" }],
      [
        keccak256(
          encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }, { type: "bytes32" }], [COMMITMENT, rev.inputHash, rev.outputHash]),
        ),
      ],
    );
    await f.adjudicator.write.answerWithProof([d, proof], as(ROLE.p3));
    assert.equal((await f.adjudicator.read.dispute([d])).status, 3);
    assert.equal(await f.market.read.credits([addr(ROLE.p3)]), bond);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.adjudicator.write.commitVote([d, keccak256("0x")], as(ROLE.v2)),
      f.adjudicator,
      "AdjudicatorDisputeNotOpen",
      [d, 3],
    );
  });

  it("zk stage: no valid proof before the deadline slashes the accused", async () => {
    const f = await networkHelpers.loadFixture(zkFixture);
    const { job, id, r } = await revealedReceipt(f);
    const [bond] = await f.adjudicator.read.params();
    const d = await challenge(f, job, id, 2, ROLE.v1);
    const w = await f.market.read.windowsOf([1n]);
    await networkHelpers.time.increase(Number(w.answer) + 1);
    await viem.assertions.revertWithCustomError(
      f.adjudicator.write.answerWithProof([d, "0x"], as(ROLE.p3)),
      f.adjudicator,
      "AdjudicatorDeadlinePassed",
    );
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p3)]);
    await f.adjudicator.write.resolveDispute([d]);
    assert.equal((await f.adjudicator.read.dispute([d])).status, 2);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p3)]), true);
    assert.equal(await f.market.read.credits([addr(ROLE.v1)]), bond + collateral / 2n);
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    assert.equal(await f.market.read.credits([addr(ROLE.p3)]), 0n);
    void adjudicatorAbi;
  });
});
