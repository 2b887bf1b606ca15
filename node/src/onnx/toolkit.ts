// High-level model toolkit: load → normalise → analyse → profile once, then plan and split as
// often as needed, and write stage files plus manifest.json.
import { readFile, mkdir, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { logger } from "@libp2p/logger";
import type { OnProgress } from "../util/progress.ts";
import {
  MANIFEST_FORMAT,
  manifestHash,
  sha256Hex,
  validateManifest,
  type HopInfo,
  type Manifest,
  type RuntimeInfo,
  type StageInfo,
  type TensorInfo,
  type ZkStageInfo,
} from "../inference/manifest.ts";
import { deriveInputBounds, type DimRange, type DimRangeDecl } from "../inference/bounds.ts";
import { analyse, crossing, crossingTotals, type Analysis } from "./analyse.ts";
import { decodeModel, initializerStats, normaliseModel, OnnxModelError, type ModelProto } from "./model.ts";
import { measureNodeLatency, profileModel, runAtDims, type Profile } from "./profile.ts";
import { describePlan, planCuts, type Plan } from "./plan.ts";
import { splitAt, SplitError, type StageGraph } from "./split.ts";
import type { Hex } from "viem";

const log = logger("shardmesh:onnx");

export interface LoadOptions {
  /** Model name for the manifest (default: file name without .onnx). */
  name?: string;
  /** Concrete dims for the profiling run, per model input (default: symbolic dims → 1 / 64). */
  probeInputs?: Record<string, number[]>;
  onProgress?: OnProgress;
}

export interface PlanOptions {
  stages: number;
  /** Balance estimated FLOPs (default) or latency measured with measureLatency(). */
  cost?: "flops" | "latency";
  speeds?: number[];
  slack?: number;
}

export interface SplitOptions {
  runtime?: Partial<RuntimeInfo>;
  /**
   * Declare every stage input/output with the dims observed at the probe input (no symbolic
   * dims): onnxruntime can then plan memory statically. Stages then accept only that shape.
   */
  staticShapes?: boolean;
  zk?: ZkStageInfo;
  /** Request ranges of dynamic dims that override the derived ones (bounds.ts). */
  dimRanges?: DimRangeDecl[];
  onProgress?: OnProgress;
}

export interface SplitResult {
  manifest: Manifest;
  hash: Hex;
  stages: StageGraph[];
}

export const DEFAULT_RUNTIME: RuntimeInfo = { graphOptimizationLevel: "all", tolerance: 1e-4 };

export class ModelToolkit {
  readonly name: string;
  readonly sha256: string;
  readonly sourceBytes: number;
  readonly model: ModelProto;
  readonly analysis: Analysis;
  readonly profile: Profile;
  /** Bytes crossing each cut 0..n at the probe input; Infinity where a non-tensor would cross. */
  readonly crossBytes: number[];

  private constructor(name: string, bytes: Uint8Array, model: ModelProto, analysis: Analysis, profile: Profile) {
    this.name = name;
    this.sha256 = sha256Hex(bytes);
    this.sourceBytes = bytes.byteLength;
    this.model = model;
    this.analysis = analysis;
    this.profile = profile;
    this.crossBytes = crossingTotals(analysis, (t) => profile.bytes.get(t) ?? Infinity);
  }

  static async load(source: Uint8Array | string, options: LoadOptions = {}): Promise<ModelToolkit> {
    const progress = options.onProgress ?? (() => {});
    let bytes: Uint8Array;
    if (typeof source === "string") {
      try {
        bytes = new Uint8Array(await readFile(source));
      } catch (err) {
        throw new OnnxModelError(`cannot read ${source}: ${(err as Error).message}`);
      }
    } else bytes = source;
    const name = options.name ?? (typeof source === "string" ? basename(source).replace(/\.onnx$/, "") : "model");
    progress({ phase: "load", done: 0, total: 3, detail: name });
    const model = normaliseModel(decodeModel(bytes));
    progress({ phase: "load", done: 1, total: 3, detail: "analyse" });
    const analysis = analyse(model);
    progress({ phase: "load", done: 2, total: 3, detail: "profile" });
    const profile = await profileModel(model, analysis, options.probeInputs);
    progress({ phase: "load", done: 3, total: 3 });
    log("loaded %s: %d nodes, %d tensors profiled", name, analysis.n, profile.dims.size);
    return new ModelToolkit(name, bytes, model, analysis, profile);
  }

  get nodeCount(): number {
    return this.analysis.n;
  }

  get totalFlops(): number {
    return this.profile.flops.reduce((a, b) => a + b, 0);
  }

  /** Inputs, outputs, op histogram, parameters and FLOPs. */
  inspect() {
    const ops = new Map<string, number>();
    for (const n of this.model.graph!.node ?? []) ops.set(n.opType ?? "?", (ops.get(n.opType ?? "?") ?? 0) + 1);
    const singleCuts = Array.from({ length: this.nodeCount - 1 }, (_, i) => i + 1).filter(
      (c) => crossing(this.analysis, c).length === 1,
    ).length;
    return {
      name: this.name,
      sha256: this.sha256,
      bytes: this.sourceBytes,
      opset: (this.model.opsetImport ?? []).map((o) => `${o.domain || "ai.onnx"}:${Number(o.version)}`),
      inputs: this.analysis.graphInputs.map((x) => this.profile.types.get(x)!),
      outputs: this.analysis.graphOutputs.map((x) => this.profile.types.get(x)!),
      nodes: this.nodeCount,
      ops: Object.fromEntries([...ops].sort((a, b) => b[1] - a[1])),
      params: initializerStats(this.model).params,
      weightBytes: initializerStats(this.model).bytes,
      flops: this.totalFlops,
      probeInputs: this.profile.probeInputs,
      singleTensorCuts: singleCuts,
    };
  }

  /** Per-node latency in µs measured by onnxruntime's profiler (cached). */
  latency?: number[];

  async measureLatency(runs = 5): Promise<number[]> {
    this.latency ??= await measureNodeLatency(this.model, this.profile.probeInputs, runs);
    return this.latency;
  }

  /** Automatic cuts for `stages` stages (cost-balanced, fewest crossing bytes within the slack). */
  plan(o: PlanOptions): Plan {
    if (o.cost === "latency" && !this.latency) throw new SplitError("call measureLatency() before planning by latency");
    const cost = o.cost === "latency" ? this.latency! : this.profile.flops;
    return planCuts({ cost, crossBytes: this.crossBytes, stages: o.stages, speeds: o.speeds, slack: o.slack });
  }

  /** The cut right after `tensor` is produced, if `tensor` is then the only tensor crossing it. */
  cutAt(tensor: string): number {
    const p = this.analysis.producer.get(tensor);
    if (p === undefined || p < 0 || p + 1 >= this.nodeCount) throw new SplitError(`${tensor} is not produced by an inner node`);
    const live = crossing(this.analysis, p + 1);
    if (live.length !== 1) throw new SplitError(`cut after ${tensor} carries ${live.join(", ")}`);
    return p + 1;
  }

  describe(cuts: number[], speeds?: number[]): Plan {
    return describePlan({ cost: this.profile.flops, crossBytes: this.crossBytes, speeds }, cuts);
  }

  /** Builds stage models and the manifest for explicit cuts (stage file names: <name>.stage<i>.onnx). */
  split(cuts: number[], o: SplitOptions = {}): SplitResult {
    const progress = o.onProgress ?? (() => {});
    const a = this.analysis;
    const bounds = [0, ...cuts, a.n];
    progress({ phase: "split", done: 0, total: bounds.length - 1 });
    const types = o.staticShapes ? this.staticTypes() : this.profile.types;
    const stages = splitAt(this.model, a, types, cuts);
    progress({ phase: "split", done: stages.length, total: stages.length });
    const total = this.totalFlops || 1;
    const producedBy = (t: string) => {
      const p = a.producer.get(t) ?? -1;
      return p < 0 ? -1 : bounds.findIndex((b, i) => p >= b && p < bounds[i + 1]);
    };
    const hops: HopInfo[] = cuts.map((c, i) => {
      const tensors = crossing(a, c).map((t) => ({ ...types.get(t)!, bytes: this.profile.bytes.get(t) ?? 0, producedBy: producedBy(t) }));
      return { index: i, cut: c, tensors, bytes: tensors.reduce((s, t) => s + t.bytes, 0) };
    });
    const stageInfos: StageInfo[] = stages.map((s) => {
      const flops = this.profile.flops.slice(s.nodes[0], s.nodes[1]).reduce((x, y) => x + y, 0);
      return {
        index: s.index,
        file: `${this.name}.stage${s.index}.onnx`,
        sha256: sha256Hex(s.bytes),
        bytes: s.bytes.byteLength,
        nodes: s.nodes,
        inputs: s.inputs,
        outputs: s.outputs,
        forward: s.forward,
        flops,
        costShare: Number((flops / total).toFixed(4)),
        crossingBytes: s.index < hops.length ? hops[s.index].bytes : 0,
      };
    });
    const info = (x: string): TensorInfo => types.get(x)!;
    const manifest: Manifest = {
      format: MANIFEST_FORMAT,
      model: {
        name: this.name,
        sha256: this.sha256,
        bytes: this.sourceBytes,
        inputs: a.graphInputs.map(info),
        outputs: a.graphOutputs.map(info),
        profileInputs: this.profile.probeInputs,
        inputBounds: deriveInputBounds(a.graphInputs.map(info), this.profile.probeInputs, o.dimRanges),
        flops: this.totalFlops,
      },
      runtime: { ...DEFAULT_RUNTIME, ...o.runtime },
      stages: stageInfos,
      hops,
      ...(o.zk ? { zk: o.zk } : {}),
    };
    validateManifest(manifest);
    return { manifest, hash: manifestHash(manifest), stages };
  }

  /**
   * Runs the whole model at the smallest and at the largest request its bounds allow (every
   * dim at its min, then every dim at its max): refuses bounds the model cannot run.
   */
  async checkBounds(inputBounds: Record<string, DimRange[]>): Promise<void> {
    const corner = (k: 0 | 1) => Object.fromEntries(Object.entries(inputBounds).map(([name, dims]) => [name, dims.map((r) => r[k])]));
    await runAtDims(this.model, [corner(0), corner(1)]);
  }

  private staticTypes(): Map<string, TensorInfo> {
    const out = new Map<string, TensorInfo>();
    for (const [name, t] of this.profile.types) {
      const dims = this.profile.dims.get(name);
      out.set(name, dims ? { ...t, shape: [...dims] } : t);
    }
    return out;
  }

  /** Writes stage files and manifest.json into `dir`; returns the manifest path. */
  async write(dir: string, result: SplitResult, onProgress?: OnProgress): Promise<string> {
    await mkdir(dir, { recursive: true });
    const n = result.stages.length;
    for (const [i, s] of result.stages.entries()) {
      onProgress?.({ phase: "write", done: i, total: n + 1, detail: result.manifest.stages[i].file });
      await writeFile(join(dir, result.manifest.stages[i].file), s.bytes);
    }
    const path = join(dir, "manifest.json");
    await writeFile(path, `${JSON.stringify(result.manifest, null, 2)}\n`);
    onProgress?.({ phase: "write", done: n + 1, total: n + 1, detail: "manifest.json" });
    return path;
  }
}
