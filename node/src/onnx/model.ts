// Loading, normalising and re-encoding ONNX models with onnx-proto (ONNX 1.10 schema, CJS).
import { createRequire } from "node:module";
import type * as OnnxProto from "onnx-proto";

const require = createRequire(import.meta.url);
export const onnx = (require("onnx-proto") as typeof OnnxProto).onnx;
export type ModelProto = OnnxProto.onnx.IModelProto;
export type GraphProto = OnnxProto.onnx.IGraphProto;
export type NodeProto = OnnxProto.onnx.INodeProto;
export type TensorProto = OnnxProto.onnx.ITensorProto;
export type ValueInfoProto = OnnxProto.onnx.IValueInfoProto;
export type AttributeProto = OnnxProto.onnx.IAttributeProto;

export const DataType = onnx.TensorProto.DataType;
export const AttributeType = onnx.AttributeProto.AttributeType;

/** The bytes are not a usable ONNX model (corrupt, truncated, empty graph, not topologically sorted). */
export class OnnxModelError extends Error {
  override name = "OnnxModelError";
}

/** protobufjs decodes int64 as Long; this turns either into a number. */
export function num(x: number | { toNumber(): number } | null | undefined): number {
  if (x === null || x === undefined) return 0;
  return typeof x === "number" ? x : x.toNumber();
}

export function decodeModel(bytes: Uint8Array): ModelProto {
  let m: ModelProto;
  try {
    m = onnx.ModelProto.decode(bytes);
  } catch (err) {
    throw new OnnxModelError(`not an ONNX model (${bytes.byteLength} bytes): ${(err as Error).message}`);
  }
  if (!m.graph?.node || m.graph.node.length === 0) throw new OnnxModelError("ONNX model has no graph nodes");
  if (!m.opsetImport || m.opsetImport.length === 0) throw new OnnxModelError("ONNX model has no opset import");
  if (!m.graph.output || m.graph.output.length === 0) throw new OnnxModelError("ONNX model has no graph outputs");
  return m;
}

export function encodeModel(m: ModelProto): Uint8Array {
  return onnx.ModelProto.encode(m).finish();
}

const int64Tensor = (name: string, dims: number[], values: ArrayLike<number | { toNumber(): number }>): TensorProto => {
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(num(values[i]));
  return { name, dims, dataType: DataType.INT64, rawData: new Uint8Array(data.buffer) };
};
const floatTensor = (name: string, dims: number[], values: ArrayLike<number>): TensorProto => {
  const data = Float32Array.from(values);
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer) };
};

/** The tensor a Constant node defines, or null if it is not a plain numeric constant. */
function constantTensor(node: NodeProto): TensorProto | null {
  const out = node.output?.[0];
  const attr = node.attribute?.[0];
  if (!out || !attr || (node.attribute?.length ?? 0) !== 1) return null;
  switch (attr.name) {
    case "value":
      return attr.t ? { ...attr.t, name: out } : null;
    case "value_float":
      return floatTensor(out, [], [attr.f ?? 0]);
    case "value_floats":
      return floatTensor(out, [attr.floats?.length ?? 0], attr.floats ?? []);
    case "value_int":
      return int64Tensor(out, [], [attr.i ?? 0]);
    case "value_ints":
      return int64Tensor(out, [attr.ints?.length ?? 0], attr.ints ?? []);
    default:
      return null;
  }
}

/**
 * Returns a copy of the model whose top-level Constant nodes are initializers (paddle2onnx keeps
 * all weights in Constant nodes; left as nodes they would "cross" cuts like activations), and
 * whose graph inputs no longer list initializers (old IR style).
 */
export function normaliseModel(m: ModelProto): ModelProto {
  const g = m.graph!;
  const outputs = new Set((g.output ?? []).map((o) => o.name));
  const initializer = [...(g.initializer ?? [])];
  const node: NodeProto[] = [];
  for (const n of g.node ?? []) {
    if (n.opType === "Constant" && (n.domain ?? "") === "" && !outputs.has(n.output?.[0])) {
      const t = constantTensor(n);
      if (t) {
        initializer.push(t);
        continue;
      }
    }
    node.push(n);
  }
  const inits = new Set(initializer.map((t) => t.name));
  const input = (g.input ?? []).filter((i) => !inits.has(i.name));
  return { ...m, graph: { ...g, node, initializer, input } };
}

/** Names a subgraph uses from its enclosing scopes (implicit captures of If/Loop/Scan bodies). */
export function outerRefs(g: GraphProto): Set<string> {
  const defined = new Set<string>();
  for (const i of g.input ?? []) defined.add(i.name ?? "");
  for (const t of g.initializer ?? []) defined.add(t.name ?? "");
  for (const n of g.node ?? []) for (const o of n.output ?? []) defined.add(o);
  const refs = new Set<string>();
  for (const n of g.node ?? []) {
    for (const i of n.input ?? []) if (i && !defined.has(i)) refs.add(i);
    for (const r of nodeCaptures(n)) if (!defined.has(r)) refs.add(r);
  }
  return refs;
}

/** Outer names captured by a node's GRAPH/GRAPHS attributes. */
export function nodeCaptures(n: NodeProto): Set<string> {
  const out = new Set<string>();
  for (const a of n.attribute ?? []) {
    const graphs = [...(a.g ? [a.g] : []), ...(a.graphs ?? [])];
    for (const sg of graphs) for (const r of outerRefs(sg)) out.add(r);
  }
  return out;
}

/** Element type name (onnxruntime naming) of an ONNX data type code, or null if unsupported. */
export function dtypeName(code: number): string | null {
  switch (code) {
    case DataType.FLOAT:
      return "float32";
    case DataType.UINT8:
      return "uint8";
    case DataType.INT8:
      return "int8";
    case DataType.INT32:
      return "int32";
    case DataType.INT64:
      return "int64";
    case DataType.BOOL:
      return "bool";
    case DataType.FLOAT16:
      return "float16";
    case DataType.DOUBLE:
      return "float64";
    default:
      return null;
  }
}

/** Parameter count and bytes held by initializers. */
export function initializerStats(m: ModelProto): { params: number; bytes: number } {
  let params = 0;
  let bytes = 0;
  for (const t of m.graph?.initializer ?? []) {
    const n = (t.dims ?? []).reduce<number>((a, d) => a * num(d), 1);
    params += n;
    bytes += t.rawData?.byteLength ?? n * 4;
  }
  return { params, bytes };
}
