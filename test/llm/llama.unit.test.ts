// The project's decoder: the ONNX graph computes a Llama forward pass (checked against a plain
// TypeScript reference of RMSNorm, rotary positions, grouped-query attention and SwiGLU), in the
// Optimum export convention, with external data, and incremental decode ≈ one-shot prefill.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import {
  buildRandomDecoder,
  DECODER_PRESETS,
  fromHfConfig,
  parameterCount,
  randomWeights,
  readDecoderModel,
  type DecoderConfig,
  type DecoderWeights,
} from "../../node/src/llm/index.ts";
import { encodeModel } from "../../node/src/onnx/model.ts";
import { ids, tempDir, tinyModel, wholeRunner } from "./helpers.ts";

/** logits [S, V] of a Llama forward pass over `tokens` from position 0, in float64. */
function referenceLogits(c: DecoderConfig, w: DecoderWeights, tokens: number[]): Float64Array[] {
  const d = c.hiddenSize;
  const hd = c.headDim;
  const S = tokens.length;
  const matvec = (x: ArrayLike<number>, W: Float32Array, n: number, m: number) => {
    const y = new Float64Array(m);
    for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) y[j] += x[i] * W[i * m + j];
    return y;
  };
  const rms = (x: Float64Array, g: Float32Array) => {
    let ss = 0;
    for (const v of x) ss += v * v;
    const r = 1 / Math.sqrt(ss / x.length + c.rmsNormEps);
    return x.map((v, i) => v * r * g[i]);
  };
  const rope = (v: Float64Array, pos: number) => {
    const out = new Float64Array(hd);
    for (let j = 0; j < hd / 2; j++) {
      const a = pos * (1 / c.ropeTheta ** ((2 * j) / hd));
      out[j] = v[j] * Math.cos(a) - v[j + hd / 2] * Math.sin(a);
      out[j + hd / 2] = v[j + hd / 2] * Math.cos(a) + v[j] * Math.sin(a);
    }
    return out;
  };
  let h = tokens.map((t) => Float64Array.from(w.embed.subarray(t * d, (t + 1) * d)));
  for (const L of w.layers) {
    const x = h.map((v) => rms(v, L.inputNorm));
    const q = x.map((v) => matvec(v, L.q, d, c.heads * hd));
    const k = x.map((v) => matvec(v, L.k, d, c.kvHeads * hd));
    const v = x.map((u) => matvec(u, L.v, d, c.kvHeads * hd));
    const out = h.map(() => new Float64Array(c.heads * hd));
    for (let head = 0; head < c.heads; head++) {
      const kvh = Math.floor(head / (c.heads / c.kvHeads));
      for (let i = 0; i < S; i++) {
        const qi = rope(q[i].subarray(head * hd, (head + 1) * hd), i);
        const scores = Array.from({ length: i + 1 }, (_, j) => {
          const kj = rope(k[j].subarray(kvh * hd, (kvh + 1) * hd), j);
          let s = 0;
          for (let e = 0; e < hd; e++) s += qi[e] * kj[e];
          return s / Math.sqrt(hd);
        });
        const mx = Math.max(...scores);
        const ex = scores.map((s) => Math.exp(s - mx));
        const z = ex.reduce((a, b) => a + b, 0);
        for (let j = 0; j <= i; j++) for (let e = 0; e < hd; e++) out[i][head * hd + e] += (ex[j] / z) * v[j][kvh * hd + e];
      }
    }
    h = h.map((hv, i) => {
      const a = matvec(out[i], L.o, c.heads * hd, d);
      const r = hv.map((u, e) => u + a[e]);
      const y = rms(r, L.postNorm);
      const g = matvec(y, L.gate, d, c.intermediateSize);
      const u = matvec(y, L.up, d, c.intermediateSize);
      const act = g.map((gv, e) => (gv / (1 + Math.exp(-gv))) * u[e]);
      const dn = matvec(act, L.down, c.intermediateSize, d);
      return r.map((rv, e) => rv + dn[e]);
    });
  }
  return h.map((v) => matvec(rms(v, w.norm), w.lmHead, d, c.vocabSize));
}

describe("the project's Llama decoder", () => {
  it("computes RMSNorm, rotary positions, grouped-query attention and SwiGLU (vs a TypeScript reference)", async () => {
    const m = await tinyModel();
    const w = randomWeights(m.config, 1);
    const tokens = [17, 300, 5, 42, 7, 99];
    const ref = referenceLogits(m.config, w, tokens);
    const r = await wholeRunner(m);
    try {
      await r.open("ref", { maxLength: 16 });
      const out = await r.step("ref", { stepId: 0, position: 0, bag: { input_ids: ids(tokens) } });
      const got = out.bag.logits.data as Float32Array;
      assert.deepEqual(out.bag.logits.dims, [1, tokens.length, m.config.vocabSize]);
      let worst = 0;
      let scale = 0;
      for (const [i, row] of ref.entries()) {
        for (const [j, v] of row.entries()) {
          worst = Math.max(worst, Math.abs(v - got[i * m.config.vocabSize + j]));
          scale = Math.max(scale, Math.abs(v));
        }
      }
      assert.ok(scale > 1e-3, "logits are not all ~0");
      assert.ok(worst < 1e-5, `max |onnx − reference| = ${worst}`);
    } finally {
      await r.close();
    }
  });

  it("folder follows the Hugging Face layout; config.json round-trips; incremental decode ≈ one-shot prefill", async () => {
    const m = await tinyModel();
    for (const f of ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"]) {
      assert.ok(existsSync(join(m.dir, f)), f);
    }
    const hf = JSON.parse(readFileSync(join(m.dir, "config.json"), "utf8"));
    assert.equal(hf.model_type, "llama");
    assert.deepEqual(fromHfConfig(hf), m.config);
    const tc = JSON.parse(readFileSync(join(m.dir, "tokenizer_config.json"), "utf8"));
    assert.match(tc.chat_template, /im_start/);
    const session = await ort.InferenceSession.create(join(m.dir, "onnx/model.onnx"));
    assert.deepEqual(session.inputNames.slice(0, 3), ["input_ids", "attention_mask", "position_ids"]);
    assert.equal(session.inputNames[3], "past_key_values.0.key");
    assert.deepEqual(session.outputNames.slice(0, 2), ["logits", "present.0.key"]);
    await session.release();
    const r = await wholeRunner(m, { graphOptimizationLevel: "all" });
    try {
      const tokens = [1, 2, 3, 4, 5, 6, 7, 8];
      await r.open("one", { maxLength: 8 });
      const one = (await r.step("one", { stepId: 0, position: 0, bag: { input_ids: ids(tokens) } })).bag.logits.data as Float32Array;
      await r.open("inc", { maxLength: 8 });
      let diff = 0;
      for (let i = 0; i < tokens.length; i++) {
        const l = (await r.step("inc", { stepId: i, position: i, bag: { input_ids: ids([tokens[i]]) } })).bag.logits.data as Float32Array;
        for (let j = 0; j < l.length; j++) diff = Math.max(diff, Math.abs(l[j] - one[i * l.length + j]));
      }
      assert.ok(diff < 1e-4, `incremental vs one-shot ${diff}`);
    } finally {
      await r.close();
    }
  });

  it("writes weights as ONNX external data (onnx/model.onnx_data) that loads to the same logits", async () => {
    const m = await tinyModel();
    const dir = tempDir("ext");
    const { files } = await buildRandomDecoder(dir, "tiny", { seed: 1, externalData: true });
    const data = files.find((f) => f.path === "onnx/model.onnx_data");
    assert.ok(data && data.bytes > 4 * parameterCount(m.config) * 0.99, "weights are in model.onnx_data");
    assert.ok(readFileSync(join(dir, "onnx/model.onnx")).byteLength < 100_000, "model.onnx keeps only the graph");
    const feeds = (): Record<string, ort.Tensor> => {
      const f: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor("int64", BigInt64Array.from([5n, 6n, 7n]), [1, 3]),
        attention_mask: new ort.Tensor("int64", new BigInt64Array(3).fill(1n), [1, 3]),
        position_ids: new ort.Tensor("int64", BigInt64Array.from([0n, 1n, 2n]), [1, 3]),
      };
      for (let i = 0; i < m.config.layers; i++) {
        for (const kv of ["key", "value"]) {
          f[`past_key_values.${i}.${kv}`] = new ort.Tensor("float32", new Float32Array(0), [1, m.config.kvHeads, 0, m.config.headDim]);
        }
      }
      return f;
    };
    const a = await ort.InferenceSession.create(join(dir, "onnx/model.onnx"));
    const b = await ort.InferenceSession.create(join(m.dir, "onnx/model.onnx"));
    assert.deepEqual((await a.run(feeds())).logits.data, (await b.run(feeds())).logits.data);
    await Promise.all([a.release(), b.release()]);
    // Reading resolves the external data back into the tensors (what `model split` does).
    const { model } = await readDecoderModel(dir);
    const inline = await ort.InferenceSession.create(encodeModel(model));
    assert.deepEqual(
      (await inline.run(feeds())).logits.data,
      (await (await ort.InferenceSession.create(join(m.dir, "onnx/model.onnx"))).run(feeds())).logits.data,
    );
    await inline.release();
  });

  it("refuses inconsistent shapes by name", () => {
    const base = { ...DECODER_PRESETS.tiny, vocabSize: 100, bosTokenId: 0, eosTokenId: 1 };
    assert.throws(() => randomWeights({ ...base, kvHeads: 3 }), { name: "LlmConfigError" });
    assert.throws(() => randomWeights({ ...base, headDim: 15 }), { name: "LlmConfigError" });
    assert.throws(() => randomWeights({ ...base, eosTokenId: 100 }), { name: "LlmConfigError" });
  });
});
