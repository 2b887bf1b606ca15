// In-process chained pipeline: one StageRunner per stage of a manifest, run in order. Used by
// tests, the benchmark and the mesh's correctness checks (the mesh runs the same stages on
// different providers; this is the single-machine reference).
import { bagHash, type TensorBag } from "../tensor/index.ts";
import { loadManifest, type LoadedManifest } from "./manifest.ts";
import { StageRunner, type RunOptions, type StageRunnerOptions } from "./runner.ts";
import type { Hex } from "viem";

export interface StageTrace {
  stage: number;
  ms: number;
  computeMs: number;
  inputHash?: Hex;
  outputHash?: Hex;
}

export interface PipelineResult {
  outputs: TensorBag;
  stages: StageTrace[];
  totalMs: number;
}

export class ChainedPipeline {
  readonly manifest: LoadedManifest;
  readonly runners: StageRunner[];

  private constructor(manifest: LoadedManifest, runners: StageRunner[]) {
    this.manifest = manifest;
    this.runners = runners;
  }

  /**
   * Loads every stage (hash-checked). By default each stage gets its own runner (its own worker
   * threads), as on separate providers; with `colocate` all stages share each worker and run
   * back to back, as a provider serving consecutive stages would run them.
   */
  static async open(
    manifest: LoadedManifest | string,
    options: StageRunnerOptions & { colocate?: boolean } = {},
  ): Promise<ChainedPipeline> {
    const m = typeof manifest === "string" ? await loadManifest(manifest) : manifest;
    const runners: StageRunner[] = [];
    const { colocate, ...opts } = options;
    try {
      if (colocate) runners.push(await StageRunner.fromManifestRange(m, 0, m.manifest.stages.length - 1, opts));
      else for (let s = 0; s < m.manifest.stages.length; s++) runners.push(await StageRunner.fromManifest(m, s, opts));
    } catch (err) {
      await Promise.all(runners.map((r) => r.close()));
      throw err;
    }
    return new ChainedPipeline(m, runners);
  }

  /** Runs the model inputs through every stage; with `hashes`, records each hop's bagHash. */
  async run(inputs: TensorBag, options: RunOptions & { hashes?: boolean } = {}): Promise<PipelineResult> {
    const t0 = performance.now();
    const stages: StageTrace[] = [];
    let bag = inputs;
    let inputHash = options.hashes ? bagHash(bag) : undefined;
    for (let s = 0; s < this.runners.length; s++) {
      // Hops after the first are produced here and owned by the pipeline: move, don't copy.
      const own = s > 0 ? { transferInputs: true, trusted: true } : {};
      const r = await this.runners[s].runDetailed(bag, { ...options, ...own });
      bag = r.bag;
      const outputHash = options.hashes ? bagHash(bag) : undefined;
      if (r.stageMs.length > 1) {
        // co-located stages: per-stage times from inside the worker; hop hashes are not observable
        for (const [k, ms] of r.stageMs.entries()) {
          stages.push({
            stage: stages.length,
            ms,
            computeMs: ms,
            inputHash: k === 0 ? inputHash : undefined,
            outputHash: k === r.stageMs.length - 1 ? outputHash : undefined,
          });
        }
      } else stages.push({ stage: stages.length, ms: r.totalMs, computeMs: r.computeMs, inputHash, outputHash });
      inputHash = outputHash;
    }
    return { outputs: bag, stages, totalMs: performance.now() - t0 };
  }

  async close(): Promise<void> {
    await Promise.all(this.runners.map((r) => r.close()));
  }
}
