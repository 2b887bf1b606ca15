// The project's own zk model: a digit recogniser that ends in the int8 dense head.
//
//   image  float32 [1, 256]   16×16 grey digit (ink = 1)
//   → MatMul + Add + Relu     float feature extractor (trained here, digits-train.ts)
//   → QuantizeLinear          "features" int8 [1, 64]      ← the zk stage's input (the cut)
//   → int8 dense head         "logits"   int8 [1, 10]      ← exact integer ops (int8-onnx.ts)
//   argmax(logits) = the digit
//
// Everything comes from a seed: rendered data (digits-data.ts), initialisation and batch
// order, so buildDigitsModel() gives the same bytes for the same seed on the same machine.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DataType, decodeModel, encodeModel, num, type NodeProto } from "../onnx/model.ts";
import { DIGIT_CLASSES, DIGIT_PIXELS, digitSet, type DigitSet } from "./digits-data.ts";
import { hiddenLayer, trainMlp, type MlpWeights } from "./digits-train.ts";
import { int8DenseReference, type Int8DenseParams } from "./int8.ts";
import { floatTensor, HEAD_OPSET, int8HeadGraph, int8Tensor, valueInfo } from "./int8-onnx.ts";

/** Feature vector size M (the head's input). */
export const DIGITS_FEATURES = 64;
/** The head's requantisation shift (the digits-head circuit instance is built for it). */
export const DIGITS_SHIFT = 35;
export const DIGITS_NAMES = { input: "image", features: "features", output: "logits" } as const;
/** Initializer-name prefix of the head's tensors (see int8HeadFromModel). */
export const DIGITS_HEAD_PREFIX = "head";
/** Default cache path of the built model (git-ignored). */
export const DIGITS_MODEL_PATH = join(new URL("../../../", import.meta.url).pathname, ".shardmesh/models/digits.onnx");

/** Defaults of the model recipe (the cache key of writeDigitsModel includes all of them). */
export const DIGITS_DEFAULTS = { seed: 1, trainPerDigit: 250, testPerDigit: 100, epochs: 12 } as const;

export interface DigitsModelOptions {
  seed?: number;
  /** Training renderings per digit. Default 250. */
  trainPerDigit?: number;
  /** Held-out renderings per digit (another seed). Default 100. */
  testPerDigit?: number;
  epochs?: number;
  onProgress?: (event: { phase: "render" | "train" | "quantise"; done: number; total: number; loss?: number }) => void;
}

export interface DigitsModel {
  /** The ONNX file. */
  readonly bytes: Uint8Array;
  readonly sha256: string;
  readonly seed: number;
  /** The zk stage's int8 head (its Poseidon commitment is the model's weights commitment). */
  readonly head: Int8DenseParams;
  /** QuantizeLinear scale of the features (zero point −128). */
  readonly featureScale: number;
  /** Fractions classified correctly by the int8 path (features quantised, exact head). */
  readonly accuracy: { readonly train: number; readonly heldOut: number; readonly heldOutFloat: number };
}

const FEATURE_ZERO_POINT = -128;

/** QuantizeLinear as onnxruntime does it: round half to even, add zero point, saturate. */
function quantize(v: number, scale: number): number {
  const r = v / scale;
  let q = Math.round(r);
  if (Math.abs(r - Math.trunc(r)) === 0.5 && q % 2 !== 0) q -= 1;
  q += FEATURE_ZERO_POINT;
  return q < -128 ? -128 : Math.min(q, 127);
}

/** The int8 features of one image (float extractor, then QuantizeLinear). */
export function digitFeatures(mlp: MlpWeights, featureScale: number, image: ArrayLike<number>): Int8Array {
  const h = hiddenLayer(mlp, image);
  return Int8Array.from(h, (v) => quantize(v, Math.fround(featureScale)));
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** Quantises the trained float head into PROTOCOL.md's int8 head. */
function quantiseHead(mlp: MlpWeights, featureScale: number, train: DigitSet): Int8DenseParams {
  const { hidden: m, classes: n } = mlp;
  let maxW = 0;
  for (const w of mlp.w2) maxW = Math.max(maxW, Math.abs(w));
  const sw = maxW / 127;
  const weights = new Int8Array(n * m);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) weights[i * m + j] = Math.round(mlp.w2[j * n + i] / sw);
  // x_int8 = f / sx − 128, so W·f / (sw·sx) = W·x + 128·ΣW: fold the zero point into the bias.
  const bias = Int32Array.from({ length: n }, (_, i) => {
    let rowSum = 0;
    for (let j = 0; j < m; j++) rowSum += weights[i * m + j];
    return Math.round(mlp.b2[i] / (sw * featureScale)) - FEATURE_ZERO_POINT * rowSum;
  });
  // Output scale: the largest |logit| over the training set maps to ±120.
  let maxLogit = 0;
  for (let k = 0; k < train.count; k++) {
    const h = hiddenLayer(mlp, train.images.subarray(k * DIGIT_PIXELS, (k + 1) * DIGIT_PIXELS));
    for (let c = 0; c < n; c++) {
      let z = mlp.b2[c];
      for (let j = 0; j < m; j++) z += h[j] * mlp.w2[j * n + c];
      maxLogit = Math.max(maxLogit, Math.abs(z));
    }
  }
  const sy = maxLogit / 120;
  const mult = Math.round(((sw * featureScale) / sy) * 2 ** DIGITS_SHIFT);
  if (mult <= 0 || mult >= 2 ** 31) throw new RangeError(`digits head MULT ${mult} is out of range; change DIGITS_SHIFT`);
  return { outputs: n, inputs: m, weights, bias, mult, shift: DIGITS_SHIFT, zeroPoint: 0 };
}

function accuracy(mlp: MlpWeights, featureScale: number, head: Int8DenseParams, set: DigitSet): number {
  let ok = 0;
  for (let k = 0; k < set.count; k++) {
    const x = digitFeatures(mlp, featureScale, set.images.subarray(k * DIGIT_PIXELS, (k + 1) * DIGIT_PIXELS));
    if (argmax(int8DenseReference(head, x)) === set.labels[k]) ok++;
  }
  return ok / set.count;
}

function floatAccuracy(mlp: MlpWeights, set: DigitSet): number {
  let ok = 0;
  for (let k = 0; k < set.count; k++) {
    const h = hiddenLayer(mlp, set.images.subarray(k * DIGIT_PIXELS, (k + 1) * DIGIT_PIXELS));
    const z = Array.from({ length: mlp.classes }, (_, c) => {
      let s = mlp.b2[c];
      for (let j = 0; j < mlp.hidden; j++) s += h[j] * mlp.w2[j * mlp.classes + c];
      return s;
    });
    if (argmax(z) === set.labels[k]) ok++;
  }
  return ok / set.count;
}

/** The whole model as ONNX: float extractor, QuantizeLinear, exact int8 head. */
function encodeDigitsModel(mlp: MlpWeights, featureScale: number, head: Int8DenseParams): Uint8Array {
  const { input, features, output } = DIGITS_NAMES;
  const headGraph = int8HeadGraph(head, features, output, DIGITS_HEAD_PREFIX);
  const nodes: NodeProto[] = [
    { opType: "MatMul", input: [input, "fe/w1"], output: ["fe/mm"], name: "fe/mm" },
    { opType: "Add", input: ["fe/mm", "fe/b1"], output: ["fe/pre"], name: "fe/add" },
    { opType: "Relu", input: ["fe/pre"], output: ["fe/relu"], name: "fe/relu" },
    { opType: "QuantizeLinear", input: ["fe/relu", "fe/scale", "fe/zp"], output: [features], name: "fe/quantize" },
    ...headGraph.nodes,
  ];
  return encodeModel({
    irVersion: 7,
    producerName: "shardmesh",
    producerVersion: "digits-1",
    opsetImport: [{ domain: "", version: HEAD_OPSET }],
    graph: {
      name: "shardmesh-digits",
      node: nodes,
      initializer: [
        floatTensor("fe/w1", [mlp.inputs, mlp.hidden], mlp.w1),
        floatTensor("fe/b1", [mlp.hidden], mlp.b1),
        floatTensor("fe/scale", [], [featureScale]),
        int8Tensor("fe/zp", [], Int8Array.of(FEATURE_ZERO_POINT)),
        ...headGraph.initializers,
      ],
      input: [valueInfo(input, DataType.FLOAT, [1, DIGIT_PIXELS])],
      output: [valueInfo(output, DataType.INT8, [1, DIGIT_CLASSES])],
    },
  });
}

/** Trains and quantises the digits model (a few seconds) and returns its ONNX bytes and head. */
export function buildDigitsModel(opts: DigitsModelOptions = {}): DigitsModel {
  const seed = opts.seed ?? DIGITS_DEFAULTS.seed;
  const progress = opts.onProgress;
  progress?.({ phase: "render", done: 0, total: 2 });
  const train = digitSet(seed, opts.trainPerDigit ?? DIGITS_DEFAULTS.trainPerDigit);
  progress?.({ phase: "render", done: 1, total: 2 });
  const heldOut = digitSet(seed + 1_000_003, opts.testPerDigit ?? DIGITS_DEFAULTS.testPerDigit);
  progress?.({ phase: "render", done: 2, total: 2 });
  const epochs = opts.epochs ?? DIGITS_DEFAULTS.epochs;
  const mlp = trainMlp(train.images, train.labels, {
    hidden: DIGITS_FEATURES,
    classes: DIGIT_CLASSES,
    epochs,
    seed,
    onEpoch: (done, loss) => progress?.({ phase: "train", done, total: epochs, loss }),
  });
  // Feature scale: the largest activation over the training set maps to int8 127.
  let maxH = 0;
  for (let k = 0; k < train.count; k++) {
    for (const v of hiddenLayer(mlp, train.images.subarray(k * DIGIT_PIXELS, (k + 1) * DIGIT_PIXELS))) maxH = Math.max(maxH, v);
  }
  const featureScale = Math.fround(maxH / 255);
  const head = quantiseHead(mlp, featureScale, train);
  progress?.({ phase: "quantise", done: 1, total: 1 });
  const bytes = encodeDigitsModel(mlp, featureScale, head);
  return {
    bytes,
    sha256: createHash("sha256").update(bytes).digest("hex"),
    seed,
    head,
    featureScale,
    accuracy: {
      train: accuracy(mlp, featureScale, head, train),
      heldOut: accuracy(mlp, featureScale, head, heldOut),
      heldOutFloat: floatAccuracy(mlp, heldOut),
    },
  };
}

/** Reads the int8 head back out of a model built here (its initializers under `prefix`/). */
export function int8HeadFromModel(bytes: Uint8Array, prefix = DIGITS_HEAD_PREFIX): Int8DenseParams {
  const m = decodeModel(bytes);
  const init = new Map((m.graph?.initializer ?? []).map((t) => [t.name ?? "", t]));
  const rawOf = (name: string): Uint8Array => {
    const t = init.get(`${prefix}/${name}`);
    if (!t?.rawData) throw new RangeError(`model has no initializer ${prefix}/${name}`);
    return Uint8Array.from(t.rawData);
  };
  const int64 = (name: string) => Number(new BigInt64Array(rawOf(name).buffer)[0]);
  const w = init.get(`${prefix}/W`);
  const [mIn, nOut] = (w?.dims ?? []).map((d) => num(d));
  const wt = new Int8Array(rawOf("W").buffer);
  const weights = new Int8Array(nOut * mIn);
  for (let i = 0; i < nOut; i++) for (let j = 0; j < mIn; j++) weights[i * mIn + j] = wt[j * nOut + i];
  const div = BigInt(int64("div"));
  return {
    outputs: nOut,
    inputs: mIn,
    weights,
    bias: new Int32Array(rawOf("b").buffer),
    mult: int64("mult"),
    shift: div.toString(2).length - 1,
    zeroPoint: int64("zp"),
  };
}

export interface WrittenDigitsModel {
  readonly path: string;
  readonly sha256: string;
  readonly head: Int8DenseParams;
  /** False when the cached file was reused. */
  readonly built: boolean;
  readonly accuracy?: DigitsModel["accuracy"];
}

/**
 * Writes the digits model to `path` (default .shardmesh/models/digits.onnx) with a sidecar
 * `<path>.json` (seed, sha256, head constants, accuracy). Reuses a cached file of the same seed.
 */
export function writeDigitsModel(path = DIGITS_MODEL_PATH, opts: DigitsModelOptions = {}): WrittenDigitsModel {
  const seed = opts.seed ?? DIGITS_DEFAULTS.seed;
  const sidecar = `${path}.json`;
  // Everything the bytes depend on (with defaults filled in) decides whether the cache fits.
  const recipe = JSON.stringify({
    seed,
    trainPerDigit: opts.trainPerDigit ?? DIGITS_DEFAULTS.trainPerDigit,
    testPerDigit: opts.testPerDigit ?? DIGITS_DEFAULTS.testPerDigit,
    epochs: opts.epochs ?? DIGITS_DEFAULTS.epochs,
  });
  if (existsSync(path) && existsSync(sidecar)) {
    const meta = JSON.parse(readFileSync(sidecar, "utf8")) as { recipe?: string; sha256: string };
    const bytes = readFileSync(path);
    if (meta.recipe === recipe && createHash("sha256").update(bytes).digest("hex") === meta.sha256) {
      return { path, sha256: meta.sha256, head: int8HeadFromModel(bytes), built: false };
    }
  }
  const model = buildDigitsModel(opts);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(`${path}.tmp`, model.bytes);
  renameSync(`${path}.tmp`, path);
  const { head } = model;
  const meta = {
    seed,
    recipe,
    sha256: model.sha256,
    names: DIGITS_NAMES,
    featureScale: model.featureScale,
    head: { outputs: head.outputs, inputs: head.inputs, mult: head.mult, shift: head.shift, zeroPoint: head.zeroPoint },
    accuracy: model.accuracy,
  };
  writeFileSync(sidecar, `${JSON.stringify(meta, null, 2)}\n`);
  return { path, sha256: model.sha256, head, built: true, accuracy: model.accuracy };
}
