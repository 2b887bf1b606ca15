// Training with onnxruntime: the hand-written backward pass of the training-step graph matches
// finite differences of its loss for every parameter tensor; Adam steps lower the loss on a
// repetitive corpus; trained parameters export to an inference model that predicts it.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import {
  buildTrainGraph,
  buildDecoderGraph,
  initTrainParams,
  toDecoderWeights,
  trainDecoder,
  type DecoderConfig,
} from "../../node/src/llm/index.ts";
import { encodeModel } from "../../node/src/onnx/model.ts";

const C: DecoderConfig = {
  vocabSize: 40,
  hiddenSize: 16,
  intermediateSize: 24,
  layers: 2,
  heads: 4,
  kvHeads: 2,
  headDim: 4,
  maxPositions: 64,
  ropeTheta: 10000,
  rmsNormEps: 1e-5,
  bosTokenId: 0,
  eosTokenId: 1,
};

describe("training graph", () => {
  it("gradients equal finite differences of the loss (every parameter tensor)", async () => {
    const shape = { batch: 2, seq: 6 };
    const { model } = buildTrainGraph(C, shape, true);
    const s = await ort.InferenceSession.create(encodeModel(model), { graphOptimizationLevel: "disabled" });
    const p = initTrainParams(C, 3);
    // Larger weights than the init so every path carries signal.
    p.values.forEach((v, i) => {
      if (p.shapes[i].length === 2) for (let k = 0; k < v.length; k++) v[k] *= 10;
    });
    const tokens = BigInt64Array.from({ length: 14 }, (_, i) => BigInt((i * 7 + 3) % C.vocabSize));
    const run = async () => {
      const f: Record<string, ort.Tensor> = { tokens: new ort.Tensor("int64", tokens, [2, 7]) };
      for (const [i, n] of p.names.entries()) f[n] = new ort.Tensor("float32", p.values[i], p.shapes[i]);
      return s.run(f);
    };
    const base = await run();
    let worst = 0;
    for (const [i, n] of p.names.entries()) {
      const grad = base[`grad.${n}`].data as Float32Array;
      const top = Array.from(grad.keys())
        .sort((a, b) => Math.abs(grad[b]) - Math.abs(grad[a]))
        .slice(0, 2);
      assert.ok(Math.abs(grad[top[0]]) > 1e-4, `${n} has a gradient`);
      for (const k of top) {
        const v0 = p.values[i][k];
        const eps = 1e-2;
        p.values[i][k] = v0 + eps;
        const lp = (await run()).loss.data[0] as number;
        p.values[i][k] = v0 - eps;
        const lm = (await run()).loss.data[0] as number;
        p.values[i][k] = v0;
        const num = (lp - lm) / (2 * eps);
        worst = Math.max(worst, Math.abs(num - grad[k]) / (Math.abs(num) + Math.abs(grad[k])));
      }
    }
    assert.ok(worst < 0.02, `worst relative gradient error ${worst}`);
    await s.release();
  });

  it("Adam steps lower the loss; the exported inference model predicts what was learned", async () => {
    // A repetitive corpus a small model can learn: 0 1 2 … 9 0 1 2 …
    const corpus = Int32Array.from({ length: 4000 }, (_, i) => 2 + (i % 10));
    const r = await trainDecoder(C, corpus, { batch: 4, seq: 16, steps: 60, lr: 1e-2, seed: 1, intraOpThreads: 1 });
    assert.equal(r.steps, 60);
    const first = r.losses.slice(0, 5).reduce((a, b) => a + b) / 5;
    const last = r.losses.slice(-5).reduce((a, b) => a + b) / 5;
    assert.ok(last < first * 0.3, `loss ${first.toFixed(3)} → ${last.toFixed(3)}`);
    // The inference graph with the trained weights predicts the continuation.
    const w = toDecoderWeights(C, r.params);
    const s = await ort.InferenceSession.create(encodeModel(buildDecoderGraph(C, w)));
    const seq = [2, 3, 4, 5, 6, 7];
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", BigInt64Array.from(seq, BigInt), [1, seq.length]),
      attention_mask: new ort.Tensor("int64", new BigInt64Array(seq.length).fill(1n), [1, seq.length]),
      position_ids: new ort.Tensor(
        "int64",
        BigInt64Array.from(seq, (_, i) => BigInt(i)),
        [1, seq.length],
      ),
    };
    for (let l = 0; l < C.layers; l++) {
      for (const kv of ["key", "value"])
        feeds[`past_key_values.${l}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [1, C.kvHeads, 0, C.headDim]);
    }
    const logits = (await s.run(feeds)).logits.data as Float32Array;
    const lastRow = logits.subarray((seq.length - 1) * C.vocabSize);
    let best = 0;
    for (let v = 1; v < C.vocabSize; v++) if (lastRow[v] > lastRow[best]) best = v;
    assert.equal(best, 8);
    await s.release();
  });
});
