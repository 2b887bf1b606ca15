// A small float feature extractor trained in plain TypeScript: image (256) → dense 64 + ReLU →
// dense 10, softmax cross-entropy, SGD with momentum, seeded initialisation and batch order, so
// the same data and seed give the same weights. Float32 weights (what ONNX stores).
import { mulberry32 } from "../tensor/index.ts";

export interface MlpWeights {
  readonly inputs: number;
  readonly hidden: number;
  readonly classes: number;
  /** inputs × hidden, row-major (ONNX MatMul layout). */
  readonly w1: Float32Array;
  readonly b1: Float32Array;
  /** hidden × classes, row-major. */
  readonly w2: Float32Array;
  readonly b2: Float32Array;
}

export interface TrainOptions {
  readonly hidden: number;
  readonly classes: number;
  readonly epochs: number;
  readonly seed: number;
  readonly learningRate?: number;
  readonly batch?: number;
  readonly onEpoch?: (epoch: number, loss: number) => void;
}

function gaussian(rand: () => number): number {
  const u = Math.max(rand(), 1e-12);
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
}

/** ReLU(x·W1 + b1) for one sample, float32 rounding after each layer like the ONNX graph. */
export function hiddenLayer(m: MlpWeights, x: ArrayLike<number>, out = new Float32Array(m.hidden)): Float32Array {
  for (let h = 0; h < m.hidden; h++) {
    let s = 0;
    for (let i = 0; i < m.inputs; i++) s += x[i] * m.w1[i * m.hidden + h];
    const v = Math.fround(Math.fround(s) + m.b1[h]);
    out[h] = Math.max(v, 0);
  }
  return out;
}

export function trainMlp(images: Float32Array, labels: Uint8Array, opts: TrainOptions): MlpWeights {
  const n = labels.length;
  const inputs = images.length / n;
  const { hidden, classes } = opts;
  const lr = opts.learningRate ?? 0.05;
  const batch = opts.batch ?? 16;
  const rand = mulberry32(opts.seed);
  const w1 = Float64Array.from({ length: inputs * hidden }, () => gaussian(rand) * Math.sqrt(2 / inputs));
  const b1 = new Float64Array(hidden);
  const w2 = Float64Array.from({ length: hidden * classes }, () => gaussian(rand) * Math.sqrt(1 / hidden));
  const b2 = new Float64Array(classes);
  const [vw1, vb1, vw2, vb2] = [w1, b1, w2, b2].map((a) => new Float64Array(a.length));
  const [gw1, gb1, gw2, gb2] = [w1, b1, w2, b2].map((a) => new Float64Array(a.length));
  const h = new Float64Array(hidden);
  const z = new Float64Array(classes);
  const dh = new Float64Array(hidden);
  const order = Array.from({ length: n }, (_, i) => i);
  const momentum = 0.9;
  const decay = 1e-4;

  for (let epoch = 0; epoch < opts.epochs; epoch++) {
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    const rate = lr * (1 - epoch / opts.epochs) + lr * 0.05;
    let loss = 0;
    for (let start = 0; start < n; start += batch) {
      const end = Math.min(n, start + batch);
      for (const g of [gw1, gb1, gw2, gb2]) g.fill(0);
      for (let s = start; s < end; s++) {
        const idx = order[s];
        const x = images.subarray(idx * inputs, (idx + 1) * inputs);
        for (let k = 0; k < hidden; k++) h[k] = b1[k];
        for (let i = 0; i < inputs; i++) {
          const xi = x[i];
          if (xi === 0) continue;
          const row = i * hidden;
          for (let k = 0; k < hidden; k++) h[k] += xi * w1[row + k];
        }
        for (let k = 0; k < hidden; k++) if (h[k] < 0) h[k] = 0;
        let max = -Infinity;
        for (let c = 0; c < classes; c++) {
          let s2 = b2[c];
          for (let k = 0; k < hidden; k++) s2 += h[k] * w2[k * classes + c];
          z[c] = s2;
          if (s2 > max) max = s2;
        }
        let sum = 0;
        for (let c = 0; c < classes; c++) sum += z[c] = Math.exp(z[c] - max);
        const label = labels[idx];
        loss -= Math.log(z[label] / sum);
        // z now holds softmax - onehot: the logits' gradient.
        for (let c = 0; c < classes; c++) z[c] = z[c] / sum - (c === label ? 1 : 0);
        dh.fill(0);
        for (let k = 0; k < hidden; k++) {
          if (h[k] === 0) continue;
          for (let c = 0; c < classes; c++) {
            gw2[k * classes + c] += h[k] * z[c];
            dh[k] += w2[k * classes + c] * z[c];
          }
        }
        for (let c = 0; c < classes; c++) gb2[c] += z[c];
        for (let i = 0; i < inputs; i++) {
          const xi = x[i];
          if (xi === 0) continue;
          const row = i * hidden;
          for (let k = 0; k < hidden; k++) gw1[row + k] += xi * dh[k];
        }
        for (let k = 0; k < hidden; k++) gb1[k] += dh[k];
      }
      const scale = 1 / (end - start);
      const step = (w: Float64Array, v: Float64Array, g: Float64Array, l2: number) => {
        for (let i = 0; i < w.length; i++) {
          v[i] = momentum * v[i] - rate * (g[i] * scale + l2 * w[i]);
          w[i] += v[i];
        }
      };
      step(w1, vw1, gw1, decay);
      step(b1, vb1, gb1, 0);
      step(w2, vw2, gw2, decay);
      step(b2, vb2, gb2, 0);
    }
    opts.onEpoch?.(epoch + 1, loss / n);
  }
  return {
    inputs,
    hidden,
    classes,
    w1: Float32Array.from(w1),
    b1: Float32Array.from(b1),
    w2: Float32Array.from(w2),
    b2: Float32Array.from(b2),
  };
}
