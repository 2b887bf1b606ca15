// The project's own decoder, a Llama-architecture transformer (RMSNorm, rotary positions,
// grouped-query attention, SwiGLU) written as ONNX in the Hugging Face Optimum /
// transformers.js decoder-only export convention:
//
//   in : input_ids int64 [batch_size, sequence_length]
//        attention_mask int64 [batch_size, total_sequence_length]
//        position_ids int64 [batch_size, sequence_length]
//        past_key_values.{i}.key|value float32 [batch_size, kv_heads, past_sequence_length, head_dim]
//   out: logits float32 [batch_size, sequence_length, vocab]
//        present.{i}.key|value float32 [batch_size, kv_heads, total_sequence_length, head_dim]
//
// One with-past graph serves prefill too: a zero-length past is a valid input. Nodes are named by
// module path (/model/embed_tokens, /model/layers.{i}/…, /model/norm, /lm_head) as torch.onnx
// names them, which is what `model split` reads to cut between blocks. Each block computes its
// own causal mask and rotary angles from attention_mask and position_ids (a few element-wise ops
// over [seq, total] and [seq, head_dim]), so a cut carries only the hidden state plus those two
// small inputs. Linear weights are stored transposed ([in, out]) for MatMul, as Optimum exports.
import { mulberry32 } from "../tensor/index.ts";
import { DataType, type ModelProto } from "../onnx/model.ts";
import { checkConfig, type DecoderConfig } from "./config.ts";
import { GraphBuilder } from "./graph.ts";

export const DECODER_NAMES = {
  inputIds: "input_ids",
  attentionMask: "attention_mask",
  positionIds: "position_ids",
  logits: "logits",
  pastKey: (i: number) => `past_key_values.${i}.key`,
  pastValue: (i: number) => `past_key_values.${i}.value`,
  presentKey: (i: number) => `present.${i}.key`,
  presentValue: (i: number) => `present.${i}.value`,
} as const;

/** Node-name scope of block i (torch.onnx module path). */
export const layerScope = (i: number) => `/model/layers.${i}`;

export interface LayerWeights {
  inputNorm: Float32Array; // [d]
  q: Float32Array; // [d, heads·hd]
  k: Float32Array; // [d, kvHeads·hd]
  v: Float32Array; // [d, kvHeads·hd]
  o: Float32Array; // [heads·hd, d]
  postNorm: Float32Array; // [d]
  gate: Float32Array; // [d, ff]
  up: Float32Array; // [d, ff]
  down: Float32Array; // [ff, d]
}

export interface DecoderWeights {
  embed: Float32Array; // [V, d]
  layers: LayerWeights[];
  norm: Float32Array; // [d]
  lmHead: Float32Array; // [d, V]
}

/** Mask value for disallowed positions (finite, so a row never turns into NaN). */
const MASK_MIN = -3.4028234663852886e38;

/** A seeded source of N(0, std²) arrays (Box–Muller over mulberry32). */
export function seededNormal(seed: number): (n: number, std: number) => Float32Array {
  const rnd = mulberry32(seed);
  return (n, std) => {
    const a = new Float32Array(n);
    for (let i = 0; i < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - rnd())) * std;
      const t = 2 * Math.PI * rnd();
      a[i] = r * Math.cos(t);
      if (i + 1 < n) a[i + 1] = r * Math.sin(t);
    }
    return a;
  };
}

/** Seeded random weights: N(0, 0.02²) matrices (output projections scaled by 1/√(2·layers), as GPT-2 does), unit norms. */
export function randomWeights(c: DecoderConfig, seed = 1): DecoderWeights {
  checkConfig(c);
  const normal = seededNormal(seed);
  const d = c.hiddenSize;
  const qd = c.heads * c.headDim;
  const kvd = c.kvHeads * c.headDim;
  const ff = c.intermediateSize;
  const std = 0.02;
  const proj = std / Math.sqrt(2 * c.layers);
  return {
    embed: normal(c.vocabSize * d, std),
    layers: Array.from({ length: c.layers }, () => ({
      inputNorm: new Float32Array(d).fill(1),
      q: normal(d * qd, std),
      k: normal(d * kvd, std),
      v: normal(d * kvd, std),
      o: normal(qd * d, proj),
      postNorm: new Float32Array(d).fill(1),
      gate: normal(d * ff, std),
      up: normal(d * ff, std),
      down: normal(ff * d, proj),
    })),
    norm: new Float32Array(d).fill(1),
    lmHead: normal(d * c.vocabSize, std),
  };
}

/** RMSNorm: x · 1/√(mean(x²) + eps) · w. */
function rmsNorm(g: GraphBuilder, scope: string, x: string, w: string, eps: number): string {
  const sq = g.one(scope, "Mul", [x, x]);
  const mean = g.one(scope, "ReduceMean", [sq], { axes: [-1], keepdims: 1 });
  const den = g.one(scope, "Sqrt", [g.one(scope, "Add", [mean, g.constFloat([eps])])]);
  const inv = g.one(scope, "Reciprocal", [den]);
  return g.one(scope, "Mul", [g.one(scope, "Mul", [x, inv]), w]);
}

/** HF rotate_half: concat(−x[..., hd/2:], x[..., :hd/2]). */
function rotateHalf(g: GraphBuilder, scope: string, x: string, hd: number): string {
  const axes = g.constInt64([-1]);
  const x1 = g.one(scope, "Slice", [x, g.constInt64([0]), g.constInt64([hd / 2]), axes]);
  const x2 = g.one(scope, "Slice", [x, g.constInt64([hd / 2]), g.constInt64([hd]), axes]);
  return g.one(scope, "Concat", [g.one(scope, "Neg", [x2]), x1], { axis: -1 });
}

/** The ONNX graph of the decoder (weights by reference: encode before mutating them). */
export function buildDecoderGraph(c: DecoderConfig, w: DecoderWeights, name = "shardmesh-llama"): ModelProto {
  checkConfig(c);
  const N = DECODER_NAMES;
  const g = new GraphBuilder();
  const d = c.hiddenSize;
  const hd = c.headDim;
  const F = DataType.FLOAT;
  const I64 = DataType.INT64;

  const ids = g.input(N.inputIds, I64, ["batch_size", "sequence_length"]);
  const mask = g.input(N.attentionMask, I64, ["batch_size", "total_sequence_length"]);
  const pos = g.input(N.positionIds, I64, ["batch_size", "sequence_length"]);
  for (let i = 0; i < c.layers; i++) {
    g.input(N.pastKey(i), F, ["batch_size", c.kvHeads, "past_sequence_length", hd]);
    g.input(N.pastValue(i), F, ["batch_size", c.kvHeads, "past_sequence_length", hd]);
  }
  g.output(N.logits, F, ["batch_size", "sequence_length", c.vocabSize]);
  for (let i = 0; i < c.layers; i++) {
    g.output(N.presentKey(i), F, ["batch_size", c.kvHeads, "total_sequence_length", hd]);
    g.output(N.presentValue(i), F, ["batch_size", c.kvHeads, "total_sequence_length", hd]);
  }

  let h = g.one("/model/embed_tokens", "Gather", [g.weight("model.embed_tokens.weight", [c.vocabSize, d], w.embed), ids], { axis: 0 });

  const invFreq = Array.from({ length: hd / 2 }, (_, j) => Math.fround(1 / c.ropeTheta ** ((2 * j) / hd)));
  for (let i = 0; i < c.layers; i++) {
    const L = w.layers[i];
    const s = layerScope(i);
    const p = `model.layers.${i}`;
    // Causal mask over the total length: query i (absolute T−S+i) sees key j when j ≤ T−S+i and mask[j] = 1.
    const ms = `${s}/self_attn/mask`;
    const total = g.one(ms, "Gather", [g.one(ms, "Shape", [mask]), g.constInt64([1], true)], { axis: 0 });
    const seq = g.one(ms, "Gather", [g.one(ms, "Shape", [pos]), g.constInt64([1], true)], { axis: 0 });
    const one = g.constInt64([1], true);
    const keyIdx = g.one(ms, "Range", [g.constInt64([0], true), total, one]);
    const qIdx = g.one(ms, "Range", [g.one(ms, "Sub", [total, seq]), total, one]);
    const causal = g.one(ms, "LessOrEqual", [
      g.one(ms, "Unsqueeze", [keyIdx, g.constInt64([0])]),
      g.one(ms, "Unsqueeze", [qIdx, g.constInt64([1])]),
    ]); // [S, T]
    const keep = g.one(ms, "Cast", [g.one(ms, "Unsqueeze", [mask, g.constInt64([1, 2])])], { to: DataType.BOOL }); // [B,1,1,T]
    const allowed = g.one(ms, "And", [causal, keep]); // [B,1,S,T]
    const bias = g.one(ms, "Where", [allowed, g.constFloat([0]), g.constFloat([MASK_MIN])]);
    // Rotary angles: pos ⊗ inv_freq, duplicated to head_dim, as [B,1,S,hd].
    const rs = `${s}/self_attn/rotary_emb`;
    const freqs = g.one(rs, "Mul", [
      g.one(rs, "Unsqueeze", [g.one(rs, "Cast", [pos], { to: F }), g.constInt64([-1])]),
      g.constFloat(invFreq, false),
    ]);
    const emb = g.one(rs, "Unsqueeze", [g.one(rs, "Concat", [freqs, freqs], { axis: -1 }), g.constInt64([1])]);
    const cos = g.one(rs, "Cos", [emb]);
    const sin = g.one(rs, "Sin", [emb]);
    const rope = (x: string, sc: string) =>
      g.one(sc, "Add", [g.one(sc, "Mul", [x, cos]), g.one(sc, "Mul", [rotateHalf(g, sc, x, hd), sin])]);

    const x = rmsNorm(g, `${s}/input_layernorm`, h, g.weight(`${p}.input_layernorm.weight`, [d], L.inputNorm), c.rmsNormEps);
    const heads = (sc: string, wname: string, wdata: Float32Array, n: number) => {
      const y = g.one(sc, "MatMul", [x, g.weight(wname, [d, n * hd], wdata)]);
      return g.one(sc, "Transpose", [g.one(sc, "Reshape", [y, g.constInt64([0, 0, n, hd])])], { perm: [0, 2, 1, 3] }); // [B,n,S,hd]
    };
    const a = `${s}/self_attn`;
    const q = rope(heads(`${a}/q_proj`, `${p}.self_attn.q_proj.weight`, L.q, c.heads), `${a}/q_rope`);
    const k = rope(heads(`${a}/k_proj`, `${p}.self_attn.k_proj.weight`, L.k, c.kvHeads), `${a}/k_rope`);
    const v = heads(`${a}/v_proj`, `${p}.self_attn.v_proj.weight`, L.v, c.kvHeads);
    const keys = g.one(a, "Concat", [N.pastKey(i), k], { axis: 2 }, N.presentKey(i)); // [B,kvh,T,hd]
    const values = g.one(a, "Concat", [N.pastValue(i), v], { axis: 2 }, N.presentValue(i));
    // Grouped-query attention without repeating K/V: heads of one group share a [rep·S] block.
    const qg = g.one(a, "Reshape", [q, g.constInt64([0, c.kvHeads, -1, hd])]);
    const kt = g.one(a, "Transpose", [keys], { perm: [0, 1, 3, 2] });
    const scores = g.one(a, "Mul", [g.one(a, "MatMul", [qg, kt]), g.constFloat([1 / Math.sqrt(hd)])]);
    const masked = g.one(a, "Add", [g.one(a, "Reshape", [scores, g.constInt64([0, c.heads, -1, 0])]), bias]); // [B,h,S,T]
    const probs = g.one(a, "Softmax", [masked], { axis: -1 });
    const ctx = g.one(a, "MatMul", [g.one(a, "Reshape", [probs, g.constInt64([0, c.kvHeads, -1, 0])]), values]);
    const merged = g.one(a, "Reshape", [
      g.one(a, "Transpose", [g.one(a, "Reshape", [ctx, g.constInt64([0, c.heads, -1, hd])])], { perm: [0, 2, 1, 3] }),
      g.constInt64([0, 0, c.heads * hd]),
    ]);
    const attn = g.one(`${a}/o_proj`, "MatMul", [merged, g.weight(`${p}.self_attn.o_proj.weight`, [c.heads * hd, d], L.o)]);
    h = g.one(s, "Add", [h, attn]);

    const y = rmsNorm(
      g,
      `${s}/post_attention_layernorm`,
      h,
      g.weight(`${p}.post_attention_layernorm.weight`, [d], L.postNorm),
      c.rmsNormEps,
    );
    const m = `${s}/mlp`;
    const gate = g.one(`${m}/gate_proj`, "MatMul", [y, g.weight(`${p}.mlp.gate_proj.weight`, [d, c.intermediateSize], L.gate)]);
    const up = g.one(`${m}/up_proj`, "MatMul", [y, g.weight(`${p}.mlp.up_proj.weight`, [d, c.intermediateSize], L.up)]);
    const act = g.one(`${m}/act_fn`, "Mul", [gate, g.one(`${m}/act_fn`, "Sigmoid", [gate])]);
    const down = g.one(`${m}/down_proj`, "MatMul", [
      g.one(m, "Mul", [act, up]),
      g.weight(`${p}.mlp.down_proj.weight`, [c.intermediateSize, d], L.down),
    ]);
    h = g.one(s, "Add", [h, down]);
  }
  const out = rmsNorm(g, "/model/norm", h, g.weight("model.norm.weight", [d], w.norm), c.rmsNormEps);
  g.one("/lm_head", "MatMul", [out, g.weight("lm_head.weight", [d, c.vocabSize], w.lmHead)], {}, N.logits);
  return g.model(name, `Llama-architecture decoder (${c.layers} layers, d=${d}, ${c.heads}/${c.kvHeads} heads) built by shardmesh`);
}
