// End to end on a local chain: the job market's zk dispute flow with the real digits-model head,
// the generated Groth16 verifier behind Int8HeadStageVerifier, and real proofs from the prover.
// A dishonest head provider cannot prove its wrong output and is slashed; an honest one proves
// and keeps its stake (and wins the challenger's bond).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Address, Hex } from "viem";
import { mulberry32 } from "../../node/src/tensor/index.ts";
import { buildDigitsModel } from "../../node/src/models/digits.ts";
import { int8DenseReference, type Int8DenseParams } from "../../node/src/models/int8.ts";
import { toBytes32, weightsCommitment } from "../../node/src/zk/commit.ts";
import { deployHeadVerifier } from "../../node/src/zk/deploy.ts";
import { answerZkDispute, checkZkStage } from "../../node/src/zk/dispute.ts";
import { headHashes } from "../../node/src/zk/proof.ts";
import { createHeadProver, type HeadProver } from "../../node/src/zk/prover.ts";
import {
  ROLE,
  addr,
  buildReceipt,
  fixtureWith,
  networkHelpers,
  openJob,
  publicClient,
  revealAll,
  straight,
  submit,
  wallets,
  type Fixture,
} from "../contracts/helpers.ts";
import { randInt8 } from "./helpers.ts";

const ZK_STAGE = 1;
const REQUESTS = 4;

let head: Int8DenseParams;
let prover: HeadProver;
let verifierAddress: Address;

/** The revealed input of request i at the zk stage, and the head's true output. */
function execution(i: number): { x: Int8Array; y: Int8Array } {
  const x = randInt8(mulberry32(9_000 + i), head.inputs);
  return { x, y: int8DenseReference(head, x) };
}

/** What a dishonest provider reports instead: the true logits with the top one moved. */
function fakeOutput(y: Int8Array): Int8Array {
  const out = Int8Array.from(y);
  out[0] = out[0] >= 100 ? -100 : out[0] + 27;
  return out;
}

/**
 * Opens a 3-stage job (features → zk head → post-processing), serves REQUESTS requests whose
 * stage-1 records come from `claimed`, submits and reveals the receipt. Returns what the
 * challenger needs.
 */
async function servedAndRevealed(claimed: (y: Int8Array) => Int8Array) {
  const f: Fixture = await fixtureWith({
    stages: 3,
    zk: { stage: ZK_STAGE, verifier: verifierAddress, weightsCommitment: prover.weightsCommitment },
  })();
  const job = await openJob(f);
  const r = await buildReceipt(f, job, REQUESTS, {
    route: straight(f),
    tamper: (rec, stage) => {
      const { x, y } = execution(rec.index);
      const { inputHash, outputHash } = headHashes(x, claimed(y));
      if (stage === 0) return { ...rec, outputHash: inputHash };
      if (stage === 1) return { ...rec, inputHash, outputHash };
      return { ...rec, inputHash: outputHash };
    },
  });
  const receiptId = await submit(f, job, r, ROLE.p1);
  const indices = await revealAll(f, job, r, receiptId);
  assert.ok(indices.length >= 1, "at least one request is sampled");
  return { f, job, receiptId, sampled: Number(indices[0]) };
}

/** A staked verifier re-executes the revealed zk stage and challenges it with a bond. */
async function challengeZkStage(f: Fixture, jobId: bigint, receiptId: bigint): Promise<bigint> {
  await f.token.write.approve([f.market.address, 10n ** 24n], { account: wallets[ROLE.v1].account });
  await f.disputes.write.challenge([jobId, receiptId, 0n, BigInt(ZK_STAGE)], { account: wallets[ROLE.v1].account });
  const disputeId = (await f.disputes.read.disputeCount()) - 1n;
  const d = await f.disputes.read.dispute([disputeId]);
  assert.equal(d.kind, 1, "a challenge of the zk stage is a ZkProof dispute");
  assert.equal(d.accused, addr(ROLE.p2));
  return disputeId;
}

describe("zk dispute on the job market", () => {
  before(async () => {
    head = buildDigitsModel().head;
    prover = await createHeadProver(head);
    const deployed = await deployHeadVerifier({ wallet: wallets[ROLE.admin] as never, publicClient: publicClient as never });
    verifierAddress = deployed.stageVerifier;
    assert.equal(prover.weightsCommitment, toBytes32(await weightsCommitment(head)));
  });
  after(async () => {
    await prover?.close();
  });

  it("a dishonest provider's wrong head output is challenged, cannot be proven, and is slashed", async () => {
    const { f, job, receiptId, sampled } = await servedAndRevealed(fakeOutput);
    const { x, y } = execution(sampled);
    const reveal = await f.spotCheck.read.stageReveal([job.jobId, receiptId, 0n, BigInt(ZK_STAGE)]);
    // The verifier's re-execution from the fetched input: the revealed output is wrong.
    assert.equal(checkZkStage(head, x, reveal).fraud, true);
    assert.throws(() => checkZkStage(head, execution(sampled + 1).x, reveal), { name: "ZkInputError" });
    const disputeId = await challengeZkStage(f, job.jobId, receiptId);

    // The provider's node cannot answer: its revealed output is not the head's output.
    await assert.rejects(
      answerZkDispute({
        publicClient,
        wallet: wallets[ROLE.p2] as never,
        disputes: f.disputes.address,
        spotCheck: f.spotCheck.address,
        disputeId,
        prover,
        input: x,
      }),
      { name: "ZkWitnessError" },
    );

    // The provider cannot make a proof of its claim: the witness does not exist.
    await assert.rejects(prover.prove(x, { claimedOutput: fakeOutput(y) }), { name: "ZkWitnessError" });
    // A valid proof of the true output does not match the revealed output hash.
    const truthful = await prover.prove(x);
    await assert.rejects(
      f.disputes.write.answerWithProof([disputeId, truthful.proof], { account: wallets[ROLE.p2].account }),
      /DisputesInvalidProof/,
    );

    const stakeBefore = (await f.staking.read.stakeOf([addr(ROLE.p2)])).staked;
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p2)]);
    assert.ok(collateral > 0n);
    const w = await f.params.read.paramsAt([1n]);
    await networkHelpers.time.increase(w.answer + 1);
    await f.disputes.write.closeRound([disputeId], { account: wallets[ROLE.v1].account });
    assert.equal((await f.disputes.read.dispute([disputeId])).status, 3, "Upheld");
    assert.equal((await f.staking.read.stakeOf([addr(ROLE.p2)])).staked, stakeBefore - collateral, "slashed by its job collateral");
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), true);
  });

  it("an honest provider proves its output, keeps its stake and wins the challenger's bond", async (t) => {
    const { f, job, receiptId, sampled } = await servedAndRevealed((y) => y);
    const { x } = execution(sampled);
    const reveal = await f.spotCheck.read.stageReveal([job.jobId, receiptId, 0n, BigInt(ZK_STAGE)]);
    assert.equal(checkZkStage(head, x, reveal).fraud, false, "an honest leaf re-executes clean");
    // A griefing (or mistaken) challenger opens a dispute anyway.
    const disputeId = await challengeZkStage(f, job.jobId, receiptId);
    const stakeBefore = (await f.staking.read.stakeOf([addr(ROLE.p2)])).staked;
    const creditsBefore = await f.market.read.credits([addr(ROLE.p2)]);

    // The provider's node answers from its retained input tensor.
    const answered = await answerZkDispute({
      publicClient,
      wallet: wallets[ROLE.p2] as never,
      disputes: f.disputes.address,
      spotCheck: f.spotCheck.address,
      disputeId,
      prover,
      input: x,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash: answered.hash });
    assert.equal(receipt.status, "success");
    t.diagnostic(`answerWithProof used ${answered.gasUsed} gas`);
    const answer = await prover.prove(x);

    const bond = (await f.disputes.read.dispute([disputeId])).bond;
    assert.equal((await f.disputes.read.dispute([disputeId])).status, 4, "Rejected");
    assert.equal((await f.staking.read.stakeOf([addr(ROLE.p2)])).staked, stakeBefore);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), false);
    assert.equal((await f.market.read.credits([addr(ROLE.p2)])) - creditsBefore, bond);
    // The same proof cannot be replayed: the dispute is closed.
    await assert.rejects(
      f.disputes.write.answerWithProof([disputeId, answer.proof as Hex], { account: wallets[ROLE.p2].account }),
      /DisputesWrongStatus/,
    );
  });
});
