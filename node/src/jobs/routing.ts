// Job requests may only be routed to providers the job accepted a quote from (a receipt part of
// any other provider is refused on chain: JobMarketProviderNotQuoted). The Router takes a job
// filter for that; nothing changes for requests without a job.
import { logger } from "@libp2p/logger";
import { getAddress } from "viem";
import type { Address } from "viem";
import type { JobProviderFilter } from "../router/router.ts";
import type { ChainContext } from "./context.ts";

const log = logger("shardmesh:jobs:routing");

/** stage → providers the job accepted quotes from. */
export type QuotedProviders = Map<number, Set<Address>>;

/** Jobs whose quoted providers are cached (least recently used dropped first: job ids come from buyers). */
export const MAX_QUOTED_JOBS_CACHED = 1_024;

/** The job's quoted providers per stage, read from the job's state on chain (fixed when the job opened). */
export class QuotedProvidersCache {
  private readonly chain: ChainContext;
  private readonly cache = new Map<string, Promise<QuotedProviders>>();

  constructor(chain: ChainContext) {
    this.chain = chain;
  }

  get(jobId: string): Promise<QuotedProviders> {
    let p = this.cache.get(jobId);
    if (p)
      this.cache.delete(jobId); // re-inserted last: Map order is least recently used first
    else {
      p = this.load(jobId);
      p.catch(() => this.cache.delete(jobId));
    }
    this.cache.set(jobId, p);
    while (this.cache.size > MAX_QUOTED_JOBS_CACHED) this.cache.delete(this.cache.keys().next().value as string);
    return p;
  }

  /** Jobs cached now. */
  get size(): number {
    return this.cache.size;
  }

  /**
   * Read from the job's state, not its QuoteAccepted events: the providers it accepted quotes from
   * (jobProviders, at most MAX_QUOTES) and, for each, the stages whose terms are set (maxUnits ≠ 0
   * marks an accepted quote). The events meant one getLogs from the JobMarket's deployment block to
   * the latest, which RPCs that cap ranges refuse once the chain is longer than the cap.
   */
  private async load(jobId: string): Promise<QuotedProviders> {
    const market = this.chain.read.market.read;
    const id = BigInt(jobId);
    const [job, providers] = await Promise.all([market.job([id]), market.jobProviders([id])]);
    const out: QuotedProviders = new Map();
    for (const provider of providers) {
      const stages = Array.from({ length: job.stageCount }, (_, s) => s);
      const terms = await Promise.all(stages.map((s) => market.stageTerms([id, BigInt(s), provider])));
      for (const [stage, t] of terms.entries()) {
        if (t.maxUnits === 0) continue;
        if (!out.has(stage)) out.set(stage, new Set());
        out.get(stage)!.add(getAddress(provider));
      }
    }
    return out;
  }
}

/** The router's job filter: a job's requests go only to the providers the job accepted quotes from. */
export function quotedJobFilter(quoted: QuotedProvidersCache): JobProviderFilter {
  return async (jobId) => {
    const allowed = await quoted.get(jobId);
    return (stage, p) => {
      const ok = p.stakingAddress !== undefined && allowed.get(stage)?.has(getAddress(p.stakingAddress)) === true;
      if (!ok) log("job %s stage %d: %s is not quoted", jobId, stage, p.peerId);
      return ok;
    };
  };
}
