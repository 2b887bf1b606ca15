// A small ONNX graph builder for the project's decoder models: nodes are appended in
// topological order, each output named `<scope>/<Op>_output_<n>` as torch.onnx / Optimum name
// them, constants become initializers. The result is a plain ModelProto (onnx-proto).
import { DataType, type AttributeProto, type ModelProto, type NodeProto, type TensorProto, type ValueInfoProto } from "../onnx/model.ts";

/** Opset the decoder graphs import (Reshape allowzero 14, ReduceMean axes attribute ≤ 17). */
export const DECODER_OPSET = 17;
/** IR version matching opset 17 (ONNX 1.12+). */
export const DECODER_IR_VERSION = 8;

const raw = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

export type AttrValue = number | number[] | string | { float: number };

function attribute(name: string, v: AttrValue): AttributeProto {
  if (typeof v === "string") return { name, type: 3, s: new TextEncoder().encode(v) };
  if (Array.isArray(v)) return { name, type: 7, ints: v };
  if (typeof v === "object") return { name, type: 1, f: v.float };
  return { name, type: 2, i: v };
}

/** A dim: fixed size or a symbolic name. */
export type BuilderDim = number | string;

export function tensorValueInfo(name: string, elemType: number, dims: BuilderDim[]): ValueInfoProto {
  return {
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) } } },
  };
}

export class GraphBuilder {
  readonly nodes: NodeProto[] = [];
  readonly initializers: TensorProto[] = [];
  readonly inputs: ValueInfoProto[] = [];
  readonly outputs: ValueInfoProto[] = [];
  private readonly counters = new Map<string, number>();
  private readonly consts = new Map<string, string>();

  input(name: string, elemType: number, dims: BuilderDim[]): string {
    this.inputs.push(tensorValueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: number, dims: BuilderDim[]): void {
    this.outputs.push(tensorValueInfo(name, elemType, dims));
  }

  /** A float32 weight initializer (the builder keeps a view, not a copy). */
  weight(name: string, dims: number[], data: Float32Array): string {
    this.initializers.push({ name, dims, dataType: DataType.FLOAT, rawData: raw(data) });
    return name;
  }

  /** A shared small constant (deduplicated by value). */
  constInt64(values: number[], scalar = false): string {
    const key = `i64:${scalar}:${values.join(",")}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `/const/int64_${this.consts.size}`;
      this.initializers.push({
        name,
        dims: scalar ? [] : [values.length],
        dataType: DataType.INT64,
        rawData: raw(BigInt64Array.from(values, (v) => BigInt(v))),
      });
      this.consts.set(key, name);
    }
    return name;
  }

  constFloat(values: number[], scalar = true): string {
    const key = `f32:${scalar}:${values.join(",")}`;
    let name = this.consts.get(key);
    if (!name) {
      name = `/const/float_${this.consts.size}`;
      this.initializers.push({
        name,
        dims: scalar ? [] : [values.length],
        dataType: DataType.FLOAT,
        rawData: raw(Float32Array.from(values)),
      });
      this.consts.set(key, name);
    }
    return name;
  }

  /** Appends a node; returns its output names (`outputs` of them, or the given names). */
  op(scope: string, opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string[] {
    const k = `${scope}/${opType}`;
    const n = this.counters.get(k) ?? 0;
    this.counters.set(k, n + 1);
    const base = n === 0 ? `${scope}/${opType}` : `${scope}/${opType}_${n}`;
    const outs = Array.isArray(outputs) ? outputs : Array.from({ length: outputs }, (_, i) => `${base}_output_${i}`);
    this.nodes.push({
      name: base,
      opType,
      input: inputs,
      output: outs,
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return outs;
  }

  /** One-output node. */
  one(scope: string, opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.op(scope, opType, inputs, attrs, output ? [output] : 1)[0];
  }

  model(name: string, docString = ""): ModelProto {
    return {
      irVersion: DECODER_IR_VERSION,
      producerName: "shardmesh",
      docString,
      opsetImport: [{ domain: "", version: DECODER_OPSET }],
      graph: { name, node: this.nodes, initializer: this.initializers, input: this.inputs, output: this.outputs },
    };
  }
}
