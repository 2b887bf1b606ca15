// The Int8DenseHead circuit (digits-head instance) against the TypeScript reference: same
// Poseidon (circomlibjs), same packing, same requantisation; tampered inputs and witnesses fail.
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { after, describe, it } from "node:test";
import * as snarkjs from "snarkjs";
import { int8DenseReference, type Int8DenseParams } from "../../node/src/models/int8.ts";
import { mulberry32 } from "../../node/src/tensor/index.ts";
import {
  headCircuitInput,
  headPublicSignals,
  packInt32,
  packInt8,
  poseidonChain,
  unpackInt8,
  weightsCommitment,
  weightsElements,
} from "../../node/src/zk/commit.ts";
import { bumpWitness, paths, randInt8, randomHead, signalIndex, vkey, witness } from "./helpers.ts";

/** Pinned: a change here means the circuit changed (and the committed verifier with it). */
const DIGITS_HEAD_CONSTRAINTS = 8822;

after(async () => {
  // snarkjs keeps its curve workers alive; end them so the test process exits.
  await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
});

const quiet = { info() {}, warn() {}, error() {}, debug() {} };

async function publicSignalsOf(wtns: snarkjs.WtnsOutput): Promise<bigint[]> {
  const { offset, n8 } = (await import("./helpers.ts")).witnessValues(wtns.data!);
  const out: bigint[] = [];
  for (let s = 1; s <= 5; s++) {
    let v = 0n;
    for (let i = n8 - 1; i >= 0; i--) v = (v << 8n) | BigInt(wtns.data![offset + s * n8 + i]);
    out.push(v);
  }
  return out;
}

async function expectWitnessFails(input: snarkjs.CircuitInput, what: string): Promise<void> {
  // The witness calculator prints every failed assert; the failure itself is what is asserted.
  const { log, error } = console;
  console.log = console.error = () => {};
  try {
    await assert.rejects(witness(input), /Assert Failed|Error in template/, what);
  } finally {
    console.log = log;
    console.error = error;
  }
}

describe("packing and commitments (TypeScript)", () => {
  it("packs int8 as offset bytes, 31 per element, little-endian", () => {
    const x = Int8Array.from({ length: 33 }, (_, i) => i - 16);
    const packed = packInt8(x);
    assert.equal(packed.length, 2);
    assert.equal(packed[0] & 0xffn, BigInt(-16 + 128));
    assert.equal(packed[0] >> (30n * 8n), BigInt(14 + 128));
    assert.equal(packed[1], BigInt(15 + 128) + (BigInt(16 + 128) << 8n));
    assert.deepEqual(unpackInt8(packed, 33), x);
    assert.deepEqual(packInt8(Int8Array.of(-128, 127)), [0n + (255n << 8n)]);
  });

  it("packs int32 as v + 2^31, 7 per element", () => {
    const packed = packInt32(Int32Array.of(-(2 ** 31), 0, 2 ** 31 - 1, 1, 2, 3, 4, 5));
    assert.equal(packed.length, 2);
    assert.equal(packed[0] & 0xffffffffn, 0n);
    assert.equal((packed[0] >> 32n) & 0xffffffffn, 2n ** 31n);
    assert.equal((packed[0] >> 64n) & 0xffffffffn, 2n ** 32n - 1n);
    assert.equal(packed[1], 5n + 2n ** 31n);
  });

  it("rejects out-of-range values and non-canonical packings with ZkInputError", () => {
    assert.throws(() => packInt8([128]), { name: "ZkInputError" });
    assert.throws(() => packInt8([-129]), { name: "ZkInputError" });
    assert.throws(() => packInt32([2 ** 31]), { name: "ZkInputError" });
    assert.throws(() => unpackInt8([1n << 248n], 31), { name: "ZkInputError" });
    assert.throws(() => unpackInt8([0n, 0n], 31), { name: "ZkInputError" });
  });

  it("chains Poseidon16 over the length then 15-element chunks", async () => {
    const head = randomHead(1);
    const elements = weightsElements(head);
    assert.equal(elements.length, 21 + 2 + 3);
    assert.equal(await weightsCommitment(head), await poseidonChain(elements));
    const other = { ...head, mult: head.mult + 1 };
    assert.notEqual(await weightsCommitment(other), await weightsCommitment(head));
    // Length first: a chain over one more zero differs although the padding looks the same.
    assert.notEqual(await poseidonChain([1n, 2n]), await poseidonChain([1n, 2n, 0n]));
  });
});

describe("digits-head circuit", () => {
  it("has the pinned constraint count (build and committed keys agree)", async () => {
    const info = await snarkjs.r1cs.info(paths.r1cs);
    assert.equal(info.nConstraints, DIGITS_HEAD_CONSTRAINTS);
    assert.equal(info.nPubInputs, 5);
    const keys = JSON.parse(readFileSync(paths.keys, "utf8"));
    assert.equal(keys.constraints, DIGITS_HEAD_CONSTRAINTS);
    // The built proving key is the committed one (so proofs verify against the committed verifier).
    const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");
    assert.equal(sha(paths.zkey), keys.zkeySha256);
    assert.equal(sha(paths.r1cs), keys.r1csSha256);
    assert.deepEqual(vkey(), keys.verificationKey);
  });

  it("computes exactly the TypeScript reference (random heads, random inputs)", async () => {
    const rand = mulberry32(7);
    for (let k = 0; k < 12; k++) {
      const head = randomHead(100 + k, k % 3 === 0 ? { mult: 2 ** 31 - 1 - k } : {});
      const x = randInt8(rand, 64);
      const y = int8DenseReference(head, x);
      const commitment = await weightsCommitment(head);
      const wtns = await witness(headCircuitInput(head, commitment, x, y));
      assert.deepEqual(await publicSignalsOf(wtns), headPublicSignals(commitment, x, y));
    }
  });

  it("matches the reference on the extremes: saturation both ways, negative floors, ZP limits", async () => {
    const cases: [string, Int8DenseParams, Int8Array][] = [];
    const ones = (v: number, n: number) => new Int8Array(n).fill(v);
    const base = randomHead(5);
    cases.push(["all -128, max mult", { ...base, weights: ones(-128, 640), mult: 2 ** 31 - 1, zeroPoint: -128 }, ones(-128, 64)]);
    cases.push(["saturate low", { ...base, weights: ones(127, 640), mult: 2 ** 31 - 1, zeroPoint: 127 }, ones(-128, 64)]);
    cases.push([
      "extreme bias",
      { ...base, bias: Int32Array.from({ length: 10 }, (_, i) => (i % 2 ? 2 ** 31 - 1 : -(2 ** 31))), mult: 2 ** 31 - 1 },
      ones(0, 64),
    ]);
    // Small mult: q near 0 from both sides, exercising floor vs truncation of negative values.
    cases.push(["tiny mult", { ...base, bias: Int32Array.from({ length: 10 }, (_, i) => i * 1000 - 5000), mult: 3_000_000 }, ones(1, 64)]);
    for (const [name, head, x] of cases) {
      const y = int8DenseReference(head, x);
      const commitment = await weightsCommitment(head);
      const wtns = await witness(headCircuitInput(head, commitment, x, y));
      assert.deepEqual(await publicSignalsOf(wtns), headPublicSignals(commitment, x, y), name);
    }
    const sat = int8DenseReference(cases[1][1], cases[1][2]);
    assert.ok(
      sat.every((v) => v === -128),
      "the saturate-low case really saturates",
    );
  });

  it("rejects a wrong output (off by one in a single logit)", async () => {
    const head = randomHead(11);
    const x = randInt8(mulberry32(3), 64);
    const y = int8DenseReference(head, x);
    const commitment = await weightsCommitment(head);
    for (const i of [0, 9]) {
      const wrong = Int8Array.from(y);
      wrong[i] = wrong[i] === 127 ? 126 : wrong[i] + 1;
      await expectWitnessFails(headCircuitInput(head, commitment, x, wrong), `wrong y[${i}]`);
    }
  });

  it("rejects wrong weights against the registered commitment", async () => {
    const head = randomHead(12);
    const x = randInt8(mulberry32(4), 64);
    const commitment = await weightsCommitment(head);
    const weights = Int8Array.from(head.weights);
    weights[17] = weights[17] === 0 ? 1 : 0;
    const cheat = { ...head, weights };
    await expectWitnessFails(headCircuitInput(cheat, commitment, x, int8DenseReference(cheat, x)), "other weights");
    const cheatMult = { ...head, mult: head.mult + 1 };
    await expectWitnessFails(headCircuitInput(cheatMult, commitment, x, int8DenseReference(cheatMult, x)), "other MULT");
  });

  it("range-checks every prover value (weights, bias, input, MULT, ZP)", async () => {
    const head = randomHead(13);
    const x = randInt8(mulberry32(5), 64);
    const y = int8DenseReference(head, x);
    const commitment = await weightsCommitment(head);
    const good = headCircuitInput(head, commitment, x, y);
    const W = (good.W as string[][]).map((r) => [...r]);
    W[0][0] = "200";
    await expectWitnessFails({ ...good, W }, "W = 200");
    const xs = [...(good.x as string[])];
    xs[0] = "128";
    await expectWitnessFails({ ...good, x: xs }, "x = 128");
    const b = [...(good.b as string[])];
    b[0] = String(2 ** 31);
    await expectWitnessFails({ ...good, b }, "b = 2^31");
    await expectWitnessFails({ ...good, mult: String(2 ** 31) }, "MULT = 2^31");
    await expectWitnessFails({ ...good, mult: "0" }, "MULT = 0");
    await expectWitnessFails({ ...good, zp: "128" }, "ZP = 128");
    // A field-negative x (p - 1 = -1 mod p) packed as a wrapped byte is not a valid int8 either.
    xs[0] = "-129";
    await expectWitnessFails({ ...good, x: xs }, "x = -129");
  });

  it("tampered witnesses break the constraints and give proofs that do not verify", async () => {
    const head = randomHead(14);
    const x = randInt8(mulberry32(6), 64);
    const y = int8DenseReference(head, x);
    const commitment = await weightsCommitment(head);
    const wtns = await witness(headCircuitInput(head, commitment, x, y));
    assert.equal(await snarkjs.wtns.check(paths.r1cs, wtns, quiet), true, "the honest witness satisfies the r1cs");

    const yPacked = 5; // public signal index 5 = yPacked[0] (witness 0 is the constant 1)
    for (const [label, index] of [
      ["output signal", yPacked],
      ["clamp case flag", signalIndex("main.below[0]")],
    ] as const) {
      const bad: snarkjs.WtnsOutput = { type: "mem", data: bumpWitness(wtns.data!, index, 1n) };
      assert.equal(await snarkjs.wtns.check(paths.r1cs, bad, quiet), false, label);
      const { proof, publicSignals } = await snarkjs.groth16.prove(paths.zkey, bad);
      assert.equal(await snarkjs.groth16.verify(vkey(), publicSignals, proof), false, label);
    }
  });
});
