// Reference arithmetic of the int8 dense head (docs/PROTOCOL.md, "The int8 dense head").
// The ONNX stage, this function and the circom circuit must agree bit for bit.

export interface Int8DenseParams {
  /** Output size N. */
  readonly outputs: number;
  /** Input size M. */
  readonly inputs: number;
  /** Row-major int8 weights, N×M. */
  readonly weights: Int8Array;
  /** int32 biases, N. */
  readonly bias: Int32Array;
  /** Requantisation multiplier, 0 < MULT < 2^31. */
  readonly mult: number;
  /** Requantisation shift, 1 ≤ SHIFT ≤ 62. */
  readonly shift: number;
  /** Output zero point, int8. */
  readonly zeroPoint: number;
}

/** y = clamp(floor((b + W·x)·MULT + 2^(SHIFT-1)) / 2^SHIFT) + ZP, -128, 127), exactly. */
export function int8DenseReference(p: Int8DenseParams, x: Int8Array): Int8Array {
  if (x.length !== p.inputs) throw new RangeError(`int8 head expects ${p.inputs} inputs, got ${x.length}`);
  const y = new Int8Array(p.outputs);
  const mult = BigInt(p.mult);
  const half = 1n << BigInt(p.shift - 1);
  const shift = BigInt(p.shift);
  for (let i = 0; i < p.outputs; i++) {
    let acc = p.bias[i];
    for (let j = 0; j < p.inputs; j++) acc += p.weights[i * p.inputs + j] * x[j];
    // BigInt `>>` is an arithmetic shift, i.e. floor division by 2^SHIFT for negatives too.
    const q = Number((BigInt(acc) * mult + half) >> shift) + p.zeroPoint;
    y[i] = q < -128 ? -128 : Math.min(q, 127);
  }
  return y;
}
