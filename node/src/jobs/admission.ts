// Job admission: the one owner of a job's request count and of its requests' indices.
//
// A job is named by its id as a number (what signatures and the chain use): "2", "02" and "002"
// are the same job, with one counter. A request is admitted by reserving its units atomically
// (units in flight + units answered ≤ maxUnits, checked and taken with no await in between), so
// concurrent requests can never exceed the job; a request that fails releases its reservation.
// An inference is one unit; a generation reserves its most (prompt tokens + max_tokens) and
// completes with what it used (PROTOCOL, "Paid per token"), the rest going back to the job.
// Each admitted request gets a trace index at once (the stage providers trace it under that; a
// failed request leaves a gap there only) and its request index when it completes: the job's
// answered requests are numbered 0, 1, 2, … with no holes, which is what receipts count.
import type { GatewayRequestRecord } from "../trace/store.ts";
import { JobsInvalidJobIdError, JobsJobUnavailableError, JobsUnitsExceededError } from "./errors.ts";

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
  /** The index the request is traced under by every stage. */
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
  /** maxUnits is fixed when a job opens: read once per job. */
  private readonly limits = new Map<string, Promise<number>>();

  constructor(init: JobAdmissionInit) {
    this.init = init;
  }

  /**
   * Reserves `units` of the job (default 1): JobsJobUnavailableError when the job has none left
   * (all used or in flight), JobsUnitsExceededError when it has some but fewer than asked.
   */
  async admit(id: bigint, units = 1): Promise<Admission> {
    if (!Number.isSafeInteger(units) || units < 1 || units > 0xffffffff)
      throw new JobsUnitsExceededError(`a request reserves 1..2^32 - 1 units, not ${units}`);
    const key = jobKey(id);
    const max = await this.limit(id, key);
    // From here to the reservation nothing awaits: the check and the take are one step.
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
    this.inflight.set(key, running + units);
    const traceIndex = this.init.store.nextTraceIndex(key);
    let open = true;
    const done = (): void => {
      if (!open) throw new Error(`admission of job ${key} trace index ${traceIndex} already ended`);
      open = false;
      const n = (this.inflight.get(key) ?? units) - units;
      if (n > 0) this.inflight.set(key, n);
      else this.inflight.delete(key);
    };
    return {
      jobId: key,
      traceIndex,
      units,
      complete: (record) => {
        const used = record.units ?? units;
        if (!Number.isSafeInteger(used) || used < 1 || used > units)
          throw new JobsUnitsExceededError(`request of job ${key} used ${used} units, 1..${units} were reserved`);
        done();
        return this.init.store.recordRequest({ ...record, units: used, jobId: key, traceIndex });
      },
      release: () => {
        if (open) done();
      },
    };
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
