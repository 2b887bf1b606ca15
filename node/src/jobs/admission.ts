// Job admission: the one owner of a job's request count and of its requests' indices.
//
// A job is named by its id as a number (what signatures and the chain use): "2", "02" and "002"
// are the same job, with one counter. A request is admitted by reserving its units atomically
// (units in flight + units answered ≤ maxUnits, checked and taken with no await in between), so
// concurrent requests can never exceed the job; a request that fails releases its reservation.
// An inference is one unit; a generation reserves its most (prompt tokens + max_tokens) and
// completes with what it used (PROTOCOL, "Paid per token"), the rest going back to the job.
//
// A paid request carries the buyer's nonce, which its session key signed (JobRequest(jobId,
// nonce, requestHash), docs/PROTOCOL.md): a nonce is answered at most once per job, so one
// observed signature buys at most one request (issue 10, item 13). The nonce is taken in the same
// synchronous step as the units: of concurrent copies of one signed request exactly one runs, the
// others are JobsNonceReusedError. A request that fails gives its nonce back with its units (it is
// not billable, and the buyer may retry it with the same signature); an answered one keeps it for
// good. The nonce is the request's trace index: the stage providers trace it under that, and the
// buyer leaf carries it (node/src/receipts/leaves.ts). Buyer-chosen nonces are < the job's
// maxUnits (every request is ≥ 1 unit, so a buyer numbering its requests 0, 1, 2, … never runs
// out); a request without one (development meshes without signatures) gets the next free index.
// Each answered request also gets its request index: the job's answered requests are numbered
// 0, 1, 2, … with no holes whatever nonces they carry, which is what receipts count.
import type { GatewayRequestRecord } from "../trace/store.ts";
import {
  JobsInvalidJobIdError,
  JobsJobUnavailableError,
  JobsNonceOutOfRangeError,
  JobsNonceReusedError,
  JobsUnitsExceededError,
} from "./errors.ts";

/** Largest request nonce (the count and units of a job are uint32 on chain; nonces are below maxUnits). */
export const MAX_REQUEST_NONCE = 0xffffffff - 1;

/** The largest job id (uint256). */
const MAX_JOB_ID = (1n << 256n) - 1n;

/** A job id from text (decimal, leading zeros allowed); JobsInvalidJobIdError otherwise. */
export function parseJobId(raw: string): bigint {
  if (!/^[0-9]{1,80}$/.test(raw)) throw new JobsInvalidJobIdError(`job id ${JSON.stringify(raw.slice(0, 90))} is not a decimal number`);
  const id = BigInt(raw);
  if (id > MAX_JOB_ID) throw new JobsInvalidJobIdError(`job id ${raw} is over 2^256 - 1`);
  return id;
}

/** The one spelling of a job id in stores and on the mesh (decimal, no leading zeros). */
export function jobKey(id: bigint): string {
  return id.toString(10);
}

/** What admission keeps durably (the trace store). */
export interface AdmissionStore {
  requestCount(jobId: string): number;
  /** Units of the job's answered requests. */
  unitsUsed(jobId: string): number;
  nextTraceIndex(jobId: string): number;
  /** Whether a request of the job traced under `traceIndex` (its nonce) was answered. */
  traceIndexAnswered(jobId: string, traceIndex: number): boolean;
  recordRequest(r: Omit<GatewayRequestRecord, "index">): number;
}

export interface JobAdmissionInit {
  store: AdmissionStore;
  /** A job's unit limit (the chain's maxUnits; one unit per inference, one per token of a generation). Without it jobs are unlimited (dev meshes). */
  maxUnits?: (jobId: bigint) => Promise<number>;
}

/** An admitted request: complete it with its record, or release it when it fails. */
export interface Admission {
  /** Canonical job id (jobKey). */
  readonly jobId: string;
  /** The index the request is traced under by every stage: the buyer's nonce. */
  readonly traceIndex: number;
  /** Units reserved for the request. */
  readonly units: number;
  /**
   * Records the answered request and returns its (dense) request index. `units` (default: the
   * reservation) must be 1..reserved; the rest of the reservation goes back to the job.
   */
  complete(record: Omit<GatewayRequestRecord, "jobId" | "index" | "traceIndex" | "units"> & { units?: number }): number;
  /** Gives the units back (the request failed). */
  release(): void;
}

export class JobAdmission {
  private readonly init: JobAdmissionInit;
  private readonly inflight = new Map<string, number>();
  /** Nonces of each job's requests admitted and not yet completed or released. */
  private readonly nonces = new Map<string, Set<number>>();
  /** maxUnits is fixed when a job opens: read once per job. */
  private readonly limits = new Map<string, Promise<number>>();

  constructor(init: JobAdmissionInit) {
    this.init = init;
  }

  /**
   * Reserves `units` of the job (default 1) and its request nonce: JobsJobUnavailableError when
   * the job has no units left (all used or in flight), JobsUnitsExceededError when it has some but
   * fewer than asked, JobsNonceOutOfRangeError for a nonce ≥ the job's maxUnits, and
   * JobsNonceReusedError for a nonce answered or in flight in the job. Without `nonce` (unsigned
   * development jobs) the request gets the job's next free trace index.
   */
  async admit(id: bigint, units = 1, nonce?: number): Promise<Admission> {
    if (!Number.isSafeInteger(units) || units < 1 || units > 0xffffffff)
      throw new JobsUnitsExceededError(`a request reserves 1..2^32 - 1 units, not ${units}`);
    if (nonce !== undefined && (!Number.isSafeInteger(nonce) || nonce < 0 || nonce > MAX_REQUEST_NONCE))
      throw new JobsNonceOutOfRangeError(`a request nonce is an integer 0..${MAX_REQUEST_NONCE}, not ${nonce}`);
    const key = jobKey(id);
    const max = await this.limit(id, key);
    // From here to the reservation nothing awaits: the checks and the takes are one step. A job
    // without units left says so first, whatever nonce the request names.
    const running = this.inflight.get(key) ?? 0;
    const used = this.init.store.unitsUsed(key);
    if (max !== undefined && used + running >= max) {
      throw new JobsJobUnavailableError(
        used >= max
          ? `job ${key} has used all ${max} units`
          : `job ${key} has used all ${max} units or has them in flight (${running} reserved)`,
      );
    }
    if (max !== undefined && used + running + units > max) {
      throw new JobsUnitsExceededError(
        `the request needs up to ${units} units, job ${key} has ${max - used - running} left of ${max} (${used} used, ${running} reserved)`,
      );
    }
    if (nonce !== undefined && max !== undefined && nonce >= max)
      throw new JobsNonceOutOfRangeError(`nonce ${nonce} is not below job ${key}'s ${max} units (number requests 0, 1, 2, …)`);
    const pending = this.nonces.get(key);
    if (nonce !== undefined && (pending?.has(nonce) || this.init.store.traceIndexAnswered(key, nonce)))
      throw new JobsNonceReusedError(
        pending?.has(nonce)
          ? `nonce ${nonce} of job ${key} is in flight: a request is signed for one use`
          : `nonce ${nonce} of job ${key} was answered already: a request is signed for one use`,
      );
    const traceIndex = nonce ?? this.freeIndex(key);
    this.inflight.set(key, running + units);
    const taken = pending ?? new Set<number>();
    taken.add(traceIndex);
    this.nonces.set(key, taken);
    let open = true;
    const done = (): void => {
      if (!open) throw new Error(`admission of job ${key} trace index ${traceIndex} already ended`);
      open = false;
      const n = (this.inflight.get(key) ?? units) - units;
      if (n > 0) this.inflight.set(key, n);
      else this.inflight.delete(key);
      const set = this.nonces.get(key);
      set?.delete(traceIndex);
      if (set?.size === 0) this.nonces.delete(key);
    };
    return {
      jobId: key,
      traceIndex,
      units,
      complete: (record) => {
        const used = record.units ?? units;
        if (!Number.isSafeInteger(used) || used < 1 || used > units)
          throw new JobsUnitsExceededError(`request of job ${key} used ${used} units, 1..${units} were reserved`);
        // Recorded before the nonce leaves the in-flight set: no step between where it is free.
        try {
          return this.init.store.recordRequest({ ...record, units: used, jobId: key, traceIndex });
        } finally {
          done();
        }
      },
      release: () => {
        if (open) done();
      },
    };
  }

  /** The job's next trace index no request holds (answered or in flight): for requests without a nonce. */
  private freeIndex(key: string): number {
    for (;;) {
      const i = this.init.store.nextTraceIndex(key);
      if (!this.nonces.get(key)?.has(i) && !this.init.store.traceIndexAnswered(key, i)) return i;
    }
  }

  /** Units of a job reserved by requests admitted and not yet completed or released. */
  inFlight(id: bigint): number {
    return this.inflight.get(jobKey(id)) ?? 0;
  }

  private limit(id: bigint, key: string): Promise<number> | undefined {
    if (!this.init.maxUnits) return undefined;
    let p = this.limits.get(key);
    if (!p) {
      p = this.init.maxUnits(id);
      this.limits.set(key, p);
      p.catch(() => this.limits.delete(key));
    }
    return p;
  }
}
