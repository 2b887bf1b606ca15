// Who a provider serves over the pipeline protocol (docs/PROTOCOL.md, "Who is served"): a peer's
// request runs only
//   - within a job this provider is part of at that stage (on chain: it has terms in the job), its
//     traced tensors capped by what the job can use (maxUnits × the hop's bound in and out); or
//   - outside any job, under the free tier the operator configures: a token bucket per peer
//     (FREE_TIER_PER_SECOND, 0 = none), for peers the directory lists (staked, bound), and
//     nothing is traced for it;
// and on an unstaked development mesh (no chain) any job id is taken, its trace capped by
// DEV_TRACE_BYTES_PER_JOB. Every peer's traced bytes are capped by MAX_TRACE_BYTES_PER_PEER per
// retention window. The job admission of the trust work (per-request buyer signatures, upstream
// hand-off signatures) belongs here too, in `admit`.
// State is keyed by what peers send (job ids, peer ids): every map is bounded.
import { PipelineNotAdmittedError, PipelineQuotaError, PipelineRateLimitedError } from "./errors.ts";

/** Free-tier pipeline requests per peer and second, and the burst (a gateway forwards many buyers' unpaid requests). */
export const FREE_TIER_PER_SECOND = 20;
export const FREE_TIER_BURST = 40;
/** Traced bytes (inputs + outputs kept for verifiers) one peer may leave per retention window. */
export const MAX_TRACE_BYTES_PER_PEER = 2 * 1024 ** 3;
/** Traced bytes per job on an unstaked development mesh (no chain says how large the job is). */
export const DEV_TRACE_BYTES_PER_JOB = 512 * 1024 ** 2;
/** How long a job's terms read from chain are trusted, and an absence of terms. */
export const JOB_TERMS_CACHE_MS = 30_000;
export const NO_TERMS_CACHE_MS = 5_000;
/** Peers, jobs and job terms tracked at once (least recently seen dropped first). */
export const MAX_ADMISSION_ENTRIES = 4_096;

/** A provider's terms in a job at one stage (JobMarket.stageTerms): how many units it was quoted for. */
export interface JobTerms {
  maxUnits: number;
}

export interface PipelineAdmissionInit {
  /** Development mesh: any job id is served (its trace capped by DEV_TRACE_BYTES_PER_JOB). */
  unstaked?: boolean;
  /** Whether the directory lists `peerId` (bound on chain to a staked address). */
  listed: (peerId: string) => boolean;
  /** This provider's terms in a job at a stage, from the chain (undefined: not part of it). */
  jobTerms?: (jobId: string, stage: number) => Promise<JobTerms | undefined>;
  /** Largest bag a request of a stage moves in and out (the hop bounds), for the per-job trace cap. */
  stageBytes?: (modelId: string, stage: number) => number | undefined;
  freeTierPerSecond?: number;
  freeTierBurst?: number;
  maxTraceBytesPerPeer?: number;
  /** Window over which traced bytes are counted (the trace store's retention). */
  retentionMs?: number;
}

export interface AdmissionRequest {
  peerId: string;
  modelId: string;
  stage: number;
  /** "" outside any job. */
  jobId: string;
  /** Bytes of the incoming bag. */
  bytes: number;
}

/** A Map used as a bounded LRU: get refreshes, set evicts the least recently used past `max`. */
class Lru<K, V> {
  private readonly map = new Map<K, V>();
  private readonly max: number;
  constructor(max: number) {
    this.max = max;
  }
  get(k: K): V | undefined {
    const v = this.map.get(k);
    if (v !== undefined) {
      this.map.delete(k);
      this.map.set(k, v);
    }
    return v;
  }
  set(k: K, v: V): void {
    this.map.delete(k);
    this.map.set(k, v);
    while (this.map.size > this.max) this.map.delete(this.map.keys().next().value as K);
  }
  get size(): number {
    return this.map.size;
  }
}

export class PipelineAdmission {
  private readonly init: PipelineAdmissionInit;
  private readonly buckets = new Lru<string, { tokens: number; at: number }>(MAX_ADMISSION_ENTRIES);
  private readonly terms = new Lru<string, { terms: Promise<JobTerms | undefined>; at: number }>(MAX_ADMISSION_ENTRIES);
  /** Traced bytes per peer and per job within the current window. */
  private readonly peerBytes = new Lru<string, { bytes: number; since: number }>(MAX_ADMISSION_ENTRIES);
  private readonly jobBytes = new Lru<string, { bytes: number; since: number }>(MAX_ADMISSION_ENTRIES);

  constructor(init: PipelineAdmissionInit) {
    this.init = init;
  }

  /** Admits a peer's request or throws a named refusal (sent back to the caller in an ERROR frame). */
  async admit(req: AdmissionRequest): Promise<void> {
    if (req.jobId === "") return this.freeTier(req.peerId);
    let cap: number;
    if (this.init.jobTerms) {
      if (!/^\d{1,78}$/.test(req.jobId))
        throw new PipelineNotAdmittedError(`job id ${JSON.stringify(req.jobId.slice(0, 80))} is not a market job id`);
      const terms = await this.termsOf(req.jobId, req.stage);
      if (!terms || terms.maxUnits === 0)
        throw new PipelineNotAdmittedError(`this provider has no terms in job ${req.jobId} at stage ${req.stage}`);
      // What the job can make this provider keep: every unit's request at its largest, in and out.
      const perRequest = this.init.stageBytes?.(req.modelId, req.stage);
      cap = perRequest ? terms.maxUnits * perRequest : MAX_TRACE_BYTES_PER_PEER;
    } else if (this.init.unstaked) {
      cap = DEV_TRACE_BYTES_PER_JOB;
    } else {
      throw new PipelineNotAdmittedError("job requests need a chain connection to check the job");
    }
    const now = Date.now();
    const peer = this.window(this.peerBytes, req.peerId, now);
    const maxPeer = this.init.maxTraceBytesPerPeer ?? MAX_TRACE_BYTES_PER_PEER;
    if (peer.bytes + req.bytes > maxPeer)
      throw new PipelineQuotaError(`peer ${req.peerId} has ${peer.bytes} traced bytes here (limit ${maxPeer})`);
    const job = this.window(this.jobBytes, req.jobId, now);
    if (job.bytes + req.bytes > cap) throw new PipelineQuotaError(`job ${req.jobId} has ${job.bytes} traced bytes here (limit ${cap})`);
  }

  /** Counts what a served job request left in the trace. */
  charge(peerId: string, jobId: string, bytes: number): void {
    if (jobId === "") return;
    const now = Date.now();
    this.window(this.peerBytes, peerId, now).bytes += bytes;
    this.window(this.jobBytes, jobId, now).bytes += bytes;
  }

  private window(map: Lru<string, { bytes: number; since: number }>, key: string, now: number): { bytes: number; since: number } {
    const retention = this.init.retentionMs ?? 24 * 60 * 60 * 1000;
    let w = map.get(key);
    if (!w || now - w.since > retention) {
      w = { bytes: 0, since: now };
      map.set(key, w);
    }
    return w;
  }

  private termsOf(jobId: string, stage: number): Promise<JobTerms | undefined> {
    const key = `${jobId}#${stage}`;
    const hit = this.terms.get(key);
    const now = Date.now();
    if (hit && now - hit.at < JOB_TERMS_CACHE_MS) return hit.terms;
    const terms = this.init.jobTerms!(jobId, stage).then(
      (t) => {
        // An absence is re-read sooner: the job may open a moment later.
        if (!t || t.maxUnits === 0) this.terms.set(key, { terms: Promise.resolve(t), at: now - JOB_TERMS_CACHE_MS + NO_TERMS_CACHE_MS });
        return t;
      },
      () => undefined,
    );
    this.terms.set(key, { terms, at: now });
    return terms;
  }

  private freeTier(peerId: string): void {
    const perSecond = this.init.freeTierPerSecond ?? FREE_TIER_PER_SECOND;
    if (perSecond <= 0) throw new PipelineNotAdmittedError("this provider serves requests within a job only (no free tier)");
    if (!this.init.unstaked && !this.init.listed(peerId)) {
      throw new PipelineNotAdmittedError(`peer ${peerId} is not a listed (staked) provider: no free tier for it`);
    }
    const burst = Math.max(1, this.init.freeTierBurst ?? FREE_TIER_BURST);
    const now = Date.now();
    const b = this.buckets.get(peerId) ?? { tokens: burst, at: now };
    b.tokens = Math.min(burst, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    this.buckets.set(peerId, b);
    if (b.tokens < 1) throw new PipelineRateLimitedError(`peer ${peerId} is over the free tier of ${perSecond} requests per second`);
    b.tokens -= 1;
  }
}
