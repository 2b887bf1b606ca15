// Job requests may only be routed to providers the job accepted a quote from (a receipt part of
// any other provider is refused on chain: JobMarketProviderNotQuoted). The mesh's Router has no
// per-request provider filter yet, so this module wraps the provider's `router.run` (requests
// with a jobId run inside an AsyncLocalStorage scope holding the job's quoted providers) and
// `directory.providers` (filtered by that scope). Stopgap until the Router takes an `allow`
// option; nothing changes for requests without a job.
import { AsyncLocalStorage } from "node:async_hooks";
import { logger } from "@libp2p/logger";
import { getAddress } from "viem";
import type { Address } from "viem";
import type { Provider } from "../provider/provider.ts";
import type { ChainContext } from "./context.ts";

const log = logger("shardmesh:jobs:routing");

/** stage → providers the job accepted quotes from. */
export type QuotedProviders = Map<number, Set<Address>>;

/** The job's quoted providers per stage, from its QuoteAccepted events (fixed when the job opened). */
export class QuotedProvidersCache {
  private readonly chain: ChainContext;
  private readonly cache = new Map<string, Promise<QuotedProviders>>();

  constructor(chain: ChainContext) {
    this.chain = chain;
  }

  get(jobId: string): Promise<QuotedProviders> {
    let p = this.cache.get(jobId);
    if (!p) {
      p = this.load(jobId);
      this.cache.set(jobId, p);
      p.catch(() => this.cache.delete(jobId));
    }
    return p;
  }

  private async load(jobId: string): Promise<QuotedProviders> {
    const logs = await this.chain.read.market.getEvents.QuoteAccepted(
      { jobId: BigInt(jobId) },
      { fromBlock: BigInt(this.chain.deployment.contracts.JobMarket.blockNumber), toBlock: "latest" },
    );
    const out: QuotedProviders = new Map();
    for (const l of logs) {
      const stage = Number(l.args.stage);
      if (!out.has(stage)) out.set(stage, new Set());
      out.get(stage)!.add(getAddress(l.args.provider!));
    }
    return out;
  }
}

/** Restricts the provider's routing of job requests to the job's quoted providers. */
export function restrictJobRouting(provider: Provider, quoted: QuotedProvidersCache): () => void {
  const scope = new AsyncLocalStorage<QuotedProviders>();
  const router = provider.router;
  const directory = provider.directory;
  const run = router.run;
  const providers = directory.providers;
  router.run = async function (this: typeof router, modelId, input, options = {}) {
    if (options.jobId === undefined) return run.call(this, modelId, input, options);
    const allowed = await quoted.get(options.jobId);
    return scope.run(allowed, () => run.call(this, modelId, input, options));
  };
  directory.providers = function (this: typeof directory, modelId, stage) {
    const all = providers.call(this, modelId, stage);
    const allowed = scope.getStore();
    if (!allowed) return all;
    const set = allowed.get(stage);
    const kept = all.filter((p) => p.stakingAddress !== undefined && set?.has(getAddress(p.stakingAddress)));
    if (kept.length < all.length) log("stage %d: routing among %d quoted of %d providers", stage, kept.length, all.length);
    return kept;
  };
  return () => {
    router.run = run;
    directory.providers = providers;
  };
}
