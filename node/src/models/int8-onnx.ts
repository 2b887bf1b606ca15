// The int8 dense head as ONNX, integer ops only, so onnxruntime computes exactly
// int8DenseReference (docs/PROTOCOL.md, "The int8 dense head"):
//
//   acc = MatMulInteger(x, Wᵀ) + b                       int32 (exact while |acc| < 2^31)
//   t   = Cast<int64>(acc) · MULT + 2^(SHIFT-1)           int64 (|t| < 2^62, exact)
//   q   = (t − Mod(t, 2^SHIFT)) / 2^SHIFT                 floor: Mod with fmod=0 takes the sign
//                                                         of the divisor, so t − r is an exact
//                                                         multiple and Div's truncation is moot
//   y   = Cast<int8>(Clip(q + ZP, −128, 127))
import { DataType, encodeModel, type NodeProto, type TensorProto, type ValueInfoProto } from "../onnx/model.ts";
import type { Int8DenseParams } from "./int8.ts";

/** Opset the generated models import (Clip on int64 needs ≥ 12; Mod ≥ 10). */
export const HEAD_OPSET = 13;

/** The head does not meet the bounds that keep onnxruntime's int32/int64 arithmetic exact. */
export class Int8HeadRangeError extends Error {
  override name = "Int8HeadRangeError";
}

const raw = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength).slice();

export function int8Tensor(name: string, dims: number[], values: Int8Array): TensorProto {
  return { name, dims, dataType: DataType.INT8, rawData: raw(values) };
}
export function int32Tensor(name: string, dims: number[], values: Int32Array): TensorProto {
  return { name, dims, dataType: DataType.INT32, rawData: raw(values) };
}
export function int64Tensor(name: string, dims: number[], values: bigint[]): TensorProto {
  return { name, dims, dataType: DataType.INT64, rawData: raw(BigInt64Array.from(values)) };
}
export function floatTensor(name: string, dims: number[], values: ArrayLike<number>): TensorProto {
  return { name, dims, dataType: DataType.FLOAT, rawData: raw(Float32Array.from(values)) };
}
export function valueInfo(name: string, elemType: number, dims: number[]): ValueInfoProto {
  return { name, type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

/** Largest |acc| any int8 input can produce: |b| + M · 128 · 128. */
export function maxAccumulator(head: Int8DenseParams): number {
  let maxBias = 0;
  for (const b of head.bias) maxBias = Math.max(maxBias, Math.abs(b));
  return maxBias + head.inputs * 128 * 128;
}

/** Throws Int8HeadRangeError unless every int8 input keeps |acc| < 2^31 (ORT's int32 accumulator). */
export function checkHeadRange(head: Int8DenseParams): void {
  const acc = maxAccumulator(head);
  if (acc >= 2 ** 31) throw new Int8HeadRangeError(`|acc| can reach ${acc}, must stay below 2^31`);
  if (head.mult <= 0 || head.mult >= 2 ** 31 || head.shift < 1 || head.shift > 62) {
    throw new Int8HeadRangeError(`MULT ${head.mult} / SHIFT ${head.shift} outside (0, 2^31) / [1, 62]`);
  }
}

/** Nodes and initializers computing `output` (int8 [1, N]) from `input` (int8 [1, M]). */
export function int8HeadGraph(
  head: Int8DenseParams,
  input: string,
  output: string,
  prefix = "head",
): { nodes: NodeProto[]; initializers: TensorProto[] } {
  checkHeadRange(head);
  const { outputs: n, inputs: m } = head;
  const p = (s: string) => `${prefix}/${s}`;
  // MatMulInteger wants B as [M, N]: transpose the row-major [N, M] weights.
  const wt = new Int8Array(m * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < m; j++) wt[j * n + i] = head.weights[i * m + j];
  const div = 1n << BigInt(head.shift);
  const initializers = [
    int8Tensor(p("W"), [m, n], wt),
    int32Tensor(p("b"), [n], Int32Array.from(head.bias)),
    int64Tensor(p("mult"), [], [BigInt(head.mult)]),
    int64Tensor(p("half"), [], [div >> 1n]),
    int64Tensor(p("div"), [], [div]),
    int64Tensor(p("zp"), [], [BigInt(head.zeroPoint)]),
    int64Tensor(p("lo"), [], [-128n]),
    int64Tensor(p("hi"), [], [127n]),
  ];
  const node = (opType: string, inputs: string[], out: string, attribute: NodeProto["attribute"] = []): NodeProto => ({
    opType,
    input: inputs,
    output: [out],
    name: p(out.split("/").pop() ?? opType),
    attribute,
  });
  const nodes = [
    node("MatMulInteger", [input, p("W")], p("dot")),
    node("Add", [p("dot"), p("b")], p("acc")),
    node("Cast", [p("acc")], p("acc64"), [{ name: "to", type: 2, i: DataType.INT64 }]),
    node("Mul", [p("acc64"), p("mult")], p("scaled")),
    node("Add", [p("scaled"), p("half")], p("t")),
    node("Mod", [p("t"), p("div")], p("rem"), [{ name: "fmod", type: 2, i: 0 }]),
    node("Sub", [p("t"), p("rem")], p("floored")),
    node("Div", [p("floored"), p("div")], p("q")),
    node("Add", [p("q"), p("zp")], p("qz")),
    node("Clip", [p("qz"), p("lo"), p("hi")], p("clipped")),
    node("Cast", [p("clipped")], output, [{ name: "to", type: 2, i: DataType.INT8 }]),
  ];
  return { nodes, initializers };
}

/** A one-stage model: int8 `input` [1, M] → int8 `output` [1, N]. */
export function buildInt8HeadModel(head: Int8DenseParams, input = "features", output = "logits"): Uint8Array {
  const { nodes, initializers } = int8HeadGraph(head, input, output);
  return encodeModel({
    irVersion: 7,
    producerName: "shardmesh",
    opsetImport: [{ domain: "", version: HEAD_OPSET }],
    graph: {
      name: "int8-head",
      node: nodes,
      initializer: initializers,
      input: [valueInfo(input, DataType.INT8, [1, head.inputs])],
      output: [valueInfo(output, DataType.INT8, [1, head.outputs])],
    },
  });
}
