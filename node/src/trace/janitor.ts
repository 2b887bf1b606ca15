// Trace janitor: bounds the disk a provider's trace store uses without losing tensors a receipt may
// still need. Every round it lists the jobs holding tensors older than the retention window and
// drops those tensors for each job `isJobFinal` confirms (node/src/jobs/finality.ts has the rule
// and the contract facts it rests on). Without chain support there are no receipts, so age alone
// decides. A failed finality check never deletes: the job is kept and asked again next round.
// Trace rows (hashes) are never dropped here: receipts and the ledger read them.
import { logger } from "@libp2p/logger";
import type { TraceStore } from "./store.ts";

const log = logger("shardmesh:trace");

/** Default time between janitor rounds. */
export const TRACE_JANITOR_INTERVAL_MS = 10 * 60 * 1000;

export interface TraceJanitorInit {
  /** Whether a job can no longer produce or resolve receipts; omitted = no chain, age alone. */
  isJobFinal?: (jobId: string) => Promise<boolean>;
  /** Time between rounds (default TRACE_JANITOR_INTERVAL_MS). */
  intervalMs?: number;
  /** Tensors younger than this are always kept (default: the store's retentionMs). */
  retentionMs?: number;
  /** Clock, ms since the epoch (tests). */
  now?: () => number;
}

export interface TraceJanitorRound {
  /** Tensors dropped this round. */
  pruned: number;
  /** Jobs past retention kept because `isJobFinal` said a receipt may still need them. */
  keptJobs: number;
  /** Tensors past retention kept for those jobs. */
  keptTensors: number;
  /** Jobs kept because their finality could not be read. */
  errors: number;
}

/** Totals over all rounds, plus the last round. */
export interface TraceJanitorStats extends TraceJanitorRound {
  rounds: number;
  last?: TraceJanitorRound;
}

export class TraceJanitor {
  private readonly store: TraceStore;
  private readonly init: TraceJanitorInit;
  private timer: ReturnType<typeof setInterval> | undefined;
  private running: Promise<TraceJanitorRound> | undefined;
  private stopped = false;
  readonly stats: TraceJanitorStats = { rounds: 0, pruned: 0, keptJobs: 0, keptTensors: 0, errors: 0 };

  constructor(store: TraceStore, init: TraceJanitorInit = {}) {
    this.store = store;
    this.init = init;
  }

  get retentionMs(): number {
    return this.init.retentionMs ?? this.store.retentionMs;
  }

  start(): void {
    if (this.timer) return;
    this.stopped = false;
    this.timer = setInterval(() => void this.round(), this.init.intervalMs ?? TRACE_JANITOR_INTERVAL_MS);
    this.timer.unref();
  }

  /**
   * Stops the timer. A round waiting on a chain read is not awaited (the RPC may hang); it
   * touches the store no more once stopped, so the store may be closed right after.
   */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round now (rounds never overlap: a call during a round returns that round). Never throws. */
  round(): Promise<TraceJanitorRound> {
    this.running ??= this.sweep().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async sweep(): Promise<TraceJanitorRound> {
    const r: TraceJanitorRound = { pruned: 0, keptJobs: 0, keptTensors: 0, errors: 0 };
    try {
      const cutoff = (this.init.now ?? Date.now)() - this.retentionMs;
      for (const jobId of this.store.jobsWithTensorsOlderThan(cutoff)) {
        let final: boolean | undefined = true;
        if (this.init.isJobFinal) {
          try {
            final = await this.init.isJobFinal(jobId);
          } catch (err) {
            final = undefined;
            r.errors++;
            log.error("keeping tensors of job %s: cannot read its state: %s", jobId, (err as Error).message.split("\n")[0]);
          }
          // Stopped while waiting on the chain: the store may be closed already.
          if (this.stopped) break;
          if (final === undefined) continue;
        }
        if (final) {
          r.pruned += this.store.dropTensors(jobId, cutoff);
        } else {
          r.keptJobs++;
          r.keptTensors += this.store.tensorsOlderThan(jobId, cutoff);
        }
      }
    } catch (err) {
      // The store closed under us (provider stopping) or sqlite failed: nothing more this round.
      r.errors++;
      log.error("trace janitor round failed: %s", (err as Error).message);
    }
    this.stats.rounds++;
    this.stats.pruned += r.pruned;
    this.stats.keptJobs += r.keptJobs;
    this.stats.keptTensors += r.keptTensors;
    this.stats.errors += r.errors;
    this.stats.last = r;
    if (r.pruned || r.keptJobs || r.errors) {
      log(
        "pruned %d tensors; kept %d tensors of %d jobs a receipt may still need; %d read errors",
        r.pruned,
        r.keptTensors,
        r.keptJobs,
        r.errors,
      );
    }
    return r;
  }
}
