// onnxruntime session options for shared CPUs, and the tensor plumbing between the runner and
// its workers (feeds, micro-batch concatenation and splitting along dim 0).
import { allocate, type DType, type Tensor, type TensorBag, type TypedArray } from "../tensor/index.ts";

export type GraphOptimizationLevel = "disabled" | "basic" | "extended" | "all";

/** A tensor as posted to a worker. */
export type WireFeed = { dtype: DType; dims: number[]; data: TypedArray };

/**
 * Tuned for CPUs shared with other work: no thread spinning (2-5x faster when cores are busy),
 * no memory arena (it keeps peak activation memory), one inter-op thread.
 */
export function sessionOptions(o: { intraOpThreads?: number; graphOptimizationLevel?: GraphOptimizationLevel }) {
  return {
    executionProviders: ["cpu"],
    intraOpNumThreads: o.intraOpThreads ?? 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: o.graphOptimizationLevel ?? "all",
    enableCpuMemArena: false,
    logSeverityLevel: 3 as const,
    extra: { session: { intra_op: { allow_spinning: "0" }, inter_op: { allow_spinning: "0" } } },
  };
}

export function toFeed(t: Tensor): WireFeed {
  return { dtype: t.dtype, dims: [...t.dims], data: t.data };
}

export function concat0(ts: Tensor[]): WireFeed {
  const n = ts.reduce((a, t) => a + t.data.length, 0);
  const data = allocate(ts[0].dtype, n);
  let off = 0;
  for (const t of ts) {
    (data as Float32Array).set(t.data as Float32Array, off);
    off += t.data.length;
  }
  return { dtype: ts[0].dtype, dims: [ts.reduce((a, t) => a + t.dims[0], 0), ...ts[0].dims.slice(1)], data };
}

export function split0(outs: ReadonlyArray<readonly [string, Tensor]>, sizes: number[]): TensorBag[] | null {
  const total = sizes.reduce((a, b) => a + b, 0);
  const bags: TensorBag[] = sizes.map(() => ({}));
  for (const [name, t] of outs) {
    if (t.dims[0] !== total) return null;
    const per = t.data.length / total;
    let row = 0;
    sizes.forEach((b, k) => {
      bags[k][name] = { dtype: t.dtype, dims: [b, ...t.dims.slice(1)], data: t.data.slice(row * per, (row + b) * per) as TypedArray };
      row += b;
    });
  }
  return bags;
}
