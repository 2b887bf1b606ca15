// Router: runs a request through every stage of a model, choosing per stage the provider with
// the best expected latency × price × load, and retrying a failed or timed-out hop on another
// provider of the same stage within the same request. Peer scoring: every failure doubles a
// peer's penalty (decaying over PENALTY_HALF_LIFE_MS) and benches it for BENCH_MS, so a slow or
// failing peer is chosen less until it proves itself again; a peer whose stream died is evicted
// from the directory at once (its next announcement re-adds it).
import { logger } from "@libp2p/logger";
import { HOP_TIMEOUT_MS } from "../pipeline/constants.ts";
import {
  BENCH_MS,
  DEFAULT_LATENCY_MS,
  HOP_TIMEOUT_FACTOR,
  HOP_TIMEOUT_MIN_MS,
  HOP_TIMEOUT_SLACK_MS,
  MAX_ATTEMPTS_PER_STAGE,
  MAX_TRACKED_PEERS,
  PENALTY_HALF_LIFE_MS,
  ROUTE_WAIT_MS,
} from "./constants.ts";
import { RouterHandOffError, RouterHashMismatchError, RouterInputRefusedError, RouterNoProviderError } from "./errors.ts";
import { PipelineRemoteError, PipelineStreamClosedError, PipelineTimeoutError } from "../pipeline/errors.ts";
import type { Directory, StageProvider } from "../mesh/directory.ts";
import type { HopPath, PipelineClient } from "../pipeline/client.ts";
import type { LocalStages } from "../pipeline/hop.ts";
import { bagHash } from "../tensor/index.ts";
import { handOffSigner } from "../pipeline/handoff.ts";
import type { SignedJobRequest } from "../pipeline/jobrequest.ts";
import { getAddress, isAddressEqual } from "viem";
import type { Hex, TypedDataDomain } from "viem";
import type { WireBag } from "../tensor/index.ts";

const log = logger("shardmesh:router");

const ZERO_HASH = `0x${"0".repeat(64)}` as const;

/**
 * Errors a stage raises when its input is malformed (the stage runner's and the pipeline's
 * checks). At stage 0 the input is the buyer's: a provider refusing it is not at fault unless
 * another provider then runs the same input (see runStage).
 */
export const INPUT_REFUSALS: ReadonlySet<string> = new Set([
  "TensorShapeError",
  "TensorDtypeError",
  "TensorEncodingError",
  "TensorNotFiniteError",
  "TensorTooLargeError",
  "BagMismatchError",
  "InputMismatchError",
  "InputOutOfBoundsError",
  "InputTooLargeError",
  "PipelineFrameTooLargeError",
  "PipelineTooManyTensorsError",
]);

function refusesInput(err: Error): boolean {
  return INPUT_REFUSALS.has(err instanceof PipelineRemoteError ? err.remoteName : err.name);
}

/**
 * Errors a stage raises when a job request's signatures are missing or not ones it may accept:
 * the upstream's hand-off (pipeline/handoff.ts) or the buyer's JobRequest (pipeline/jobrequest.ts).
 * The caller's fault; the gateway checked both itself, so the refusing provider is charged only if
 * another provider of the stage then runs the request.
 */
export const SIGNATURE_REFUSALS: ReadonlySet<string> = new Set([
  "PipelineHandOffMissingError",
  "PipelineHandOffInvalidError",
  "PipelineJobRequestMissingError",
  "PipelineJobRequestInvalidError",
]);

function refusesSignature(err: Error): boolean {
  return SIGNATURE_REFUSALS.has(err instanceof PipelineRemoteError ? err.remoteName : err.name);
}

interface PeerStats {
  latencyEwma: number;
  samples: number;
  penalty: number;
  penaltyAt: number;
  benchedUntil: number;
  inflight: number;
  served: number;
  failed: number;
}

export interface StageTrace {
  stage: number;
  peerId: string;
  ms: number;
  retries: number;
  inputHash: `0x${string}`;
  outputHash: `0x${string}`;
}

export interface RouteResult {
  output: WireBag;
  stages: StageTrace[];
  requestHash: `0x${string}`;
  responseHash: `0x${string}`;
}

export interface RouterInit {
  /** This node's own stages: they run in process (no network), answering the same call as a remote provider. */
  local?: LocalStages;
  hopTimeoutMaxMs?: number;
  /** Restricts the providers of requests that belong to a job (e.g. to those it accepted quotes from). */
  jobFilter?: JobProviderFilter;
  /** How long a stage with no provider left waits for one (default ROUTE_WAIT_MS). */
  routeWaitMs?: number;
  /** Choice randomness (tests pass a seeded one). */
  random?: () => number;
  /**
   * The job market's EIP-712 domain: with it, every stage but the last of a job request must
   * answer with its HandOff signature over the output received, by the staking address it is
   * listed under (RouterHandOffError otherwise, failed over), which the next hop then carries.
   * Absent (no chain): job requests carry no hand-offs.
   */
  handOffDomain?: TypedDataDomain;
}

/**
 * Which providers may serve a job's requests, per stage (e.g. only those the job accepted a
 * quote from: a receipt part of any other provider is refused on chain).
 */
export type JobProviderFilter = (jobId: string) => Promise<(stage: number, provider: StageProvider) => boolean>;

export class Router {
  private readonly directory: Directory;
  private readonly client: PipelineClient;
  private readonly init: RouterInit;
  private readonly stats = new Map<string, PeerStats>();

  constructor(directory: Directory, client: PipelineClient, init: RouterInit = {}) {
    this.directory = directory;
    this.client = client;
    this.init = init;
  }

  /** Run `input` through every stage of `modelId`. */
  async run(
    modelId: string,
    input: WireBag,
    options: {
      jobId?: string;
      index?: number;
      signal?: AbortSignal;
      hashes?: boolean;
      /** bagHash of `input` when the caller already computed it (hash each byte once). */
      requestHash?: `0x${string}`;
      /** A job request: the buyer's session-key signature over (job, index, requestHash), shown to every stage. */
      jobRequest?: SignedJobRequest;
      /**
       * Serve the stages this node holds itself (when allowed), other providers only on failover.
       * The gateway sets it for job requests: the contract takes a receipt only from a provider
       * with a part in it (JobMarketSubmitterNotProvider), and the gateway is who submits.
       */
      preferSelf?: boolean;
    } = {},
  ): Promise<RouteResult> {
    const stageCount = this.directory.stageCount(modelId);
    if (stageCount === 0) throw new RouterNoProviderError(`no provider serves model ${modelId}`);
    // Hashing every hop costs ~20 ms per MiB of tensors; a caller that needs no hashes (and no
    // job trace) can skip it with `hashes: false` (the hashes then read as zero).
    const hashing = options.hashes !== false || options.jobId !== undefined;
    const requestHash = hashing ? (options.requestHash ?? bagHash(input)) : ZERO_HASH;
    const allow = options.jobId !== undefined && this.init.jobFilter ? await this.init.jobFilter(options.jobId) : undefined;
    let bag = input;
    let hash = requestHash;
    let handOff: Hex | undefined;
    const stages: StageTrace[] = [];
    const last = stageCount - 1;
    for (let stage = 0; stage < stageCount; stage++) {
      const handOffs = this.init.handOffDomain && options.jobId ? { upstream: handOff, sign: stage < last } : undefined;
      const hop = await this.runStage(modelId, stage, bag, hash, hashing, options, allow, handOffs);
      stages.push(hop.trace);
      bag = hop.output;
      hash = hop.trace.outputHash;
      handOff = hop.handOff;
    }
    return { output: bag, stages, requestHash, responseHash: stages.length ? stages[stages.length - 1].outputHash : requestHash };
  }

  private async runStage(
    modelId: string,
    stage: number,
    bag: WireBag,
    bagHashHex: `0x${string}`,
    hashing: boolean,
    options: { jobId?: string; index?: number; signal?: AbortSignal; preferSelf?: boolean; jobRequest?: SignedJobRequest },
    allow?: (stage: number, provider: StageProvider) => boolean,
    /** A job request's hand-offs: the upstream's to forward, and whether this stage must sign one. */
    handOffs?: { upstream?: Hex; sign: boolean },
  ): Promise<{ output: WireBag; trace: StageTrace; handOff?: Hex }> {
    const tried = new Set<string>();
    /** Providers behind NAT whose hop already got a second path in this request. */
    const rerouted = new Set<string>();
    let lastError: Error | undefined;
    const local = this.init.local?.serves(modelId, stage) ? this.init.local : undefined;
    // Providers that refused the buyer's input as malformed: charged only if another one runs it.
    const refused: string[] = [];
    // Providers that refused a signature this node checked: charged only if another one runs the request.
    const refusedSignature: string[] = [];
    // Providers whose hop lost its transport (stream closed or reset, dial failed): not charged
    // yet. Such a provider may be gone, or this node's own connections dropped (its event loop or
    // the machine stalled past the ping timeout: then every provider "fails" at once). It is
    // evicted (its connection is dead), and tried once more if it announces itself again within
    // the route wait, on a fresh connection. It is charged if it fails again, or if it has not
    // announced itself again by the time another provider serves the request (unless that one had
    // lost its transport too and came back) or the stage fails.
    const lost: string[] = [];
    const revivable = new Set<string>();
    const retried = new Set<string>();
    // A stage whose providers all dropped out a moment ago (a connection lost under load, an
    // entry not yet refreshed) gets ROUTE_WAIT_MS for one to come back before the request fails,
    // counted from when it ran out of candidates: hops that lost their transport may take seconds
    // to fail (a stalled node finds its streams closed only when it runs again), and a wait counted
    // from the stage's start was then over before the lost providers could announce themselves
    // again (seen under load: "no provider left after 2 attempt(s)", both back 0.5 s later).
    for (let attempt = 0; attempt < MAX_ATTEMPTS_PER_STAGE; attempt++) {
      options.signal?.throwIfAborted();
      const eligible = () =>
        this.directory
          .providers(modelId, stage)
          .filter((p) => (!tried.has(p.peerId) || revivable.has(p.peerId)) && (allow?.(stage, p) ?? true));
      let candidates = eligible();
      const waitUntil = Date.now() + (this.init.routeWaitMs ?? ROUTE_WAIT_MS);
      while (candidates.length === 0 && Date.now() < waitUntil) {
        await new Promise((r) => setTimeout(r, 100));
        options.signal?.throwIfAborted();
        candidates = eligible();
      }
      const self = options.preferSelf && local ? candidates.find((p) => p.peerId === local.peerId) : undefined;
      const choice = self ?? this.choose(candidates);
      if (!choice) break;
      const revived = revivable.delete(choice.peerId);
      if (revived) {
        log("stage %d: %s announced itself again after losing its transport; trying it once more", stage, choice.peerId);
        lost.splice(lost.indexOf(choice.peerId), 1);
      }
      tried.add(choice.peerId);
      const st = this.peer(choice.peerId);
      st.inflight++;
      const started = performance.now();
      try {
        const hop = choice.peerId === local?.peerId ? local : this.client.hop(choice.peerId);
        const res = await hop.call(
          {
            modelId,
            stage,
            bag,
            inputHash: hashing ? bagHashHex : undefined,
            jobId: options.jobId ?? "",
            index: options.index ?? 0,
            upstreamHandOff: handOffs?.upstream,
            jobRequest: options.jobRequest,
          },
          { signal: options.signal, timeoutMs: this.hopTimeout(st, choice) },
        );
        const output = res.bag;
        // The hashes recorded for the buyer and the receipt are of the tensors this gateway sent
        // and actually received, never a provider's claim: a stage that records (and would
        // reveal) honest hashes but sends other tensors is caught here, and failed over, instead
        // of passing its tensors on to the next stage or the buyer under the honest hash. This
        // node's own stages hashed these very bytes in process.
        const inputHash = hashing ? bagHashHex : ZERO_HASH;
        const outputHash = hop === local && res.outputHash ? res.outputHash : hashing ? bagHash(output) : ZERO_HASH;
        if (hashing && ((res.inputHash && res.inputHash !== inputHash) || (res.outputHash && res.outputHash !== outputHash)))
          throw new RouterHashMismatchError(
            `stage ${stage} on ${choice.peerId} claimed input ${res.inputHash ?? "-"} / output ${res.outputHash ?? "-"} but the gateway sent ${inputHash} and received ${outputHash}`,
          );
        // The next stage works only on what this one signed it sent (and shows that at a hand-off
        // claim): the signature must be over the bytes received, by the address the route names.
        if (handOffs?.sign) await this.checkHandOff(choice, options.jobId!, options.index ?? 0, stage, outputHash, res.handOff);
        const ms = performance.now() - started;
        this.succeeded(st, ms);
        for (const p of refused) this.failedOn(p, this.peer(p), new Error(`refused an input ${choice.peerId} ran`));
        for (const p of refusedSignature) this.failedOn(p, this.peer(p), new Error(`refused signatures ${choice.peerId} accepted`));
        // Lost peers that announced themselves again are alive (the loss was this node's): not
        // charged; nor is any lost peer when the one that served had lost its own transport in
        // this request and came back (this node's connections dropped, all at once).
        for (const p of lost)
          if (!revived && !this.directory.has(p))
            this.failedOn(p, this.peer(p), new PipelineStreamClosedError(`lost its hop while ${choice.peerId} served`));
        return { output, trace: { stage, peerId: choice.peerId, ms, retries: attempt, inputHash, outputHash }, handOff: res.handOff };
      } catch (err) {
        if (options.signal?.aborted) throw err;
        lastError = err as Error;
        // A provider behind NAT is reached through a relay: a hop that died with its relay, or a
        // dial through a relay that just went away, lost a path, not the provider. Try it once
        // more (the next dial goes through another relay). Its own errors and slowness are not
        // retried on it.
        const pathLost =
          !(lastError instanceof PipelineRemoteError) &&
          !(lastError instanceof PipelineTimeoutError) &&
          !(lastError instanceof RouterHashMismatchError) &&
          !(lastError instanceof RouterHandOffError);
        const remote = choice.peerId !== local?.peerId;
        if (pathLost && remote && choice.reach === "unreachable" && !rerouted.has(choice.peerId)) {
          rerouted.add(choice.peerId);
          tried.delete(choice.peerId);
          log("hop on %s lost its path (%s), trying another", choice.peerId, lastError.message);
          continue;
        }
        if (stage === 0 && refusesInput(lastError)) refused.push(choice.peerId);
        else if (refusesSignature(lastError)) refusedSignature.push(choice.peerId);
        else if (pathLost && remote && !retried.has(choice.peerId)) {
          retried.add(choice.peerId);
          lost.push(choice.peerId);
          revivable.add(choice.peerId);
          this.directory.evict(choice.peerId);
        } else this.failedOn(choice.peerId, st, lastError);
      } finally {
        st.inflight--;
      }
    }
    for (const p of lost)
      if (!this.directory.has(p)) this.failedOn(p, this.peer(p), lastError ?? new PipelineStreamClosedError("lost its hop"));
    if (refused.length > 0 && refused.length === tried.size) {
      throw new RouterInputRefusedError(
        `every provider of stage ${stage} of ${modelId} refused the input (last: ${lastError?.name}: ${lastError?.message})`,
      );
    }
    throw new RouterNoProviderError(
      `stage ${stage} of ${modelId}: no provider left after ${tried.size} attempt(s)` +
        (lastError ? ` (last: ${lastError.name}: ${lastError.message})` : ""),
    );
  }

  /** RouterHandOffError unless `signature` is `p`'s HandOff of request `index` across cut `stage + 1` over `outputHash`. */
  private async checkHandOff(
    p: StageProvider,
    jobId: string,
    index: number,
    stage: number,
    outputHash: Hex,
    signature?: Hex,
  ): Promise<void> {
    const who = `stage ${stage} on ${p.peerId}`;
    if (!signature) throw new RouterHandOffError(`${who} sent no hand-off for job ${jobId} request ${index}`);
    if (!p.stakingAddress) throw new RouterHandOffError(`${who} is listed under no staking address`);
    let signer: Hex;
    try {
      signer = await handOffSigner(this.init.handOffDomain!, { jobId, index, boundary: stage + 1, hash: outputHash }, signature);
    } catch (err) {
      throw new RouterHandOffError(`${who}: ${(err as Error).message}`);
    }
    if (!isAddressEqual(signer, getAddress(p.stakingAddress)))
      throw new RouterHandOffError(`${who} signed no hand-off over the output received (${outputHash}): the signature is ${signer}'s`);
  }

  /** Expected cost of sending one more request to a provider (lower is better). */
  cost(p: StageProvider, minPrice: bigint): number {
    const st = this.peer(p.peerId);
    const now = Date.now();
    const latency = st.samples > 0 ? st.latencyEwma : p.latencyMs > 0 ? p.latencyMs : DEFAULT_LATENCY_MS;
    const load = 1 + st.inflight + Math.max(0, p.load - st.inflight) / Math.max(1, p.capacity);
    const price = minPrice > 0n ? Number((p.price * 1000n) / minPrice) / 1000 : 1;
    const penalty = 1 + this.penalty(st, now);
    const benched = st.benchedUntil > now ? 1000 : 1;
    return latency * load * price * penalty * benched;
  }

  /** Weighted random choice ∝ 1/cost²: mostly the best provider, some load to the others. */
  choose(candidates: StageProvider[]): StageProvider | undefined {
    if (candidates.length <= 1) return candidates[0];
    // biome-ignore lint/complexity/useMathMinMax: prices are bigint, which Math.min does not take
    const minPrice = candidates.reduce((m, p) => (p.price < m ? p.price : m), candidates[0].price);
    const weights = candidates.map((p) => 1 / this.cost(p, minPrice) ** 2);
    const total = weights.reduce((a, b) => a + b, 0);
    let r = (this.init.random ?? Math.random)() * total;
    for (let i = 0; i < candidates.length; i++) {
      r -= weights[i];
      if (r <= 0) return candidates[i];
    }
    return candidates[candidates.length - 1];
  }

  private hopTimeout(st: PeerStats, p: StageProvider): number {
    const expected = st.samples > 0 ? st.latencyEwma : p.latencyMs > 0 ? p.latencyMs : DEFAULT_LATENCY_MS;
    const max = this.init.hopTimeoutMaxMs ?? HOP_TIMEOUT_MS;
    return Math.round(Math.min(max, Math.max(HOP_TIMEOUT_MIN_MS, HOP_TIMEOUT_FACTOR * expected + HOP_TIMEOUT_SLACK_MS)));
  }

  private peer(peerId: string): PeerStats {
    let st = this.stats.get(peerId);
    if (!st) {
      // Bounded: figures of peers that left the directory and have nothing in flight go first.
      if (this.stats.size >= MAX_TRACKED_PEERS) {
        for (const [id, s] of this.stats) if (s.inflight === 0 && !this.directory.has(id)) this.stats.delete(id);
      }
      st = { latencyEwma: 0, samples: 0, penalty: 0, penaltyAt: 0, benchedUntil: 0, inflight: 0, served: 0, failed: 0 };
      this.stats.set(peerId, st);
    }
    return st;
  }

  private penalty(st: PeerStats, now: number): number {
    return st.penalty * 0.5 ** ((now - st.penaltyAt) / PENALTY_HALF_LIFE_MS);
  }

  private succeeded(st: PeerStats, ms: number): void {
    st.latencyEwma = st.samples === 0 ? ms : 0.8 * st.latencyEwma + 0.2 * ms;
    st.samples++;
    st.served++;
  }

  private failedOn(peerId: string, st: PeerStats, err: Error): void {
    const now = Date.now();
    st.failed++;
    st.penalty = Math.max(1, 2 * this.penalty(st, now));
    st.penaltyAt = now;
    st.benchedUntil = now + BENCH_MS;
    log("hop on %s failed (%s: %s)", peerId, err.name, err.message);
    const transportDead =
      err instanceof PipelineStreamClosedError || (!(err instanceof PipelineRemoteError) && /ECONNREFUSED|dial|connect/i.test(err.message));
    if (transportDead) this.directory.evict(peerId);
  }

  /** How the open hop to a peer carries tensors (pipeline/client.ts HopPath), if one is open. */
  path(peerId: string): HopPath | undefined {
    return this.client.path(peerId);
  }

  /** The relay the open hop to a peer runs through, if relayed. */
  via(peerId: string): string | undefined {
    return this.client.via(peerId);
  }

  /** Per-peer figures for `mesh status` and the gateway. */
  peerStats(): Record<string, { latencyMs: number; inflight: number; served: number; failed: number; penalty: number }> {
    const now = Date.now();
    const out: Record<string, { latencyMs: number; inflight: number; served: number; failed: number; penalty: number }> = {};
    for (const [id, st] of this.stats) {
      out[id] = {
        latencyMs: Math.round(st.latencyEwma * 10) / 10,
        inflight: st.inflight,
        served: st.served,
        failed: st.failed,
        penalty: Math.round(this.penalty(st, now) * 100) / 100,
      };
    }
    return out;
  }
}
