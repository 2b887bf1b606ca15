// Chain support for a provider: staking + peer-id binding (`--register`), on-chain binding
// checks of other peers, and gateway hooks (quotes, receipts). Uses node/src/chain (the
// contracts engineer's helpers) when that module is present in this build.
import { GatewayChainUnavailableError } from "../gateway/errors.ts";
import type { GatewayHooks } from "../gateway/server.ts";
import type { ProviderConfig } from "./config.ts";
import type { Provider } from "./provider.ts";

export interface ChainSupport {
  chainId: number;
  hooks: GatewayHooks;
  checkBinding?: (peerId: string, address: string) => Promise<boolean>;
  register(peerId: string): Promise<void>;
  /** Whether a job can no longer produce or resolve receipts (its trace tensors may go). */
  isJobFinal?: (jobId: string) => Promise<boolean>;
  /** Job protocols (quotes, receipt parts) on the started provider, plus the receipt watcher. */
  attach?: (provider: Provider) => Promise<{ stop(): Promise<void> }>;
}

export async function chainSupport(config: ProviderConfig): Promise<ChainSupport> {
  const path = "../jobs/support.ts";
  let mod: { providerChainSupport?: (c: ProviderConfig) => Promise<ChainSupport> };
  try {
    mod = (await import(path)) as typeof mod;
  } catch (err) {
    throw new GatewayChainUnavailableError(`chain helpers are not available in this build (${(err as Error).message})`);
  }
  if (!mod.providerChainSupport) throw new GatewayChainUnavailableError("node/src/jobs/support.ts lacks providerChainSupport()");
  return mod.providerChainSupport(config);
}
