// Type oracle and cost profile. onnxruntime is the shape inference: every intermediate tensor is
// added as a (typeless) graph output, the session reports element types and symbolic shapes, and
// one probe run on concrete inputs gives real dims, bytes and per-node FLOP estimates.
// onnxruntime reports unknown-rank tensors as shape [] (indistinguishable from a scalar), so a
// reported shape is kept only if its rank and fixed dims agree with the probe run; otherwise the
// tensor is declared with its element type only (shape null).
import * as ort from "onnxruntime-node";
import { allocate, elementCount, DTYPE_SIZE, mulberry32, type DType, type Tensor } from "../tensor/index.ts";
import type { Dim, TensorInfo } from "../inference/manifest.ts";
import { encodeModel, num, OnnxModelError, type ModelProto } from "./model.ts";
import type { Analysis } from "./analyse.ts";

export interface Profile {
  /** Every non-initializer tensor: dtype and declared shape (null = rank unknown). */
  types: Map<string, TensorInfo>;
  /** Dims observed in the probe run. */
  dims: Map<string, number[]>;
  /** Bytes observed in the probe run. */
  bytes: Map<string, number>;
  /** Estimated FLOPs per node at the probe input. */
  flops: number[];
  /** Concrete input dims of the probe run. */
  probeInputs: Record<string, number[]>;
}

/** Default value for a symbolic input dim: 1 for the leading (batch) dim, else 64. */
export function defaultProbeDims(shape: ReadonlyArray<number | string>): number[] {
  return shape.map((d, i) => (typeof d === "number" && d > 0 ? d : i === 0 ? 1 : 64));
}

/** Seeded probe inputs: floats uniform in [0,1), integers zero. */
export function probeTensor(dtype: DType, dims: number[], seed: number): Tensor {
  const n = elementCount(dims);
  const data = allocate(dtype, n);
  if (dtype === "float32" || dtype === "float64") {
    const rnd = mulberry32(seed);
    for (let i = 0; i < n; i++) (data as Float32Array)[i] = rnd();
  }
  return { dtype, dims, data };
}

function toOrt(t: Tensor): ort.Tensor {
  return new ort.Tensor(t.dtype, t.data as never, [...t.dims]);
}

export async function profileModel(m: ModelProto, a: Analysis, probeDims: Record<string, number[]> = {}): Promise<Profile> {
  const g = m.graph!;
  const known = new Set((g.output ?? []).map((o) => o.name ?? ""));
  const extra = a.outputs.flat().filter((x) => !known.has(x));
  const probeModel: ModelProto = { ...m, graph: { ...g, output: [...(g.output ?? []), ...extra.map((name) => ({ name }))] } };
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(encodeModel(probeModel), {
      graphOptimizationLevel: "disabled",
      logSeverityLevel: 3,
      enableCpuMemArena: false,
    });
  } catch (err) {
    throw new OnnxModelError(`onnxruntime cannot load the model: ${(err as Error).message}`);
  }
  try {
    const feeds: Record<string, ort.Tensor> = {};
    const probeInputs: Record<string, number[]> = {};
    const types = new Map<string, TensorInfo>();
    session.inputMetadata.forEach((meta, i) => {
      if (!meta.isTensor) throw new OnnxModelError(`input ${meta.name} is not a tensor`);
      const dims = probeDims[meta.name] ?? defaultProbeDims(meta.shape);
      probeInputs[meta.name] = dims;
      feeds[meta.name] = toOrt(probeTensor(meta.type as DType, dims, i + 1));
      types.set(meta.name, { name: meta.name, dtype: meta.type as DType, shape: [...meta.shape] });
    });
    let out: ort.InferenceSession.ReturnType;
    try {
      out = await session.run(feeds);
    } catch (err) {
      throw new OnnxModelError(`probe run failed (input dims ${JSON.stringify(probeInputs)}): ${(err as Error).message}`);
    }
    const dims = new Map<string, number[]>();
    const bytes = new Map<string, number>();
    for (const [name, f] of Object.entries(feeds)) {
      dims.set(name, [...f.dims]);
      bytes.set(name, f.size * DTYPE_SIZE[f.type as DType]);
    }
    for (const [name, t] of Object.entries(out)) {
      dims.set(name, [...t.dims]);
      bytes.set(name, t.size * (DTYPE_SIZE[t.type as DType] ?? 8));
    }
    for (const meta of session.outputMetadata) {
      if (!meta.isTensor) continue;
      const observed = dims.get(meta.name);
      const shape = [...meta.shape] as Dim[];
      const trusted =
        observed !== undefined && shape.length === observed.length && shape.every((d, i) => typeof d === "string" || d === observed[i]);
      types.set(meta.name, { name: meta.name, dtype: meta.type as DType, shape: trusted ? shape : null });
    }
    const flops = nodeFlops(m, dims);
    return { types, dims, bytes, flops, probeInputs };
  } finally {
    await session.release();
  }
}

/** FLOP estimates: 2·MACs for Conv/ConvTranspose/MatMul/Gemm, output elements for other ops. */
export function nodeFlops(m: ModelProto, dims: Map<string, number[]>): number[] {
  const g = m.graph!;
  const initDims = new Map((g.initializer ?? []).map((t) => [t.name ?? "", (t.dims ?? []).map(num)]));
  const shapeOf = (x: string | undefined) => (x ? (dims.get(x) ?? initDims.get(x)) : undefined);
  const count = (d: number[] | undefined) => (d ? d.reduce((p, v) => p * v, 1) : 0);
  return (g.node ?? []).map((node) => {
    const ins = node.input ?? [];
    const outElems = (node.output ?? []).reduce((s, o) => s + count(shapeOf(o)), 0);
    const w = shapeOf(ins[1]);
    switch (node.opType) {
      case "Conv":
        return w ? 2 * count(shapeOf(node.output?.[0])) * count(w.slice(1)) : outElems;
      case "ConvTranspose":
        return w ? 2 * count(shapeOf(ins[0])) * count(w.slice(1)) : outElems;
      case "MatMul":
      case "MatMulInteger":
      case "Gemm": {
        const A = shapeOf(ins[0]);
        if (!A || A.length === 0) return outElems;
        const transA = (node.attribute ?? []).find((x) => x.name === "transA");
        const k = node.opType === "Gemm" && transA && num(transA.i) === 1 ? A[0] : A[A.length - 1];
        return 2 * count(shapeOf(node.output?.[0])) * k;
      }
      default:
        return outElems;
    }
  });
}

/**
 * Measured per-node latency (µs) from onnxruntime's profiler: the model runs `runs` times with
 * graph optimisation disabled (so kernels map 1:1 to nodes) and each node keeps its fastest
 * time, which is robust to background load. Nodes without a kernel event cost 0.
 */
export async function measureNodeLatency(m: ModelProto, probe: Record<string, number[]>, runs = 5): Promise<number[]> {
  const { mkdtemp, readdir, readFile, rm } = await import("node:fs/promises");
  const { tmpdir } = await import("node:os");
  const { join } = await import("node:path");
  const nodes = m.graph!.node ?? [];
  const named: ModelProto = { ...m, graph: { ...m.graph, node: nodes.map((n, k) => ({ ...n, name: `n${k}` })) } };
  const dir = await mkdtemp(join(tmpdir(), "shardmesh-prof-"));
  const session = await ort.InferenceSession.create(encodeModel(named), {
    graphOptimizationLevel: "disabled",
    logSeverityLevel: 3,
    enableCpuMemArena: false,
    intraOpNumThreads: 1,
    enableProfiling: true,
    profileFilePrefix: join(dir, "p"),
  });
  try {
    const feeds: Record<string, ort.Tensor> = {};
    session.inputMetadata.forEach((meta, i) => {
      if (meta.isTensor) feeds[meta.name] = toOrt(probeTensor(meta.type as DType, probe[meta.name] ?? defaultProbeDims(meta.shape), i + 1));
    });
    for (let r = 0; r < runs; r++) await session.run(feeds);
    session.endProfiling();
    const file = (await readdir(dir)).find((f) => f.endsWith(".json"));
    if (!file) throw new OnnxModelError("onnxruntime wrote no profile");
    const events = JSON.parse(await readFile(join(dir, file), "utf8")) as Array<{ cat?: string; name?: string; dur?: number }>;
    const best = new Array<number>(nodes.length).fill(Infinity);
    for (const e of events) {
      const m2 = e.cat === "Node" && e.name ? /^n(\d+)_kernel_time$/.exec(e.name) : null;
      if (m2 && typeof e.dur === "number") best[Number(m2[1])] = Math.min(best[Number(m2[1])], e.dur);
    }
    return best.map((v) => (Number.isFinite(v) ? v : 0));
  } finally {
    await session.release();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Runs the whole model once at each of the given input dims (the corners of its declared
 * request bounds): `model split` refuses bounds the model itself cannot run, so a request inside
 * them never fails on a provider for its shape. Throws OnnxModelError naming the failing dims.
 */
export async function runAtDims(m: ModelProto, corners: Array<Record<string, number[]>>): Promise<void> {
  const session = await ort.InferenceSession.create(encodeModel(m), {
    graphOptimizationLevel: "disabled",
    logSeverityLevel: 3,
    enableCpuMemArena: false,
  });
  try {
    for (const dims of corners) {
      const feeds: Record<string, ort.Tensor> = {};
      session.inputMetadata.forEach((meta, i) => {
        if (meta.isTensor) feeds[meta.name] = toOrt(probeTensor(meta.type as DType, dims[meta.name], i + 1));
      });
      try {
        await session.run(feeds);
      } catch (err) {
        throw new OnnxModelError(`the model does not run at input dims ${JSON.stringify(dims)}: ${(err as Error).message}`);
      }
    }
  } finally {
    await session.release();
  }
}
