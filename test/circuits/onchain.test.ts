// The long-lived prover (snarkjs in a worker thread) and the on-chain check: the generated
// Groth16 verifier behind Int8HeadStageVerifier, on Hardhat's in-process EVM.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { network } from "hardhat";
import { int8DenseReference } from "../../node/src/models/int8.ts";
import { mulberry32 } from "../../node/src/tensor/index.ts";
import { createHeadProver, type HeadProver, type StageProof } from "../../node/src/zk/prover.ts";
import { SNARK_FIELD, toBytes32 } from "../../node/src/zk/commit.ts";
import { decodeStageProof, headHashes, type Hex } from "../../node/src/zk/proof.ts";
import { randInt8, randomHead } from "./helpers.ts";

const head = randomHead(21);
const x = randInt8(mulberry32(22), 64);

/** Replaces 32-byte word `i` of the proof bytes. */
function withWord(bytes: Hex, i: number, value: bigint): Hex {
  const hex = bytes.slice(2);
  return `0x${hex.slice(0, 64 * i)}${value.toString(16).padStart(64, "0")}${hex.slice(64 * i + 64)}`;
}

describe("head prover and on-chain verification", () => {
  let prover: HeadProver;
  let honest: StageProof;
  let conn: Awaited<ReturnType<typeof network.create>>;
  let adapter: Awaited<ReturnType<typeof conn.viem.deployContract<"Int8HeadStageVerifier">>>;

  before(async () => {
    prover = await createHeadProver(head);
    honest = await prover.prove(x);
    conn = await network.create();
    const groth16 = await conn.viem.deployContract("DigitsHeadVerifier");
    adapter = await conn.viem.deployContract("Int8HeadStageVerifier", [groth16.address, 64n, 10n]);
  });
  after(async () => {
    await prover?.close();
    await conn?.provider.close?.();
  });

  it("proves the head's true output for a revealed input", () => {
    assert.deepEqual(honest.output, int8DenseReference(head, x));
    const { inputHash, outputHash } = headHashes(x, honest.output);
    assert.equal(honest.inputHash, inputHash);
    assert.equal(honest.outputHash, outputHash);
    assert.equal(decodeStageProof(honest.proof, 64, 10).proof.length, 8);
    assert.equal(honest.publicSignals.length, 5);
  });

  it("cannot prove a wrong output: the witness fails with ZkWitnessError", async () => {
    const wrong = Int8Array.from(honest.output);
    wrong[3] = wrong[3] === -128 ? -127 : wrong[3] - 1;
    await assert.rejects(prover.prove(x, { claimedOutput: wrong }), { name: "ZkWitnessError" });
  });

  it("rejects a head of another shape with ZkInputError", async () => {
    await assert.rejects(createHeadProver({ ...head, shift: 30 }), { name: "ZkInputError" });
  });

  it("verifies the honest proof on chain against the registered commitment and leaf hashes", async () => {
    assert.equal(await adapter.read.publicSignalCount(), 5n);
    assert.deepEqual(await adapter.read.shape(), [64n, 10n]);
    assert.equal(await adapter.read.verifyStage([honest.weightsCommitment, honest.inputHash, honest.outputHash, honest.proof]), true);
  });

  it("returns false, never reverts, for every wrong or malformed proof", async () => {
    const other = await createHeadProver({ ...head, mult: head.mult + 1 });
    const otherCommitment = other.weightsCommitment;
    await other.close();
    const { outputHash: wrongOutput } = headHashes(
      x,
      Int8Array.from(honest.output, (v) => (v === 0 ? 1 : 0)),
    );
    const cases: [string, Hex, Hex, Hex, Hex][] = [
      ["other weights commitment", otherCommitment, honest.inputHash, honest.outputHash, honest.proof],
      ["commitment >= field", toBytes32(SNARK_FIELD + 1n), honest.inputHash, honest.outputHash, honest.proof],
      ["other input hash", honest.weightsCommitment, honest.outputHash, honest.outputHash, honest.proof],
      ["other output hash", honest.weightsCommitment, honest.inputHash, wrongOutput, honest.proof],
      ["tampered proof point", honest.weightsCommitment, honest.inputHash, honest.outputHash, withWord(honest.proof, 0, 1n)],
      ["proof point off the curve", honest.weightsCommitment, honest.inputHash, honest.outputHash, withWord(honest.proof, 7, 5n)],
      ["short proof", honest.weightsCommitment, honest.inputHash, honest.outputHash, honest.proof.slice(0, -64) as Hex],
      ["empty proof", honest.weightsCommitment, honest.inputHash, honest.outputHash, "0x"],
      ["non-canonical packing", honest.weightsCommitment, honest.inputHash, honest.outputHash, withWord(honest.proof, 8, 1n << 250n)],
    ];
    for (const [label, c, i, o, p] of cases) {
      assert.equal(await adapter.read.verifyStage([c, i, o, p]), false, label);
    }
  });

  it("accepts a second proof from the same long-lived prover process", async () => {
    const x2 = randInt8(mulberry32(23), 64);
    const p2 = await prover.prove(x2);
    assert.equal(await adapter.read.verifyStage([p2.weightsCommitment, p2.inputHash, p2.outputHash, p2.proof]), true);
    // Proofs are not transferable between executions.
    assert.equal(await adapter.read.verifyStage([p2.weightsCommitment, honest.inputHash, honest.outputHash, p2.proof]), false);
  });

  it("an aborted proof fails with ZkProverTimeoutError; the next proof starts a fresh process", async () => {
    const before = prover.pid;
    assert.ok(before !== undefined, "the prover process is running");
    const controller = new AbortController();
    const aborted = prover.prove(x, { signal: controller.signal });
    controller.abort();
    await assert.rejects(aborted, { name: "ZkProverTimeoutError" });
    // Abort in the middle of a proof: the process is killed and replaced on the next call.
    const mid = new AbortController();
    const running = prover.prove(x, { signal: mid.signal });
    setTimeout(() => mid.abort(), 50);
    await assert.rejects(running, { name: "ZkProverTimeoutError" });
    const again = await prover.prove(x);
    assert.equal(again.outputHash, honest.outputHash);
    assert.notEqual(prover.pid, before, "a new prover process");
  });

  it("rejects a bad verifier address or shape at deployment with named errors", async () => {
    await assert.rejects(
      conn.viem.deployContract("Int8HeadStageVerifier", [adapter.address, 0n, 10n]),
      /Int8HeadStageVerifierInvalidShape/,
    );
    await assert.rejects(
      conn.viem.deployContract("Int8HeadStageVerifier", ["0x000000000000000000000000000000000000dEaD", 64n, 10n]),
      /Int8HeadStageVerifierNotAContract/,
    );
  });
});

describe("prover process lifecycle", () => {
  it("a process that proves and closes the prover exits on its own", () => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT;
    const res = spawnSync(process.execPath, [new URL("./fixtures/prove-and-exit.ts", import.meta.url).pathname], {
      encoding: "utf8",
      env,
      timeout: 120_000,
    });
    assert.equal(res.signal, null, `the process did not exit by itself: ${res.stderr}`);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /proved 770\n/); // "0x" + 12 words (8 proof, 3 xPacked, 1 yPacked)
  });
});
