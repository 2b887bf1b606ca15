// SpotCheck: seeds (anchored, re-anchored, never caller-chosen), stratified samples with one
// registered verifier each, Merkle reveals, fault attribution (each party answers for its own
// leaf; hand-off claims answered with HandOff signatures), missing reveals, attestations and
// what settlement pays for them. Regression tests name the issue 10 item they close.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { encodeAbiParameters, keccak256, parseEther, parseEventLogs, toHex, zeroAddress } from "viem";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { jobMarketAbi, spotCheckAbi } from "../../node/src/generated/abis.ts";
import { signHandOff } from "../../node/src/receipts/index.ts";
import {
  PRICE,
  ROLE,
  STAKE,
  addr,
  after,
  as,
  buildReceipt,
  devAccount,
  drawSamples,
  fixtureWith,
  hop,
  networkHelpers,
  nonceOf,
  openJob,
  passWindows,
  publicClient,
  revealAll,
  revealBuyer,
  revealStage,
  revealWhole,
  roleOf,
  straight,
  submit,
  threeStageFixture,
  viem,
} from "./helpers.ts";
import type { Fixture } from "./helpers.ts";

const denseSampling = fixtureWith({ samplingRatePpm: 250_000 });
const REASON = { Unrevealed: 0, HandOffMismatch: 1, HandOffContradicted: 4, HandOffUnbacked: 5 } as const;

async function faults(txHash: Promise<Hex>) {
  const receipt = await publicClient.waitForTransactionReceipt({ hash: await txHash });
  return parseEventLogs({ abi: jobMarketAbi, eventName: "ProviderFaulted", logs: receipt.logs }).map((e) => e.args);
}

async function deadlines(f: Fixture, jobId: bigint, id: bigint) {
  const [reveal, challenge] = await f.spotCheck.read.deadlines([jobId, id]);
  return { reveal, challenge };
}

describe("SpotCheck seeds and samples", () => {
  it("fixes the seed from the block after submission; windows count from then", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    const block = await publicClient.getBlockNumber();
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.spotCheck.write.drawSamples([job.jobId, id]),
      f.spotCheck,
      "SpotCheckSeedNotReady",
      [block + 1n, block + 2n],
    );
    const indices = await revealAll(f, job, r, id);
    assert.equal(indices.length, 1);
    const c = await f.spotCheck.read.receiptCheck([job.jobId, id]);
    const target = await publicClient.getBlock({ blockNumber: block + 1n });
    const domain = keccak256(
      encodeAbiParameters([{ type: "string" }, { type: "uint256" }, { type: "uint256" }], ["samples", job.jobId, id]),
    );
    assert.equal(c.seed, keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [target.hash, domain])));
    const p = await f.params.read.paramsAt([1n]);
    assert.deepEqual(await deadlines(f, job.jobId, id), {
      reveal: BigInt(c.seededAt) + BigInt(p.reveal),
      challenge: BigInt(c.seededAt) + BigInt(p.reveal + p.challenge),
    });
    const s = await f.spotCheck.read.sample([job.jobId, id, 0n]);
    assert.equal(s.resolved, true);
    assert.equal(s.stageMask, 0b111);
    assert.equal(s.nonce, nonceOf(Number(indices[0])));
  });

  it("item 2 regression: a seed whose block left the 256-block window re-anchors to a future block, whoever calls when", async () => {
    // Old code: after 256 blocks the seed fell back to blockhash(block.number - 1), chosen by the
    // caller's timing; a cheater that skipped fixing its seed could wait and grind.
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    await networkHelpers.mine(300);
    const tx = await f.spotCheck.write.drawSamples([job.jobId, id], as(ROLE.p1));
    const receipt = await publicClient.waitForTransactionReceipt({ hash: tx });
    const [re] = parseEventLogs({ abi: spotCheckAbi, eventName: "SeedReanchored", logs: receipt.logs });
    assert.equal(re.args.anchorBlock, receipt.blockNumber);
    assert.equal((await f.spotCheck.read.receiptCheck([job.jobId, id])).seededAt, 0, "not seeded: no sample, no window started");
    // Whenever it is called from now on, the seed is the new target block's hash.
    await networkHelpers.mine(7);
    await f.spotCheck.write.drawSamples([job.jobId, id], as(ROLE.stranger));
    const c = await f.spotCheck.read.receiptCheck([job.jobId, id]);
    const target = await publicClient.getBlock({ blockNumber: receipt.blockNumber + 1n });
    const domain = keccak256(
      encodeAbiParameters([{ type: "string" }, { type: "uint256" }, { type: "uint256" }], ["samples", job.jobId, id]),
    );
    assert.equal(c.seed, keccak256(encodeAbiParameters([{ type: "bytes32" }, { type: "bytes32" }], [target.hash, domain])));
    assert.equal(c.reanchors, 1);
  });

  it("item 8 regression: k = ceil(n × rate) with no cap, and the sampled indices are distinct (one per stratum)", async () => {
    // Old code: k was capped at 8 and indices drawn with replacement (duplicates possible).
    const f = await networkHelpers.loadFixture(denseSampling);
    const job = await openJob(f);
    const k = async (n: number) => {
      const r = await buildReceipt(f, job, n, { route: straight(f) });
      const id = await submit(f, job, r);
      const indices = (await drawSamples(f, job, id)).map(Number);
      assert.equal(new Set(indices).size, indices.length, `duplicate samples ${indices}`);
      const from = job.count - n;
      indices.forEach((x, j) => {
        const kk = indices.length;
        assert.ok(x >= from + Math.floor((j * n) / kk) && x < from + Math.floor(((j + 1) * n) / kk), `sample ${j} outside its stratum`);
      });
      return (await f.spotCheck.read.receiptCheck([job.jobId, id])).samples;
    };
    assert.equal(await k(10), 3); // ceil(10 × 0.25)
    assert.equal(await k(40), 10); // no cap of 8 any more
    assert.equal(await k(128), 32); // the largest receipt at this rate: 32 / 0.25
  });

  it("item 3/18: each sample gets its own registered verifier, never a provider of the job, even when they hold nearly all stake", async () => {
    const f = await networkHelpers.loadFixture(denseSampling);
    const big = parseEther("10000000");
    for (const who of [ROLE.p1, ROLE.p2, ROLE.p3]) {
      await f.token.write.transfer([addr(who), big], as(ROLE.admin));
      await f.token.write.approve([f.staking.address, big], as(who));
      await f.staking.write.stake([big], as(who));
    }
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 40, { route: straight(f) });
    const id = await submit(f, job, r);
    const receipt = await publicClient.waitForTransactionReceipt({
      hash: await (async () => {
        await networkHelpers.mine(1);
        return f.spotCheck.write.drawSamples([job.jobId, id]);
      })(),
    });
    const [drawn] = parseEventLogs({ abi: spotCheckAbi, eventName: "SamplesDrawn", logs: receipt.logs });
    assert.equal(drawn.args.verifiers.length, 10);
    const eligible = [ROLE.p4, ROLE.v1, ROLE.v2, ROLE.v3].map(addr);
    for (let j = 0; j < 10; j++) {
      const v = (await f.spotCheck.read.sample([job.jobId, id, BigInt(j)])).verifier;
      assert.ok(eligible.includes(v), `sample ${j}: drawn ${v}`);
      assert.equal(v, drawn.args.verifiers[j]);
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
      await drawSamples(f, job, id);
      assert.equal((await f.spotCheck.read.sample([job.jobId, id, 0n])).verifier, late.address, `receipt ${id}`);
    }
  });
});

describe("SpotCheck reveals", () => {
  it("reveals a whole sample in one transaction with the same checks", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    await revealWhole(f, job, r, id);
    assert.equal((await f.spotCheck.read.sample([job.jobId, id, 0n])).stageMask, 0b111);
    const [clear] = await f.spotCheck.read.settlementCheck([job.jobId, id]);
    assert.equal(clear, false, "windows still open");
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    await viem.assertions.revertWithCustomErrorWithArgs(revealWhole(f, job, r, id), f.spotCheck, "SpotCheckSampleResolved", [0n, id]);
  });

  it("rejects a wrong index, a bad proof, a wrong route, a wrong part and double reveals", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    const [sampled] = await drawSamples(f, job, id);
    const i = Number(sampled);
    const other = (i + 1) % 10;
    const route = r.routes.get(i)!;
    const reveal = (index: number, proof: Hex[], rt: Address[] = route, sampleNo = 0n) =>
      f.spotCheck.write.revealBuyerLeaf([job.jobId, id, sampleNo, r.buyerTree.leaf(index), proof, rt, r.records], as(ROLE.p1));
    await viem.assertions.revertWithCustomErrorWithArgs(reveal(i, r.buyerTree.proof(i), route, 1n), f.spotCheck, "SpotCheckBadSample", [
      1n,
      1n,
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(reveal(other, r.buyerTree.proof(other)), f.spotCheck, "SpotCheckWrongIndex", [
      BigInt(other),
      sampled,
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(reveal(i, r.buyerTree.proof(other)), f.spotCheck, "SpotCheckBadProof", [
      sampled,
      r.outputRoot,
    ]);
    const wrongRoute = [route[0], route[2], route[1]];
    await viem.assertions.revertWithCustomErrorWithArgs(
      reveal(i, r.buyerTree.proof(i), wrongRoute),
      f.spotCheck,
      "SpotCheckRouteMismatch",
      [keccak256(encodeAbiParameters([{ type: "address[]" }], [wrongRoute])), r.buyerTree.leaf(i).routeHash],
    );
    const tree = r.stageTrees.get(`0:${route[0].toLowerCase()}`)!;
    const stage0 = () =>
      f.spotCheck.write.revealStageLeaf([job.jobId, id, 0n, 0n, tree.leaf(i), tree.proof(i), route, r.records], as(ROLE.p1));
    await viem.assertions.revertWithCustomErrorWithArgs(stage0(), f.spotCheck, "SpotCheckBuyerLeafNotRevealed", [0n, id]);
    await reveal(i, r.buyerTree.proof(i));
    await viem.assertions.revertWithCustomErrorWithArgs(reveal(i, r.buyerTree.proof(i)), f.spotCheck, "SpotCheckAlreadyRevealed", [
      0n,
      2n ** 256n - 1n,
    ]);
    // part 1 is stage 1's part, but the leaf is from stage 0's tree
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.spotCheck.write.revealStageLeaf([job.jobId, id, 0n, 1n, tree.leaf(i), tree.proof(i), route, r.records], as(ROLE.p1)),
      f.spotCheck,
      "SpotCheckBadProof",
      [sampled, r.records[1].root],
    );
    await stage0();
    await viem.assertions.revertWithCustomErrorWithArgs(stage0(), f.spotCheck, "SpotCheckAlreadyRevealed", [0n, 0n]);
    const { reveal: end } = await deadlines(f, job.jobId, id);
    await networkHelpers.time.increaseTo(end + 1n);
    await viem.assertions.revertWithCustomError(revealStage(f, job, r, id, 0, 1, ROLE.p2), f.spotCheck, "SpotCheckRevealWindowClosed");
  });

  it("rejects a buyer leaf whose route has the wrong length or names a provider without a part", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    for (const [bad, error, args] of [
      [(_i: number, rt: Address[]) => rt.slice(0, 2), "SpotCheckRouteLength", [2n, 3n]],
      [(_i: number, rt: Address[]) => [rt[0], addr(ROLE.p4), rt[2]], "SpotCheckRouteProviderMissing", [1n, addr(ROLE.p4)]],
    ] as const) {
      const job = await openJob(f);
      const r = await buildReceipt(f, job, 10, { route: straight(f), buyerRoute: bad });
      const id = await submit(f, job, r);
      await drawSamples(f, job, id);
      await viem.assertions.revertWithCustomErrorWithArgs(revealBuyer(f, job, r, id, 0, ROLE.p1), f.spotCheck, error, args as never);
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
    const [i] = await drawSamples(f, job, id);
    const route = r.routes.get(Number(i))!;
    await revealBuyer(f, job, r, id, 0, ROLE.p1);
    const wrong = r.records.findIndex((p) => p.stage === 1 && p.provider !== route[1]);
    const tree = r.stageTrees.get(`1:${route[1].toLowerCase()}`)!;
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.spotCheck.write.revealStageLeaf(
        [job.jobId, id, 0n, BigInt(wrong), tree.leaf(Number(i)), tree.proof(Number(i)), route, r.records],
        as(ROLE.p1),
      ),
      f.spotCheck,
      "SpotCheckWrongPart",
      [BigInt(wrong), 1n],
    );
  });
});

describe("SpotCheck fault attribution", () => {
  it("stage 0 contradicting the buyer tree it signed is faulted at once, to the treasury only, and unpaid", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, {
      route: straight(f),
      tamper: (rec, s) => (s === 0 ? { ...rec, inputHash: keccak256(rec.inputHash) } : rec),
    });
    const id = await submit(f, job, r);
    await drawSamples(f, job, id);
    await revealBuyer(f, job, r, id, 0, ROLE.v1);
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p1)]);
    const treasuryBefore = await f.market.read.credits([addr(ROLE.treasury)]);
    const events = await (async () => {
      const indices = await f.spotCheck.read.sampleIndices([job.jobId, id]);
      const i = Number(indices[0]);
      const route = r.routes.get(i)!;
      const tree = r.stageTrees.get(`0:${route[0].toLowerCase()}`)!;
      return faults(f.spotCheck.write.revealStageLeaf([job.jobId, id, 0n, 0n, tree.leaf(i), tree.proof(i), route, r.records], as(ROLE.v1)));
    })();
    assert.deepEqual(events, [
      { jobId: job.jobId, provider: addr(ROLE.p1), receiptId: id, reason: REASON.HandOffMismatch, slashed: collateral },
    ]);
    assert.equal(await f.market.read.credits([addr(ROLE.v1)]), 0n, "the revealer earns nothing: no prover share for chain-proven faults");
    assert.equal((await f.market.read.credits([addr(ROLE.treasury)])) - treasuryBefore, collateral);
    // The other stages still answer for their own leaves; all honest here.
    await revealStage(f, job, r, id, 0, 1, ROLE.p2);
    await revealStage(f, job, r, id, 0, 2, ROLE.p3);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), false);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p3)]), false);
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    assert.equal(await f.market.read.credits([addr(ROLE.p1)]), 0n);
    assert.equal(await f.market.read.credits([addr(ROLE.p2)]), 10n * PRICE);
    const r2 = await buildReceipt(f, job, 2, { route: straight(f) });
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job, r2, ROLE.p2), f.market, "JobMarketProviderFaulted", [
      addr(ROLE.p1),
      job.jobId,
    ]);
  });

  it("item 1 regression: at a broken middle hand-off the side that signed one hash and revealed another is faulted, never its honest neighbour", async () => {
    // Old code: a broken middle hand-off slashed both neighbours and paid the revealer half of the
    // other's slash, so an attacker recording a false output hash got its honest neighbour slashed.
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    // p2 (stage 1) sent the honest hop 2 to p3 and signed HandOff over it, but records and reveals another output.
    const r = await buildReceipt(f, job, 10, {
      route: straight(f),
      tamper: (rec, s) => (s === 1 ? { ...rec, outputHash: keccak256(rec.outputHash) } : rec),
    });
    const id = await submit(f, job, r);
    const [i] = await drawSamples(f, job, id);
    const index = Number(i);
    await revealBuyer(f, job, r, id, 0, ROLE.p1);
    await revealStage(f, job, r, id, 0, 0, ROLE.p1);
    await revealStage(f, job, r, id, 0, 2, ROLE.p3); // the honest neighbour reveals first
    const tx = revealStage(f, job, r, id, 0, 1, ROLE.p2);
    await tx;
    let s = await f.spotCheck.read.sample([job.jobId, id, 0n]);
    assert.equal(s.claimMask, 1 << 2, "a claim at boundary 2, nobody faulted yet");
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p3)]), false);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), false);
    // p3 kept p2's HandOff over what it received (hop 2): it presents it.
    const signature = await signHandOff(devAccount(ROLE.p2), f.domain, {
      jobId: job.jobId,
      nonce: nonceOf(index),
      boundary: 2,
      hash: hop(index, 2),
    });
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p2)]);
    const events = await faults(f.spotCheck.write.presentHandOff([job.jobId, id, 0n, 2n, signature], as(ROLE.p3)));
    assert.deepEqual(events, [
      { jobId: job.jobId, provider: addr(ROLE.p2), receiptId: id, reason: REASON.HandOffContradicted, slashed: collateral },
    ]);
    s = await f.spotCheck.read.sample([job.jobId, id, 0n]);
    assert.equal(s.resolved, true);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p3)]), false, "the honest neighbour keeps its collateral");
    assert.equal(await f.market.read.credits([addr(ROLE.p3)]), 0n, "and nobody is paid for the report");
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    assert.equal(await f.market.read.credits([addr(ROLE.p3)]), 10n * PRICE, "the honest neighbour is paid");
    assert.equal(await f.market.read.credits([addr(ROLE.p2)]), 0n);
  });

  it("item 1: a downstream side that revealed an input its upstream never signed is faulted when the claim expires; a signature over another value does not answer", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    // p3 (stage 2) reveals an input p2 never sent.
    const r = await buildReceipt(f, job, 10, {
      route: straight(f),
      tamper: (rec, s) => (s === 2 ? { ...rec, inputHash: keccak256(rec.inputHash) } : rec),
    });
    const id = await submit(f, job, r);
    const [i] = await drawSamples(f, job, id);
    const index = Number(i);
    // Revealed late in the window: the claim outlives the reveal window.
    const { reveal } = await deadlines(f, job.jobId, id);
    await networkHelpers.time.increaseTo(reveal - 60n);
    await revealBuyer(f, job, r, id, 0, ROLE.p1);
    for (const s of [0, 1, 2]) await revealStage(f, job, r, id, 0, s, [ROLE.p1, ROLE.p2, ROLE.p3][s]);
    // p2's real signature is over the honest hop, not over what p3 revealed.
    const honest = await signHandOff(devAccount(ROLE.p2), f.domain, {
      jobId: job.jobId,
      nonce: nonceOf(index),
      boundary: 2,
      hash: hop(index, 2),
    });
    await viem.assertions.revertWithCustomError(
      f.spotCheck.write.presentHandOff([job.jobId, id, 0n, 2n, honest], as(ROLE.p3)),
      f.spotCheck,
      "SpotCheckBadHandOffSignature",
    );
    const s = await f.spotCheck.read.sample([job.jobId, id, 0n]);
    const route = r.routes.get(index)!;
    assert.ok(BigInt(s.claimDeadline) > reveal);
    await networkHelpers.time.increaseTo(reveal + 1n);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.spotCheck.write.reportMissing([job.jobId, id, 0n, route], as(ROLE.stranger)),
      f.spotCheck,
      "SpotCheckClaimsPending",
      [after(reveal + 1n), BigInt(s.claimDeadline)],
    );
    await networkHelpers.time.increaseTo(BigInt(s.claimDeadline) + 1n);
    const events = await faults(f.spotCheck.write.reportMissing([job.jobId, id, 0n, route], as(ROLE.stranger)));
    assert.deepEqual(
      events.map((e) => [e.provider, e.reason]),
      [[addr(ROLE.p3), REASON.HandOffUnbacked]],
    );
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), false, "the honest upstream is untouched");
  });

  it("the last stage contradicting the buyer tree's response hash is faulted; a provider on both sides of a cut is faulted at once", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, {
      route: straight(f),
      tamper: (rec, s) => (s === 2 ? { ...rec, outputHash: hop(rec.index, 99) } : rec),
    });
    const id = await submit(f, job, r);
    await revealAll(f, job, r, id, ROLE.v2);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p3)]), true);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), false);

    const job2 = await openJob(f, [
      [0, ROLE.p1],
      [1, ROLE.p2],
      [2, ROLE.p2],
    ]);
    const r2 = await buildReceipt(f, job2, 10, {
      route: (_i, s) => [ROLE.p1, ROLE.p2, ROLE.p2][s],
      tamper: (rec, s) => (s === 1 ? { ...rec, outputHash: keccak256(rec.outputHash) } : rec),
    });
    const id2 = await submit(f, job2, r2);
    await revealAll(f, job2, r2, id2, ROLE.v2);
    assert.equal(await f.market.read.isFaulted([job2.jobId, addr(ROLE.p2)]), true);
    assert.equal((await f.spotCheck.read.sample([job2.jobId, id2, 0n])).claimMask, 0);
  });

  it("items 5 and 17: a missing stage leaf faults only its provider, and its sybil reporting it gets nothing", async () => {
    // Old code: the self-reporting rule compared msg.sender only, so a sybil recovered half the slash.
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    const [i] = await revealAll(f, job, r, id, ROLE.p1, 1);
    const route = r.routes.get(Number(i))!;
    const { reveal } = await deadlines(f, job.jobId, id);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.spotCheck.write.reportMissing([job.jobId, id, 0n, route], as(ROLE.stranger)),
      f.spotCheck,
      "SpotCheckRevealWindowOpen",
      [after(BigInt(await networkHelpers.time.latest())), reveal],
    );
    await networkHelpers.time.increaseTo(reveal + 1n);
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p2)]);
    const treasuryBefore = await f.market.read.credits([addr(ROLE.treasury)]);
    const events = await faults(f.spotCheck.write.reportMissing([job.jobId, id, 0n, route], as(ROLE.stranger)));
    assert.deepEqual(
      events.map((e) => [e.provider, e.reason]),
      [[addr(ROLE.p2), REASON.Unrevealed]],
    );
    assert.equal(await f.market.read.credits([addr(ROLE.stranger)]), 0n, "the reporter (perhaps the cheater's sybil) gets nothing");
    assert.equal((await f.market.read.credits([addr(ROLE.treasury)])) - treasuryBefore, collateral);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.spotCheck.write.reportMissing([job.jobId, id, 0n, route], as(ROLE.stranger)),
      f.spotCheck,
      "SpotCheckSampleResolved",
      [0n, id],
    );
  });

  it("a missing buyer leaf faults the receipt's submitter", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r, ROLE.p3);
    await drawSamples(f, job, id);
    const { reveal } = await deadlines(f, job.jobId, id);
    await networkHelpers.time.increaseTo(reveal + 1n);
    const events = await faults(f.spotCheck.write.reportMissing([job.jobId, id, 0n, []], as(ROLE.buyer)));
    assert.deepEqual(
      events.map((e) => [e.provider, e.reason]),
      [[addr(ROLE.p3), REASON.Unrevealed]],
    );
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    assert.equal(await f.market.read.credits([addr(ROLE.p3)]), 0n);
  });
});

describe("SpotCheck attestations and settlement", () => {
  it("item 11: only the sample's verifier attests, once every stage is revealed, locking its deposit; settlement pays it its fee share and returns the deposit", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    await drawSamples(f, job, id);
    const verifier = (await f.spotCheck.read.sample([job.jobId, id, 0n])).verifier;
    const who = roleOf(verifier);
    await viem.assertions.revertWithCustomError(
      f.spotCheck.write.attest([job.jobId, id, 0n], as(who)),
      f.spotCheck,
      "SpotCheckNotFullyRevealed",
    );
    await revealWhole(f, job, r, id);
    const other = [ROLE.p4, ROLE.v1, ROLE.v2, ROLE.v3].find((x) => x !== who)!;
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.spotCheck.write.attest([job.jobId, id, 0n], as(other)),
      f.spotCheck,
      "SpotCheckNotSampleVerifier",
      [addr(other), verifier],
    );
    const deposit = (await f.params.read.paramsAt([1n])).attestDeposit;
    const lockedBefore = (await f.staking.read.stakeOf([verifier])).locked;
    await f.spotCheck.write.attest([job.jobId, id, 0n], as(who));
    assert.equal((await f.staking.read.stakeOf([verifier])).locked - lockedBefore, deposit);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.spotCheck.write.attest([job.jobId, id, 0n], as(who)),
      f.spotCheck,
      "SpotCheckAlreadyAttested",
      [0n, id],
    );
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    // 3 stages × 10 requests × price; the verifier fee (100 bps in this fixture) of one sample.
    assert.equal(await f.market.read.credits([verifier]), (30n * PRICE * 100n) / 10_000n);
    assert.equal((await f.staking.read.stakeOf([verifier])).locked, lockedBefore, "deposit returned");
  });

  it("item 11 regression: a drawn verifier that never attests earns nothing; its share stays in escrow for the buyer", async () => {
    // Old code: the drawn verifier was paid its fee whether or not it checked anything.
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f, undefined, 10);
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    const id = await submit(f, job, r);
    await revealAll(f, job, r, id);
    const verifier = (await f.spotCheck.read.sample([job.jobId, id, 0n])).verifier;
    assert.notEqual(verifier, zeroAddress);
    const escrowBefore = (await f.market.read.job([job.jobId])).escrow;
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    assert.equal(await f.market.read.credits([verifier]), 0n);
    const pay = 30n * PRICE;
    const royaltyAndTreasury = (pay * 500n) / 10_000n + (pay * 100n) / 10_000n;
    const left = (await f.market.read.job([job.jobId])).escrow;
    assert.equal(escrowBefore - left, pay + royaltyAndTreasury, "the verifier fee was not taken");
    assert.ok(left >= (pay * 100n) / 10_000n, "it stays in escrow");
    const buyerBefore = await f.market.read.credits([addr(ROLE.buyer)]);
    await f.market.write.closeJob([job.jobId], as(ROLE.buyer));
    assert.equal((await f.market.read.credits([addr(ROLE.buyer)])) - buyerBefore, left, "and goes back to the buyer");
  });
});
