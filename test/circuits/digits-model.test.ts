// The project's own zk model: deterministic build, accuracy on held-out renderings, and
// onnxruntime's int8 head bit for bit equal to int8DenseReference (and so to the circuit).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import * as ort from "onnxruntime-node";
import * as snarkjs from "snarkjs";
import { mulberry32 } from "../../node/src/tensor/index.ts";
import { decodeModel, encodeModel, DataType } from "../../node/src/onnx/model.ts";
import { DIGIT_PIXELS, digitSet } from "../../node/src/models/digits-data.ts";
import { buildDigitsModel, DIGITS_NAMES, int8HeadFromModel, writeDigitsModel, type DigitsModel } from "../../node/src/models/digits.ts";
import { buildInt8HeadModel, Int8HeadRangeError, valueInfo } from "../../node/src/models/int8-onnx.ts";
import { int8DenseReference, type Int8DenseParams } from "../../node/src/models/int8.ts";
import { createHeadProver } from "../../node/src/zk/prover.ts";
import { randInt8, randomHead, vkey } from "./helpers.ts";

const sessionOptions: ort.InferenceSession.SessionOptions = {
  graphOptimizationLevel: "disabled",
  intraOpNumThreads: 1,
  extra: { session: { intra_op: { allow_spinning: "0" } } },
};

async function runHead(session: ort.InferenceSession, x: Int8Array): Promise<Int8Array> {
  const out = await session.run({ features: new ort.Tensor("int8", x, [1, x.length]) });
  return out.logits.data as Int8Array;
}

describe("int8 head in onnxruntime", () => {
  it("equals int8DenseReference bit for bit on random heads and inputs", async () => {
    const rand = mulberry32(41);
    for (let h = 0; h < 6; h++) {
      const head = randomHead(200 + h, {
        mult: [1, 2 ** 31 - 1, 60_000_000, 3_000_000, 12_345, 999_999_999][h],
        zeroPoint: [-128, 127, 0, -5, 3, 0][h],
      });
      const session = await ort.InferenceSession.create(buildInt8HeadModel(head), sessionOptions);
      for (let k = 0; k < 60; k++) {
        const x = randInt8(rand, 64);
        assert.deepEqual(await runHead(session, x), int8DenseReference(head, x), `head ${h} input ${k}`);
      }
      await session.release();
    }
  });

  it("equals the reference on the extremes (saturation, floor of negatives, largest accumulators)", async () => {
    const fill = (v: number, n: number) => new Int8Array(n).fill(v);
    const alternating = Int8Array.from({ length: 64 }, (_, j) => (j % 2 ? 127 : -128));
    const heads: Int8DenseParams[] = [
      { ...randomHead(300), weights: fill(-128, 640), bias: new Int32Array(10).fill(2 ** 31 - 1 - 64 * 128 * 128), mult: 2 ** 31 - 1 },
      { ...randomHead(301), weights: fill(127, 640), bias: new Int32Array(10).fill(-(2 ** 31) + 64 * 128 * 128 + 1), mult: 2 ** 31 - 1 },
      // q crosses zero from both sides: floor(−0.5) = −1 where truncation would give 0.
      { ...randomHead(302), weights: fill(1, 640), bias: Int32Array.from({ length: 10 }, (_, i) => i - 5), mult: 2 ** 30 },
    ];
    for (const [h, head] of heads.entries()) {
      const session = await ort.InferenceSession.create(buildInt8HeadModel(head), sessionOptions);
      for (const x of [fill(-128, 64), fill(127, 64), fill(0, 64), alternating, fill(-1, 64), fill(1, 64)]) {
        assert.deepEqual(await runHead(session, x), int8DenseReference(head, x), `head ${h}`);
      }
      await session.release();
    }
  });

  it("refuses heads whose accumulator could overflow int32 (Int8HeadRangeError)", () => {
    const head = { ...randomHead(303), bias: new Int32Array(10).fill(2 ** 31 - 1) };
    assert.throws(() => buildInt8HeadModel(head), Int8HeadRangeError);
    assert.throws(() => buildInt8HeadModel(head), { name: "Int8HeadRangeError" });
  });
});

describe("digits model", () => {
  let model: DigitsModel;
  let session: ort.InferenceSession;
  before(async () => {
    model = buildDigitsModel();
    // The same graph with the cut tensor exposed, to compare the head on onnxruntime's features.
    const m = decodeModel(model.bytes);
    m.graph!.output!.push(valueInfo(DIGITS_NAMES.features, DataType.INT8, [1, 64]));
    session = await ort.InferenceSession.create(encodeModel(m), sessionOptions);
  });
  after(async () => {
    await session?.release();
    await (globalThis as { curve_bn128?: { terminate(): Promise<void> } }).curve_bn128?.terminate();
  });

  it("builds the same bytes for the same seed, other bytes for another seed", () => {
    assert.equal(buildDigitsModel().sha256, model.sha256);
    assert.notEqual(buildDigitsModel({ seed: 2, trainPerDigit: 20, epochs: 1 }).sha256, model.sha256);
  });

  it("has a 64→10 int8 head that can be read back from the ONNX file", () => {
    assert.equal(model.head.inputs, 64);
    assert.equal(model.head.outputs, 10);
    assert.equal(model.head.shift, 35);
    assert.deepEqual(int8HeadFromModel(model.bytes), model.head);
  });

  it("classifies held-out renderings in onnxruntime, its head exactly the reference", async () => {
    const heldOut = digitSet(77, 30);
    let correct = 0;
    for (let k = 0; k < heldOut.count; k++) {
      const image = heldOut.images.slice(k * DIGIT_PIXELS, (k + 1) * DIGIT_PIXELS);
      const out = await session.run({ [DIGITS_NAMES.input]: new ort.Tensor("float32", image, [1, DIGIT_PIXELS]) });
      const features = out[DIGITS_NAMES.features].data as Int8Array;
      const logits = out[DIGITS_NAMES.output].data as Int8Array;
      assert.deepEqual(logits, int8DenseReference(model.head, features), `sample ${k}`);
      let best = 0;
      for (let c = 1; c < 10; c++) if (logits[c] > logits[best]) best = c;
      if (best === heldOut.labels[k]) correct++;
    }
    const accuracy = correct / heldOut.count;
    assert.ok(accuracy >= 0.95, `held-out accuracy ${accuracy}`);
    assert.ok(model.accuracy.heldOut >= 0.95, `builder's held-out accuracy ${model.accuracy.heldOut}`);
  });

  it("proves the head's output for a real rendered digit", async () => {
    const set = digitSet(78, 1);
    const image = set.images.slice(0, DIGIT_PIXELS);
    const out = await session.run({ [DIGITS_NAMES.input]: new ort.Tensor("float32", image, [1, DIGIT_PIXELS]) });
    const features = out[DIGITS_NAMES.features].data as Int8Array;
    const prover = await createHeadProver(model.head);
    try {
      const p = await prover.prove(features);
      assert.deepEqual(p.output, out[DIGITS_NAMES.output].data as Int8Array);
      assert.equal(await snarkjs.groth16.verify(vkey(), p.publicSignals.map(String), p.groth16), true);
    } finally {
      await prover.close();
    }
  });

  it("writes the model to a cache path and reuses it", () => {
    const dir = mkdtempSync(join(tmpdir(), "shardmesh-digits-"));
    try {
      const path = join(dir, "digits.onnx");
      const small = { seed: 3, trainPerDigit: 20, testPerDigit: 5, epochs: 1 };
      const first = writeDigitsModel(path, small);
      assert.equal(first.built, true);
      assert.equal(first.sha256, buildDigitsModel(small).sha256);
      const second = writeDigitsModel(path, small);
      assert.equal(second.built, false);
      assert.equal(second.sha256, first.sha256);
      assert.deepEqual(second.head, first.head);
      // Another recipe (seed or training length) is not served from the cache.
      assert.equal(writeDigitsModel(path, { ...small, seed: 4 }).built, true);
      assert.equal(writeDigitsModel(path, { ...small, seed: 4, epochs: 2 }).built, true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
