// Builds the ONNX model of stage [a, b): its nodes are the slice, its inputs the tensors the
// slice uses but does not produce, its outputs the tensors it produces that are live across cut b
// (the model outputs for the last stage); tensors live across both a and b that the slice does
// not produce are forwarded by the runtime. Initializers the slice uses (captures included) are
// copied; opset imports, IR version and model-local functions are kept.
import { DTYPE_CODE } from "../tensor/index.ts";
import type { TensorInfo } from "../inference/manifest.ts";
import { crossing, type Analysis } from "./analyse.ts";
import { encodeModel, type ModelProto, type ValueInfoProto } from "./model.ts";

/** A cut list is not valid for this model (out of range, not increasing, crossing a non-tensor). */
export class SplitError extends Error {
  override name = "SplitError";
}

export interface StageGraph {
  index: number;
  nodes: [number, number];
  model: ModelProto;
  bytes: Uint8Array;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  forward: string[];
}

export function valueInfo(t: TensorInfo): ValueInfoProto {
  const tensorType: { elemType: number; shape?: { dim: Array<{ dimValue?: number; dimParam?: string }> } } = {
    elemType: DTYPE_CODE[t.dtype],
  };
  if (t.shape !== null) tensorType.shape = { dim: t.shape.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) };
  return { name: t.name, type: { tensorType } };
}

export function checkCuts(a: Analysis, cuts: readonly number[]): void {
  let prev = 0;
  for (const c of cuts) {
    if (!Number.isInteger(c) || c <= prev || c >= a.n) {
      throw new SplitError(`cuts must be strictly increasing integers in 1..${a.n - 1}; got [${cuts.join(",")}]`);
    }
    prev = c;
  }
}

export function buildStage(
  m: ModelProto,
  a: Analysis,
  types: Map<string, TensorInfo>,
  index: number,
  start: number,
  end: number,
): StageGraph {
  const g = m.graph!;
  const nodes = (g.node ?? []).slice(start, end);
  const produced = new Set<string>();
  for (let k = start; k < end; k++) for (const o of a.outputs[k]) produced.add(o);
  const inputNames: string[] = [];
  const inits = new Set<string>();
  for (let k = start; k < end; k++) {
    for (const x of a.uses[k]) if (!produced.has(x) && !inputNames.includes(x)) inputNames.push(x);
    for (const x of a.initUses[k]) inits.add(x);
  }
  const live = crossing(a, end);
  const outputNames = live.filter((x) => produced.has(x));
  const forward = live.filter((x) => !produced.has(x));
  const info = (x: string): TensorInfo => {
    const t = types.get(x);
    if (!t) throw new SplitError(`no type for tensor ${x} (a non-tensor value cannot cross a cut)`);
    return t;
  };
  const inputs = inputNames.map(info);
  const outputs = outputNames.map(info);
  if (outputs.length === 0) throw new SplitError(`stage ${index} [${start},${end}) produces nothing the next stage needs`);
  const model: ModelProto = {
    ...m,
    graph: {
      ...g,
      name: `${g.name ?? "graph"}_stage${index}`,
      node: nodes,
      input: inputs.map(valueInfo),
      output: outputs.map(valueInfo),
      initializer: (g.initializer ?? []).filter((t) => inits.has(t.name ?? "")),
      valueInfo: [],
      sparseInitializer: [],
    },
  };
  return { index, nodes: [start, end], model, bytes: encodeModel(model), inputs, outputs, forward };
}

/** Stage graphs for cuts c_1 < … < c_{S-1}. */
export function splitAt(m: ModelProto, a: Analysis, types: Map<string, TensorInfo>, cuts: readonly number[]): StageGraph[] {
  checkCuts(a, cuts);
  const bounds = [0, ...cuts, a.n];
  return bounds.slice(0, -1).map((s, i) => buildStage(m, a, types, i, s, bounds[i + 1]));
}
