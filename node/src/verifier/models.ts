// The models a verifier can check: registry model id → shard manifest; one StageRunner per
// (model, stage), created on first use with the manifest's runtime settings (the ones the
// tolerance was established under) and shared by every check. Several verifier services in one
// process may share a catalog.
import { logger } from "@libp2p/logger";
import { loadManifest } from "../inference/manifest.ts";
import type { LoadedManifest } from "../inference/manifest.ts";
import { StageRunner } from "../inference/runner.ts";
import { DecoderStageRunner } from "../llm/stage-runner.ts";
import { VERIFIER_RUN_TIMEOUT_MS } from "./constants.ts";
import { VerifierUnknownModelError } from "./errors.ts";

const log = logger("shardmesh:verifier:models");

export interface ModelEntry {
  /** Registry model id (decimal). */
  modelId: string;
  /** manifest.json of the model's shard plan (stage files next to it). */
  manifest: string;
}

export class ModelCatalog {
  private readonly entries = new Map<string, string>();
  private readonly manifests = new Map<string, Promise<LoadedManifest>>();
  private readonly runners = new Map<string, Promise<StageRunner>>();
  private readonly decoderRunners = new Map<string, Promise<DecoderStageRunner>>();

  constructor(models: ModelEntry[] = []) {
    for (const m of models) this.entries.set(m.modelId, m.manifest);
  }

  has(modelId: string): boolean {
    return this.entries.has(modelId);
  }

  ids(): string[] {
    return [...this.entries.keys()];
  }

  manifest(modelId: string): Promise<LoadedManifest> {
    const path = this.entries.get(modelId);
    if (!path) return Promise.reject(new VerifierUnknownModelError(`no manifest configured for model ${modelId}`));
    let m = this.manifests.get(modelId);
    if (!m) {
      m = loadManifest(path);
      this.manifests.set(modelId, m);
      m.catch(() => this.manifests.delete(modelId));
    }
    return m;
  }

  /** Largest accepted |recomputed - claimed| for the model (its manifest's runtime tolerance). */
  async tolerance(modelId: string): Promise<number> {
    return (await this.manifest(modelId)).manifest.runtime.tolerance;
  }

  /** The stage's runner (stage file sha256-checked against the manifest on first use). */
  runner(modelId: string, stage: number): Promise<StageRunner> {
    const key = `${modelId}/${stage}`;
    let r = this.runners.get(key);
    if (!r) {
      r = this.manifest(modelId).then((lm) => {
        if (!lm.manifest.stages[stage]) throw new VerifierUnknownModelError(`model ${modelId} has no stage ${stage}`);
        log("loading stage %d of model %s", stage, modelId);
        return StageRunner.fromManifest(lm, stage, { label: `verify ${modelId}/${stage}`, workers: 1, timeoutMs: VERIFIER_RUN_TIMEOUT_MS });
      });
      this.runners.set(key, r);
      r.catch(() => this.runners.delete(key));
    }
    return r;
  }

  /** Whether the stage is a decoder block stage (checked from a session's trace, llm/verify.ts). */
  async isDecoderStage(modelId: string, stage: number): Promise<boolean> {
    const lm = await this.manifest(modelId);
    return lm.manifest.decoder !== undefined && lm.manifest.stages[stage]?.cache !== undefined;
  }

  /** A decoder block stage's session runner (re-runs a whole session in one prefill). */
  decoderRunner(modelId: string, stage: number): Promise<DecoderStageRunner> {
    const key = `${modelId}/${stage}`;
    let r = this.decoderRunners.get(key);
    if (!r) {
      r = this.manifest(modelId).then((lm) => {
        if (!lm.manifest.stages[stage]?.cache) throw new VerifierUnknownModelError(`model ${modelId} has no decoder stage ${stage}`);
        log("loading decoder stage %d of model %s", stage, modelId);
        return DecoderStageRunner.fromManifest(lm, stage, {
          label: `verify ${modelId}/${stage}`,
          workers: 1,
          stepTimeoutMs: VERIFIER_RUN_TIMEOUT_MS,
        });
      });
      this.decoderRunners.set(key, r);
      r.catch(() => this.decoderRunners.delete(key));
    }
    return r;
  }

  async close(): Promise<void> {
    const all = [...this.runners.values(), ...this.decoderRunners.values()];
    this.runners.clear();
    this.decoderRunners.clear();
    await Promise.all(all.map((p) => p.then((r) => r.close()).catch(() => {})));
  }
}
