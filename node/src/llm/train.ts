// Training the project's decoder on CPU with onnxruntime, which has no training API here: the
// training step is itself an ONNX graph built by hand — the Llama forward pass over a batch of
// windows, the cross-entropy loss, its gradients written out layer by layer (reverse mode, one
// formula per op below), and an Adam update — so every step is one session.run() on
// onnxruntime's CPU kernels (MLAS GEMM), far faster than a JavaScript autodiff. Embeddings and
// the output head are tied while training (exported as two copies, the inference graph keeps
// them separate). Gradients are checked against finite differences in test/llm/train.unit.test.ts.
//
//   rmsnorm   y = x·r·g, r = (mean x² + ε)^-½       dx = r·(dn − n·mean(dn·n)), dn = dy·g, dg = Σ dy·n
//   matmul    Y = X·W                               dX = dY·Wᵀ, dW = Xᵀ·dY
//   rotary    y = x·cos + rot(x)·sin, rot = [−x₂, x₁]  dx = dy·cos + rotᵀ(dy·sin), rotᵀ(z) = [z₂, −z₁]
//   softmax   P = softmax(S)                        dS = P·(dP − Σ dP·P)
//   SwiGLU    m = G·σ(G)·U                           dG = dm·U·σ(G)·(1 + G·(1 − σ(G))), dU = dm·G·σ(G)
//   loss      mean(logsumexp(z) − z_target)         dz = (softmax(z) − onehot) / N
import * as ort from "onnxruntime-node";
import { mulberry32 } from "../tensor/index.ts";
import { sessionOptions } from "../inference/session.ts";
import { DataType, encodeModel } from "../onnx/model.ts";
import { checkConfig, type DecoderConfig } from "./config.ts";
import { GraphBuilder } from "./graph.ts";
import { seededNormal, type DecoderWeights } from "./llama.ts";

/** Trainable tensors, in the order the step graph takes and returns them. */
export interface TrainParams {
  names: string[];
  shapes: number[][];
  values: Float32Array[];
}

export interface TrainStepShape {
  batch: number;
  /** Window length (positions per training sequence). */
  seq: number;
}

const ADAM = { beta1: 0.9, beta2: 0.95, eps: 1e-8 } as const;

/** Parameter list of a (tied-embedding) decoder, seeded like randomWeights. */
export function initTrainParams(c: DecoderConfig, seed: number): TrainParams {
  checkConfig(c);
  const normal = seededNormal(seed);
  const d = c.hiddenSize;
  const qd = c.heads * c.headDim;
  const kvd = c.kvHeads * c.headDim;
  const ff = c.intermediateSize;
  const proj = 0.02 / Math.sqrt(2 * c.layers);
  const p: TrainParams = { names: [], shapes: [], values: [] };
  const add = (name: string, shape: number[], v: Float32Array) => {
    p.names.push(name);
    p.shapes.push(shape);
    p.values.push(v);
  };
  add("embed", [c.vocabSize, d], normal(c.vocabSize * d, 0.02));
  for (let l = 0; l < c.layers; l++) {
    add(`l${l}.g1`, [d], new Float32Array(d).fill(1));
    add(`l${l}.wq`, [d, qd], normal(d * qd, 0.02));
    add(`l${l}.wk`, [d, kvd], normal(d * kvd, 0.02));
    add(`l${l}.wv`, [d, kvd], normal(d * kvd, 0.02));
    add(`l${l}.wo`, [qd, d], normal(qd * d, proj));
    add(`l${l}.g2`, [d], new Float32Array(d).fill(1));
    add(`l${l}.wg`, [d, ff], normal(d * ff, 0.02));
    add(`l${l}.wu`, [d, ff], normal(d * ff, 0.02));
    add(`l${l}.wd`, [ff, d], normal(ff * d, proj));
  }
  add("norm", [d], new Float32Array(d).fill(1));
  return p;
}

/** Inference weights from trained parameters (the head is the transposed embedding). */
export function toDecoderWeights(c: DecoderConfig, p: TrainParams): DecoderWeights {
  const get = (n: string) => p.values[p.names.indexOf(n)];
  const E = get("embed");
  const d = c.hiddenSize;
  const V = c.vocabSize;
  const lmHead = new Float32Array(d * V);
  for (let v = 0; v < V; v++) for (let i = 0; i < d; i++) lmHead[i * V + v] = E[v * d + i];
  return {
    embed: E.slice(),
    layers: Array.from({ length: c.layers }, (_, l) => ({
      inputNorm: get(`l${l}.g1`).slice(),
      q: get(`l${l}.wq`).slice(),
      k: get(`l${l}.wk`).slice(),
      v: get(`l${l}.wv`).slice(),
      o: get(`l${l}.wo`).slice(),
      postNorm: get(`l${l}.g2`).slice(),
      gate: get(`l${l}.wg`).slice(),
      up: get(`l${l}.wu`).slice(),
      down: get(`l${l}.wd`).slice(),
    })),
    norm: get("norm").slice(),
    lmHead,
  };
}

/**
 * The training-step graph. Inputs: tokens int64 [B, T+1], lr and the two Adam bias corrections
 * (scalars), then per parameter p, m_p, v_p. Outputs: loss, then per parameter the new p, m_p,
 * v_p. With `gradsOnly`, no optimizer: outputs loss and d(loss)/dp per parameter.
 */
export function buildTrainGraph(c: DecoderConfig, shape: TrainStepShape, gradsOnly = false) {
  const g = new GraphBuilder();
  const F = DataType.FLOAT;
  const { batch: B, seq: T } = shape;
  const N = B * T;
  const h = c.heads;
  const kvh = c.kvHeads;
  const hd = c.headDim;
  const rep = h / kvh;
  const V = c.vocabSize;
  const params = initTrainParams(c, 0); // shapes only
  const P: Record<string, string> = {};
  const tokens = g.input("tokens", DataType.INT64, [B, T + 1]);
  const lr = gradsOnly ? "" : g.input("lr", F, []);
  const bc1 = gradsOnly ? "" : g.input("bc1", F, []);
  const bc2 = gradsOnly ? "" : g.input("bc2", F, []);
  for (const [i, name] of params.names.entries()) {
    P[name] = g.input(name, F, params.shapes[i]);
    if (!gradsOnly) {
      g.input(`m.${name}`, F, params.shapes[i]);
      g.input(`v.${name}`, F, params.shapes[i]);
    }
  }
  const i64 = (v: number[]) => g.constInt64(v);
  const f = (v: number) => g.constFloat([v]);
  const op = (o: string, ins: string[], attrs: Record<string, number | number[]> = {}) => g.one("/train", o, ins, attrs);
  const mm = (a: string, b: string, ta = 0, tb = 0) => op("Gemm", [a, b], { transA: ta, transB: tb });
  const reshape = (x: string, s: number[]) => op("Reshape", [x, i64(s)]);
  const tr = (x: string, perm: number[]) => op("Transpose", [x], { perm });

  // Inputs/targets [N] and constants: rotary tables [T, hd], causal bias [T, T].
  const inp = reshape(op("Slice", [tokens, i64([0]), i64([T]), i64([1])]), [N]);
  const tgt = reshape(op("Slice", [tokens, i64([1]), i64([T + 1]), i64([1])]), [N, 1]);
  const cosT = new Float32Array(T * hd);
  const sinT = new Float32Array(T * hd);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < hd / 2; j++) {
      const a = t * Math.fround(1 / c.ropeTheta ** ((2 * j) / hd));
      cosT[t * hd + j] = cosT[t * hd + j + hd / 2] = Math.cos(a);
      sinT[t * hd + j] = sinT[t * hd + j + hd / 2] = Math.sin(a);
    }
  }
  const cos = g.weight("/const/cos", [T, hd], cosT);
  const sin = g.weight("/const/sin", [T, hd], sinT);
  const maskT = new Float32Array(T * T);
  for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) maskT[i * T + j] = -1e9;
  const mask = g.weight("/const/causal", [T, T], maskT);
  const scale = f(1 / Math.sqrt(hd));
  const half = (x: string, first: boolean) => op("Slice", [x, i64([first ? 0 : hd / 2]), i64([first ? hd / 2 : hd]), i64([-1])]);
  const rot = (x: string) => op("Concat", [op("Neg", [half(x, false)]), half(x, true)], { axis: -1 });
  const rotT = (z: string) => op("Concat", [half(z, false), op("Neg", [half(z, true)])], { axis: -1 });

  const rmsF = (x: string, w: string) => {
    const r = op("Reciprocal", [
      op("Sqrt", [op("Add", [op("ReduceMean", [op("Mul", [x, x])], { axes: [-1], keepdims: 1 }), f(c.rmsNormEps)])]),
    ]);
    const n = op("Mul", [x, r]);
    return { r, n, y: op("Mul", [n, w]) };
  };
  const rmsB = (dy: string, s: { r: string; n: string }, w: string) => {
    const dn = op("Mul", [dy, w]);
    const dg = op("ReduceSum", [op("Mul", [dy, s.n]), i64([0])], { keepdims: 0 });
    const dx = op("Mul", [s.r, op("Sub", [dn, op("Mul", [s.n, op("ReduceMean", [op("Mul", [dn, s.n])], { axes: [-1], keepdims: 1 })])])]);
    return { dx, dg };
  };
  const heads = (x: string, n: number) => tr(reshape(x, [B, T, n, hd]), [0, 2, 1, 3]); // [B,n,T,hd]
  const unheads = (x: string, n: number) => reshape(tr(x, [0, 2, 1, 3]), [N, n * hd]);

  // ---- forward ----
  let x = op("Gather", [P.embed, inp], { axis: 0 }); // [N, d]
  const saved: Array<Record<string, string>> = [];
  for (let l = 0; l < c.layers; l++) {
    const w = (k: string) => P[`l${l}.${k}`];
    const s1 = rmsF(x, w("g1"));
    const q4 = heads(mm(s1.y, w("wq")), h);
    const k4 = heads(mm(s1.y, w("wk")), kvh);
    const v4 = heads(mm(s1.y, w("wv")), kvh);
    const qr = op("Add", [op("Mul", [q4, cos]), op("Mul", [rot(q4), sin])]);
    const kr = op("Add", [op("Mul", [k4, cos]), op("Mul", [rot(k4), sin])]);
    const qg = reshape(qr, [B, kvh, rep * T, hd]);
    const S = op("Mul", [op("MatMul", [qg, tr(kr, [0, 1, 3, 2])]), scale]);
    const P4 = op("Softmax", [op("Add", [reshape(S, [B, h, T, T]), mask])], { axis: -1 });
    const Pg = reshape(P4, [B, kvh, rep * T, T]);
    const C = op("MatMul", [Pg, v4]);
    const M = unheads(reshape(C, [B, h, T, hd]), h);
    const x2 = op("Add", [x, mm(M, w("wo"))]);
    const s2 = rmsF(x2, w("g2"));
    const G = mm(s2.y, w("wg"));
    const U = mm(s2.y, w("wu"));
    const sg = op("Sigmoid", [G]);
    const A = op("Mul", [G, sg]);
    const Mm = op("Mul", [A, U]);
    const x3 = op("Add", [x2, mm(Mm, w("wd"))]);
    saved.push({ x, r1: s1.r, n1: s1.n, y1: s1.y, v4, kr, qg, P4, Pg, M, x2, r2: s2.r, n2: s2.n, y2: s2.y, G, U, sg, A, Mm });
    x = x3;
  }
  const sf = rmsF(x, P.norm);
  const logits = mm(sf.y, P.embed, 0, 1); // [N, V]
  const lse = op("ReduceLogSumExp", [logits], { axes: [1], keepdims: 1 });
  const picked = op("GatherElements", [logits, tgt], { axis: 1 });
  g.one("/train", "ReduceMean", [op("Sub", [lse, picked])], { keepdims: 0 }, "loss");
  g.output("loss", F, []);

  // ---- backward ----
  const grads: Record<string, string> = {};
  const onehot = (idx: string) => op("OneHot", [idx, g.constInt64([V], true), g.constFloat([0, 1], false)], { axis: -1 });
  const dlogits = op("Mul", [op("Sub", [op("Softmax", [logits], { axis: -1 }), reshape(onehot(tgt), [N, V])]), f(1 / N)]);
  const dEhead = mm(dlogits, sf.y, 1, 0); // [V, d]
  const bf = rmsB(mm(dlogits, P.embed), sf, P.norm);
  grads.norm = bf.dg;
  let dx = bf.dx;
  for (let l = c.layers - 1; l >= 0; l--) {
    const w = (k: string) => P[`l${l}.${k}`];
    const s = saved[l];
    // MLP
    grads[`l${l}.wd`] = mm(s.Mm, dx, 1, 0);
    const dMm = mm(dx, w("wd"), 0, 1);
    const dA = op("Mul", [dMm, s.U]);
    const dU = op("Mul", [dMm, s.A]);
    const dG = op("Mul", [dA, op("Mul", [s.sg, op("Add", [f(1), op("Mul", [s.G, op("Sub", [f(1), s.sg])])])])]);
    grads[`l${l}.wg`] = mm(s.y2, dG, 1, 0);
    grads[`l${l}.wu`] = mm(s.y2, dU, 1, 0);
    const b2 = rmsB(op("Add", [mm(dG, w("wg"), 0, 1), mm(dU, w("wu"), 0, 1)]), { r: s.r2, n: s.n2 }, w("g2"));
    grads[`l${l}.g2`] = b2.dg;
    const dx2 = op("Add", [dx, b2.dx]);
    // attention
    grads[`l${l}.wo`] = mm(s.M, dx2, 1, 0);
    const dM = mm(dx2, w("wo"), 0, 1);
    const dC = reshape(tr(reshape(dM, [B, T, h, hd]), [0, 2, 1, 3]), [B, kvh, rep * T, hd]);
    const dPg = op("MatMul", [dC, tr(s.v4, [0, 1, 3, 2])]);
    const dv4 = op("MatMul", [tr(s.Pg, [0, 1, 3, 2]), dC]);
    const dP4 = reshape(dPg, [B, h, T, T]);
    const dS4 = op("Mul", [s.P4, op("Sub", [dP4, op("ReduceSum", [op("Mul", [dP4, s.P4]), i64([-1])], { keepdims: 1 })])]);
    const dS = op("Mul", [reshape(dS4, [B, kvh, rep * T, T]), scale]);
    const dqr = reshape(op("MatMul", [dS, s.kr]), [B, h, T, hd]);
    const dkr = op("MatMul", [tr(dS, [0, 1, 3, 2]), s.qg]);
    const unrope = (z: string) => op("Add", [op("Mul", [z, cos]), rotT(op("Mul", [z, sin]))]);
    const dq = unheads(unrope(dqr), h);
    const dk = unheads(unrope(dkr), kvh);
    const dv = unheads(dv4, kvh);
    grads[`l${l}.wq`] = mm(s.y1, dq, 1, 0);
    grads[`l${l}.wk`] = mm(s.y1, dk, 1, 0);
    grads[`l${l}.wv`] = mm(s.y1, dv, 1, 0);
    const dy1 = op("Add", [op("Add", [mm(dq, w("wq"), 0, 1), mm(dk, w("wk"), 0, 1)]), mm(dv, w("wv"), 0, 1)]);
    const b1 = rmsB(dy1, { r: s.r1, n: s.n1 }, w("g1"));
    grads[`l${l}.g1`] = b1.dg;
    dx = op("Add", [dx2, b1.dx]);
  }
  const dEemb = mm(onehot(inp), dx, 1, 0); // [V, d]
  grads.embed = op("Add", [dEhead, dEemb]);

  // ---- outputs: gradients, or an Adam step ----
  for (const [i, name] of params.names.entries()) {
    const gr = grads[name];
    if (gradsOnly) {
      g.one("/grad", "Identity", [gr], {}, `grad.${name}`);
      g.output(`grad.${name}`, F, params.shapes[i]);
      continue;
    }
    const m = op("Add", [op("Mul", [`m.${name}`, f(ADAM.beta1)]), op("Mul", [gr, f(1 - ADAM.beta1)])]);
    const v = op("Add", [op("Mul", [`v.${name}`, f(ADAM.beta2)]), op("Mul", [op("Mul", [gr, gr]), f(1 - ADAM.beta2)])]);
    const upd = op("Div", [op("Div", [m, bc1]), op("Add", [op("Sqrt", [op("Div", [v, bc2])]), f(ADAM.eps)])]);
    g.one("/adam", "Sub", [P[name], op("Mul", [upd, lr])], {}, `new.${name}`);
    g.one("/adam", "Identity", [m], {}, `new.m.${name}`);
    g.one("/adam", "Identity", [v], {}, `new.v.${name}`);
    for (const prefix of ["new.", "new.m.", "new.v."]) g.output(`${prefix}${name}`, F, params.shapes[i]);
  }
  return { model: g.model("shardmesh-llama-train"), params: params.names };
}

export interface TrainOptions extends TrainStepShape {
  steps: number;
  /** Peak learning rate (linear warmup, cosine decay to 10 %). */
  lr: number;
  warmup?: number;
  seed?: number;
  intraOpThreads?: number;
  /** Stop early after this many milliseconds (the steps done so far are kept). */
  budgetMs?: number;
  onStep?: (e: { step: number; steps: number; loss: number; tokensPerSecond: number }) => void;
  signal?: AbortSignal;
}

export interface TrainResult {
  params: TrainParams;
  steps: number;
  losses: number[];
  tokensPerSecond: number;
  ms: number;
}

/** Trains on `corpus` (token ids) with random windows; returns the trained parameters. */
export async function trainDecoder(c: DecoderConfig, corpus: Int32Array | number[], o: TrainOptions): Promise<TrainResult> {
  const { model } = buildTrainGraph(c, o);
  const session = await ort.InferenceSession.create(encodeModel(model), sessionOptions({ intraOpThreads: o.intraOpThreads ?? 2 }));
  const params = initTrainParams(c, o.seed ?? 1);
  const feeds: Record<string, ort.Tensor> = {};
  params.names.forEach((n, i) => {
    feeds[n] = new ort.Tensor("float32", params.values[i], params.shapes[i]);
    feeds[`m.${n}`] = new ort.Tensor("float32", new Float32Array(params.values[i].length), params.shapes[i]);
    feeds[`v.${n}`] = new ort.Tensor("float32", new Float32Array(params.values[i].length), params.shapes[i]);
  });
  const rnd = mulberry32((o.seed ?? 1) ^ 0x5bd1e995);
  const span = o.seq + 1;
  if (corpus.length < span + 1) throw new RangeError(`corpus of ${corpus.length} tokens is shorter than one window`);
  const warmup = o.warmup ?? Math.min(100, Math.floor(o.steps / 10));
  const losses: number[] = [];
  const t0 = performance.now();
  let step = 0;
  try {
    for (; step < o.steps; step++) {
      o.signal?.throwIfAborted();
      if (o.budgetMs !== undefined && performance.now() - t0 > o.budgetMs) break;
      const batch = new BigInt64Array(o.batch * span);
      for (let b = 0; b < o.batch; b++) {
        const at = Math.floor(rnd() * (corpus.length - span));
        for (let t = 0; t < span; t++) batch[b * span + t] = BigInt(corpus[at + t]);
      }
      const progress =
        step < warmup ? (step + 1) / warmup : 0.1 + 0.9 * 0.5 * (1 + Math.cos((Math.PI * (step - warmup)) / Math.max(1, o.steps - warmup)));
      feeds.tokens = new ort.Tensor("int64", batch, [o.batch, span]);
      feeds.lr = new ort.Tensor("float32", Float32Array.of(o.lr * progress), []);
      feeds.bc1 = new ort.Tensor("float32", Float32Array.of(1 - ADAM.beta1 ** (step + 1)), []);
      feeds.bc2 = new ort.Tensor("float32", Float32Array.of(1 - ADAM.beta2 ** (step + 1)), []);
      const out = await session.run(feeds);
      for (const n of params.names) {
        feeds[n] = out[`new.${n}`];
        feeds[`m.${n}`] = out[`new.m.${n}`];
        feeds[`v.${n}`] = out[`new.v.${n}`];
      }
      const loss = (out.loss.data as Float32Array)[0];
      losses.push(loss);
      const ms = performance.now() - t0;
      o.onStep?.({ step: step + 1, steps: o.steps, loss, tokensPerSecond: ((step + 1) * o.batch * o.seq * 1000) / ms });
    }
  } finally {
    params.names.forEach((n, i) => {
      params.values[i] = (feeds[n].data as Float32Array).slice();
    });
    await session.release();
  }
  const ms = performance.now() - t0;
  return { params, steps: step, losses, tokensPerSecond: (step * o.batch * o.seq * 1000) / Math.max(1, ms), ms };
}

/** The demo model: trained on Moby-Dick for a few minutes of CPU (see README, "Language models"). */
export const DEMO_RECIPE = {
  shape: {
    hiddenSize: 192,
    intermediateSize: 512,
    layers: 4,
    heads: 6,
    kvHeads: 2,
    headDim: 32,
    maxPositions: 512,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  },
  merges: 2000,
  batch: 8,
  seq: 96,
  steps: 600,
  lr: 6e-3,
  seed: 1,
  corpus: "moby-dick",
} as const;
