// Running the verifier inside a provider process (any staked provider verifies others' work):
// the provider's own libp2p node, its staking wallet, the models it already has manifests for.
//   const verifier = await attachVerifier(provider, { ...pc, models: config.models, dataDir: config.dataDir, serial: provider.jobs.serial });
// where `pc` is the provider's ProviderChain (publicClient, wallet, deployment) and `provider.jobs`
// its JobsService (its queue keeps the shared wallet's nonces in order). It never checks
// jobs the provider serves itself (the contracts would refuse its challenge anyway).
import { join } from "node:path";
import type { PublicClient } from "viem";
import type { MeshNode } from "../mesh/node.ts";
import type { ShardWallet } from "../chain/contracts.ts";
import type { Deployment } from "../chain/deployments.ts";
import { ModelCatalog } from "./models.ts";
import type { ModelEntry } from "./models.ts";
import { VerifierService } from "./service.ts";
import type { VerifierEvent } from "./service.ts";

export interface AttachVerifierOptions {
  publicClient: PublicClient;
  wallet: ShardWallet;
  deployment: Deployment;
  /** Models to re-execute (a provider's ModelConfig entries fit: modelId + manifest). */
  models: ModelEntry[] | ModelCatalog;
  /** Where vote salts are kept (verifier-state.json). */
  dataDir?: string;
  spotCheckPpm?: number;
  pollMs?: number;
  autoWithdraw?: boolean;
  /** The job watcher's transaction queue (jobs.ledger.serial): one wallet, one nonce sequence. */
  serial?: <T>(fn: () => Promise<T>) => Promise<T>;
  onEvent?: (e: VerifierEvent) => void;
}

export async function attachVerifier(
  provider: { node: MeshNode },
  o: AttachVerifierOptions,
): Promise<{ service: VerifierService; stop(): Promise<void> }> {
  const owned = !(o.models instanceof ModelCatalog);
  const models =
    o.models instanceof ModelCatalog ? o.models : new ModelCatalog(o.models.map((m) => ({ modelId: m.modelId, manifest: m.manifest })));
  const service = new VerifierService({
    node: provider.node,
    publicClient: o.publicClient,
    wallet: o.wallet,
    deployment: o.deployment,
    models,
    spotCheckPpm: o.spotCheckPpm,
    pollMs: o.pollMs,
    autoWithdraw: o.autoWithdraw,
    serial: o.serial,
    stateFile: o.dataDir ? join(o.dataDir, "verifier-state.json") : undefined,
    onEvent: o.onEvent,
  });
  service.start();
  return {
    service,
    async stop() {
      await service.stop();
      if (owned) await models.close();
    },
  };
}
