// The models a verifier can check: registry model id → shard manifest; one StageRunner per
// (model, stage), created on first use with the manifest's runtime settings (the ones the
// tolerance was established under) and shared by every check. Several verifier services in one
// process may share a catalog.
import { logger } from "@libp2p/logger";
import { loadManifest } from "../inference/manifest.ts";
import type { LoadedManifest } from "../inference/manifest.ts";
import { StageRunner } from "../inference/runner.ts";
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

  async close(): Promise<void> {
    const all = [...this.runners.values()];
    this.runners.clear();
    await Promise.all(all.map((p) => p.then((r) => r.close()).catch(() => {})));
  }
}
