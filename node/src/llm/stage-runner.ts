// Stateful decoder stage runner: one stage of a split decoder (or a whole with-past decoder)
// serving generation sessions. A session keeps its stage's KV cache between steps, in the
// worker thread that runs it; only the hop tensors (hidden state, attention_mask,
// position_ids) travel.
//
//   open(id, { maxLength })   reserves maxLength × kvBytesPerToken of the stage's KV budget
//                             (refused by name when the budget or the session limit is full)
//   step(id, { stepId, position, bag })
//                             position = tokens already in the cache before this step: a
//                             prefill is position 0 with the prompt, a decode step one token;
//                             position < cached length rolls the cache back first; a gap is
//                             refused. Step ids increase; resending the last step returns its
//                             result again without running it; an older id is refused.
//   close(id)                 frees the reservation; sessions idle past their TTL expire.
//
// A paid session (open with `trace`) keeps, per position, the hidden state in and out
// (./trace.ts) and hands the record to `onTrace` when it ends (closed, expired or lost); with a
// `seal` (./handoff.ts) only once sealed, and endSession returns the stage's own hand-off.
//
// Memory: a reservation is an upper bound on the cache a session can hold (ORT's present
// tensor of length T is T × kvBytesPerToken; during a step the old and new caches coexist, so
// the peak is twice the largest session's). freeKvBytes() is what the provider advertises.
import { Worker } from "node:worker_threads";
import { readFile } from "node:fs/promises";
import { logger } from "@libp2p/logger";
import { InferenceAbortedError, InferenceTimeoutError, RunnerClosedError, SessionError } from "../inference/errors.ts";
import { TensorDtypeError, TensorShapeError } from "../tensor/index.ts";
import { loadStageFile, type CacheTensorInfo, type LoadedManifest, type TensorInfo } from "../inference/manifest.ts";
import { sessionOptions, toFeed, type GraphOptimizationLevel, type WireFeed } from "../inference/session.ts";
import { validateTensor, type Tensor, type TensorBag } from "../tensor/index.ts";
import {
  DuplicateStepError,
  KvCacheFullError,
  llmErrorByName,
  SessionExistsError,
  SessionLengthError,
  SessionNotFoundError,
  StepPositionError,
} from "./errors.ts";
import { DECODER_NAMES } from "./llama.ts";
import { SessionTrace } from "./trace.ts";
import type { SignedJobRequest } from "../pipeline/jobrequest.ts";
import type { SealedTrace, SessionSeal } from "./handoff.ts";
import type { Hex } from "viem";

const log = logger("shardmesh:llm:stage");

/** Default KV-cache budget of one stage runner. */
export const DEFAULT_KV_BUDGET_BYTES = 256 * 2 ** 20;
/** Default number of sessions one stage runner holds at once. */
export const DEFAULT_MAX_SESSIONS = 64;
/** Default idle time after which a session expires. */
export const DEFAULT_SESSION_TTL_MS = 60_000;
/** Default per-step timeout (queue wait included). */
export const DEFAULT_STEP_TIMEOUT_MS = 30_000;
/** Longest session id accepted. */
export const MAX_SESSION_ID_LENGTH = 128;

export interface DecoderStageOptions {
  /** The stage's cache tensors (from the manifest's stage.cache, or all layers of a whole model). */
  cache: CacheTensorInfo[];
  /** Declared hop inputs (manifest); default: the graph's inputs minus the cache. */
  inputs?: TensorInfo[];
  /** Longest session (positions) the model serves. */
  maxPositions: number;
  kvBudgetBytes?: number;
  maxSessions?: number;
  sessionTtlMs?: number;
  stepTimeoutMs?: number;
  workers?: number;
  intraOpThreads?: number;
  graphOptimizationLevel?: GraphOptimizationLevel;
  label?: string;
  /** Where a paid session's trace goes when it ends (the provider's trace store). */
  onTrace?: (rec: SealedTrace["record"]) => void;
  /**
   * A provider's hand-offs (./handoff.ts): a paid session's record is kept only once sealed —
   * at stage > 0 with the upstream's hand-off over its input — and its own hand-off is returned
   * by endSession. Absent (no chain): records are kept unsealed.
   */
  seal?: SessionSeal;
  /** The owner of traced sessions opened without one (this node's own stage, called in process). */
  selfId?: string;
}

export interface OpenOptions {
  /** Positions (prompt + generated tokens) the session may reach. */
  maxLength: number;
  /** Idle time before expiry (default: the runner's). */
  ttlMs?: number;
  /** A paid session: trace it under (job, the gateway's trace index), owned by `owner` (default: the runner's selfId). */
  trace?: { jobId: string; index: number; owner?: string; jobRequest?: SignedJobRequest };
}

/** What closing a session gave: whether it was open, and a paid session's own hand-off. */
export interface SessionEnd {
  closed: boolean;
  handOff?: Hex;
}

export interface StepInput {
  stepId: number;
  position: number;
  bag: TensorBag;
}

export interface StepResult {
  bag: TensorBag;
  /** Time inside session.run. */
  computeMs: number;
  /** Positions in the cache after the step. */
  length: number;
  /** The step was a resend of the last one: its stored result, not run again. */
  duplicate: boolean;
}

export interface DecoderStageStats {
  sessions: number;
  reservedBytes: number;
  freeBytes: number;
  budgetBytes: number;
  kvBytesPerToken: number;
  steps: number;
  expired: number;
}

interface Session {
  id: string;
  slot: Slot;
  maxLength: number;
  reserved: number;
  ttlMs: number;
  expiresAt: number;
  /** Positions the worker's cache holds (as of the last finished step). */
  length: number;
  lastStepId: number;
  lastPosition: number;
  last?: StepResult;
  /** Tail of this session's step chain (steps of one session run in order). */
  tail: Promise<unknown>;
  closed: boolean;
  trace?: SessionTrace;
}

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve(v: WorkerReply): void; reject(e: Error): void }>;
  sessions: number;
  dead: boolean;
}

type WorkerReply =
  | { id: number; ok: true; outputs?: Record<string, WireFeed>; ms?: number; length?: number }
  | { id: number; ok: false; error: { name: string; message: string } };

const WORKER_URL = new URL("./stage-worker.ts", import.meta.url);

function namedError(e: { name: string; message: string }): Error {
  return llmErrorByName(e.name, e.message) ?? new SessionError(e.message);
}

export class DecoderStageRunner {
  readonly label: string;
  readonly kvBytesPerToken: number;
  /** Hop inputs (manifest's, or the graph's minus the cache). */
  inputs: TensorInfo[];
  readonly maxPositions: number;
  private readonly model: Uint8Array;
  private readonly o: Required<Omit<DecoderStageOptions, "inputs" | "label" | "onTrace" | "selfId" | "seal">>;
  private readonly onTrace: DecoderStageOptions["onTrace"];
  private readonly seal: DecoderStageOptions["seal"];
  private readonly selfId: string;
  private readonly slots: Slot[] = [];
  private readonly sessions = new Map<string, Session>();
  private reserved = 0;
  private nextId = 1;
  private closed = false;
  private steps = 0;
  private expired = 0;
  private readonly janitor: NodeJS.Timeout;

  private constructor(model: Uint8Array, o: DecoderStageOptions) {
    this.model = model;
    this.label = o.label ?? "decoder-stage";
    this.inputs = o.inputs ?? [];
    this.maxPositions = o.maxPositions;
    this.o = {
      cache: o.cache,
      maxPositions: o.maxPositions,
      kvBudgetBytes: o.kvBudgetBytes ?? DEFAULT_KV_BUDGET_BYTES,
      maxSessions: o.maxSessions ?? DEFAULT_MAX_SESSIONS,
      sessionTtlMs: o.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS,
      stepTimeoutMs: o.stepTimeoutMs ?? DEFAULT_STEP_TIMEOUT_MS,
      workers: Math.max(1, o.workers ?? 1),
      intraOpThreads: o.intraOpThreads ?? 1,
      graphOptimizationLevel: o.graphOptimizationLevel ?? "all",
    };
    this.onTrace = o.onTrace;
    this.seal = o.seal;
    this.selfId = o.selfId ?? "self";
    this.kvBytesPerToken = o.cache.reduce((a, c) => a + c.kvHeads * c.headDim * 4, 0);
    this.janitor = setInterval(() => this.sweep(), Math.max(50, Math.min(5_000, this.o.sessionTtlMs / 4)));
    this.janitor.unref();
  }

  static async create(model: Uint8Array | string, o: DecoderStageOptions): Promise<DecoderStageRunner> {
    const bytes = typeof model === "string" ? new Uint8Array(await readFile(model)) : model;
    const r = new DecoderStageRunner(bytes, o);
    try {
      for (let i = 0; i < r.o.workers; i++) r.slots.push(await r.spawn());
    } catch (err) {
      await r.close();
      throw err;
    }
    return r;
  }

  /** Block stage `s` of a decoder manifest. */
  static async fromManifest(m: LoadedManifest, s: number, o: Partial<DecoderStageOptions> = {}): Promise<DecoderStageRunner> {
    const stage = m.manifest.stages[s];
    const dec = m.manifest.decoder;
    if (!stage?.cache || !dec) throw new SessionError(`stage ${s} of ${m.manifest.model.name} is not a decoder stage`);
    return DecoderStageRunner.create(await loadStageFile(m.manifest, m.dir, s), {
      cache: stage.cache,
      inputs: stage.inputs,
      maxPositions: dec.config.maxPositions,
      graphOptimizationLevel: m.manifest.runtime.graphOptimizationLevel,
      label: `${m.manifest.model.name}#${s}`,
      ...o,
    });
  }

  private async spawn(): Promise<Slot> {
    const worker = new Worker(WORKER_URL, {
      workerData: {
        model: this.model,
        cache: this.o.cache,
        options: sessionOptions({ intraOpThreads: this.o.intraOpThreads, graphOptimizationLevel: this.o.graphOptimizationLevel }),
      },
    });
    const slot: Slot = { worker, pending: new Map(), sessions: 0, dead: false };
    await new Promise<void>((resolve, reject) => {
      const onMsg = (m: { type?: string; message?: string; inputs?: TensorInfo[] }) => {
        if (m.type === "ready") {
          if (this.inputs.length === 0 && m.inputs) this.inputs = m.inputs;
          worker.off("message", onMsg);
          resolve();
        } else if (m.type === "fatal") reject(new SessionError(`${this.label}: ${m.message}`));
      };
      worker.on("message", onMsg);
      worker.once("error", reject);
    });
    worker.on("message", (m: WorkerReply) => {
      const p = slot.pending.get(m.id);
      if (!p) return;
      slot.pending.delete(m.id);
      p.resolve(m);
    });
    const die = (why: string) => {
      if (slot.dead) return;
      slot.dead = true;
      for (const p of slot.pending.values()) p.reject(new SessionError(`${this.label}: worker ${why}`));
      slot.pending.clear();
      // Its caches are gone: those sessions end (the gateway replays them elsewhere).
      for (const s of [...this.sessions.values()]) if (s.slot === slot) void this.drop(s).catch(() => {});
      if (!this.closed) {
        const i = this.slots.indexOf(slot);
        this.spawn().then(
          (fresh) => {
            if (i >= 0 && !this.closed) this.slots[i] = fresh;
            else void fresh.worker.terminate();
          },
          (err) => log.error("%s: respawn failed: %s", this.label, (err as Error).message),
        );
      }
    };
    worker.on("error", (err) => die(`failed: ${err.message}`));
    worker.on("exit", (code) => die(`exited (${code})`));
    return slot;
  }

  private call(slot: Slot, msg: Record<string, unknown>, transfer: ArrayBuffer[] = []): Promise<WorkerReply> {
    if (slot.dead) return Promise.reject(new SessionError(`${this.label}: worker is gone`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...msg, id }, transfer);
    });
  }

  /** KV bytes not reserved by open sessions (what the provider advertises). */
  freeKvBytes(): number {
    return Math.max(0, this.o.kvBudgetBytes - this.reserved);
  }

  /** Whether a session of `maxLength` positions could be opened now. */
  canHold(maxLength: number): boolean {
    return this.sessions.size < this.o.maxSessions && maxLength * this.kvBytesPerToken <= this.freeKvBytes();
  }

  stats(): DecoderStageStats {
    return {
      sessions: this.sessions.size,
      reservedBytes: this.reserved,
      freeBytes: this.freeKvBytes(),
      budgetBytes: this.o.kvBudgetBytes,
      kvBytesPerToken: this.kvBytesPerToken,
      steps: this.steps,
      expired: this.expired,
    };
  }

  /** Positions the session's cache holds, or undefined if there is no such session. */
  sessionLength(id: string): number | undefined {
    return this.sessions.get(id)?.length;
  }

  async open(id: string, o: OpenOptions): Promise<{ reservedBytes: number }> {
    if (this.closed) throw new RunnerClosedError(`${this.label} is closed`);
    if (typeof id !== "string" || id.length === 0 || id.length > MAX_SESSION_ID_LENGTH) {
      throw new SessionNotFoundError(`session id must be 1..${MAX_SESSION_ID_LENGTH} characters`);
    }
    if (this.sessions.has(id)) throw new SessionExistsError(`session ${id} is already open`);
    if (!Number.isInteger(o.maxLength) || o.maxLength < 1 || o.maxLength > this.maxPositions) {
      throw new SessionLengthError(`maxLength must be an integer in 1..${this.maxPositions}, got ${o.maxLength}`);
    }
    const need = o.maxLength * this.kvBytesPerToken;
    this.sweep();
    if (this.sessions.size >= this.o.maxSessions)
      throw new KvCacheFullError(`${this.label} holds ${this.sessions.size} sessions (limit ${this.o.maxSessions})`);
    if (need > this.freeKvBytes()) throw new KvCacheFullError(`${this.label}: session needs ${need} KV bytes, ${this.freeKvBytes()} free`);
    const live = this.slots.filter((s) => !s.dead);
    if (live.length === 0) throw new SessionError(`${this.label}: no live worker`);
    const slot = live.reduce((a, b) => (b.sessions < a.sessions ? b : a));
    const ttlMs = Math.max(1, o.ttlMs ?? this.o.sessionTtlMs);
    const s: Session = {
      id,
      slot,
      maxLength: o.maxLength,
      reserved: need,
      ttlMs,
      expiresAt: Date.now() + ttlMs,
      length: 0,
      lastStepId: -1,
      lastPosition: -1,
      tail: Promise.resolve(),
      closed: false,
      trace:
        o.trace && this.onTrace
          ? new SessionTrace({ jobId: o.trace.jobId, index: o.trace.index, owner: o.trace.owner ?? this.selfId }, o.maxLength)
          : undefined,
    };
    this.sessions.set(id, s);
    this.reserved += need;
    slot.sessions++;
    try {
      const r = await this.call(slot, { type: "open", session: id });
      if (!r.ok) throw namedError(r.error);
    } catch (err) {
      void this.drop(s).catch(() => {});
      throw err;
    }
    return { reservedBytes: need };
  }

  /**
   * Ends a session: frees it at once, then keeps its trace (sealed first when the runner has a
   * seal: `upstreamHandOff` is the previous stage's hand-off). Resolves to this stage's own
   * hand-off; rejects when the seal refuses the record (not kept).
   */
  private drop(s: Session, upstreamHandOff?: Hex): Promise<Hex | undefined> {
    if (s.closed) return Promise.resolve(undefined);
    s.closed = true;
    this.sessions.delete(s.id);
    this.reserved -= s.reserved;
    s.slot.sessions--;
    if (!s.slot.dead) this.call(s.slot, { type: "close", session: s.id }).catch(() => {});
    const rec = s.trace?.finish();
    if (!rec) return Promise.resolve(undefined);
    const keep = (r: SealedTrace["record"]) => {
      try {
        this.onTrace?.(r);
      } catch (err) {
        log.error("%s: trace of session %s not kept: %s", this.label, s.id, (err as Error).message);
      }
    };
    if (!this.seal) {
      keep(rec);
      return Promise.resolve(undefined);
    }
    return this.seal(rec, upstreamHandOff).then(
      (sealed) => {
        keep(sealed.record);
        return sealed.handOff;
      },
      (err: Error) => {
        log.error("%s: trace of session %s not kept: %s", this.label, s.id, err.message);
        throw err;
      },
    );
  }

  async closeSession(id: string): Promise<boolean> {
    return (await this.endSession(id)).closed;
  }

  /**
   * Closes a session (a paid one with the previous stage's hand-off) and returns this stage's
   * own hand-off of it (./handoff.ts); rejects, the session closed all the same, when the record
   * is refused for want of a valid upstream hand-off.
   */
  async endSession(id: string, o: { upstreamHandOff?: Hex } = {}): Promise<SessionEnd> {
    const s = this.sessions.get(id);
    if (!s) return { closed: false };
    const handOff = await this.drop(s, o.upstreamHandOff);
    return handOff ? { closed: true, handOff } : { closed: true };
  }

  /** Expires idle sessions (also run by a timer). */
  sweep(now = Date.now()): number {
    let n = 0;
    for (const s of [...this.sessions.values()]) {
      if (s.expiresAt <= now) {
        log("%s: session %s expired", this.label, s.id);
        void this.drop(s).catch(() => {});
        n++;
      }
    }
    this.expired += n;
    return n;
  }

  /**
   * Checks the hop bag against the stage's inputs and the step's position, and completes it:
   * attention_mask (all ones over position + length) and position_ids (position …) may be left
   * out, as a batch-1 session without padding implies them. Returns the bag to run.
   */
  private completeBag(s: Session, position: number, bag: TensorBag): { bag: TensorBag; seq: number } {
    const N = DECODER_NAMES;
    const out: TensorBag = { ...bag };
    const carrier = this.inputs.find((t) => t.shape?.length === 3 || t.name === N.inputIds);
    const ref = bag[N.positionIds] ?? (carrier ? bag[carrier.name] : undefined) ?? Object.values(bag)[0];
    if (!ref || ref.dims.length < 2 || ref.dims[0] !== 1)
      throw new TensorShapeError("a step carries [1, sequence_length, …] tensors (batch 1)");
    const seq = ref.dims[1];
    if (seq < 1) throw new TensorShapeError("a step carries at least one position");
    if (position + seq > s.maxLength) {
      throw new SessionLengthError(`step would reach position ${position + seq}, session ${s.id} is limited to ${s.maxLength}`);
    }
    const pos = bag[N.positionIds];
    if (pos) {
      if (pos.dtype !== "int64" || pos.dims.length !== 2 || pos.dims[0] !== 1 || pos.dims[1] !== seq) {
        throw new TensorShapeError(`${N.positionIds} must be int64 [1, ${seq}]`);
      }
    } else
      out[N.positionIds] = { dtype: "int64", dims: [1, seq], data: BigInt64Array.from({ length: seq }, (_, i) => BigInt(position + i)) };
    const mask = bag[N.attentionMask];
    if (mask) {
      if (mask.dtype !== "int64" || mask.dims.length !== 2 || mask.dims[0] !== 1 || mask.dims[1] !== position + seq) {
        throw new StepPositionError(
          `${N.attentionMask} must be int64 [1, ${position + seq}] at position ${position}, got [${mask.dims.join(",")}]`,
        );
      }
    } else out[N.attentionMask] = { dtype: "int64", dims: [1, position + seq], data: new BigInt64Array(position + seq).fill(1n) };
    for (const t of this.inputs) {
      const x = out[t.name];
      if (!x) throw new TensorShapeError(`missing input ${t.name}`);
      if (x.dtype !== t.dtype) throw new TensorDtypeError(`${t.name} is ${x.dtype}, stage wants ${t.dtype}`);
      if (t.shape && (x.dims.length !== t.shape.length || t.shape.some((d, i) => typeof d === "number" && d !== x.dims[i]))) {
        throw new TensorShapeError(`${t.name} is [${x.dims.join(",")}], stage wants [${t.shape.join(",")}]`);
      }
      if (x.dims[0] !== 1) throw new TensorShapeError(`${t.name}: sessions run batch 1`);
      if (t.name !== N.attentionMask && x.dims[1] !== seq)
        throw new TensorShapeError(`${t.name} has ${x.dims[1]} positions, step has ${seq}`);
      validateTensor(x, {}, t.name);
    }
    for (const name of Object.keys(out)) {
      if (this.inputs.length > 0 && !this.inputs.some((t) => t.name === name)) throw new TensorShapeError(`stage does not take ${name}`);
    }
    return { bag: out, seq };
  }

  step(id: string, input: StepInput, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<StepResult> {
    if (this.closed) return Promise.reject(new RunnerClosedError(`${this.label} is closed`));
    const s = this.sessions.get(id);
    if (!s) return Promise.reject(new SessionNotFoundError(`no session ${id} on ${this.label} (closed or expired)`));
    const run = s.tail.then(() => this.runStep(s, input, opts));
    s.tail = run.catch(() => {});
    return run;
  }

  private async runStep(s: Session, input: StepInput, opts: { signal?: AbortSignal; timeoutMs?: number }): Promise<StepResult> {
    if (s.closed) throw new SessionNotFoundError(`session ${s.id} ended`);
    const { stepId, position } = input;
    if (!Number.isSafeInteger(stepId) || stepId < 0) throw new StepPositionError(`step id must be a non-negative integer`);
    if (stepId === s.lastStepId && position === s.lastPosition && s.last) return { ...s.last, duplicate: true };
    if (stepId <= s.lastStepId) throw new DuplicateStepError(`step ${stepId} of session ${s.id} comes after step ${s.lastStepId}`);
    if (!Number.isInteger(position) || position < 0 || position > s.length) {
      throw new StepPositionError(`step at position ${position}, session ${s.id} holds ${s.length} (a gap)`);
    }
    const { bag, seq } = this.completeBag(s, position, input.bag);
    opts.signal?.throwIfAborted();
    s.expiresAt = Date.now() + s.ttlMs;
    const feeds: Record<string, WireFeed> = {};
    for (const [name, t] of Object.entries(bag)) feeds[name] = toFeed(t);
    const reply = this.call(s.slot, { type: "step", session: s.id, position, feeds });
    const inputBag = bag;
    // The worker's cache advances even if the caller gives up: record the result whenever it lands.
    const applied = reply.then((r) => {
      if (!r.ok) throw namedError(r.error);
      const bag: TensorBag = {};
      for (const [name, f] of Object.entries(r.outputs ?? {})) bag[name] = { dtype: f.dtype, dims: f.dims, data: f.data } as Tensor;
      const res: StepResult = { bag, computeMs: r.ms ?? 0, length: r.length ?? position + seq, duplicate: false };
      s.length = res.length;
      s.lastStepId = stepId;
      s.lastPosition = position;
      s.last = res;
      s.expiresAt = Date.now() + s.ttlMs;
      this.steps++;
      if (s.trace) this.traceStep(s, position, inputBag, res.bag);
      return res;
    });
    return this.bounded(applied, opts);
  }

  /** Adds a step to a paid session's trace (a step the trace cannot take ends the trace, not the session). */
  private traceStep(s: Session, position: number, input: TensorBag, output: TensorBag): void {
    const hidden = (bag: TensorBag) => {
      const e = Object.entries(bag).find(([, t]) => t.dtype === "float32" && t.dims.length === 3);
      return e ? { name: e[0], t: e[1] } : undefined;
    };
    const i = hidden(input);
    const o = hidden(output);
    try {
      if (!i || !o) throw new Error("the step has no float32 [1, n, d] hidden state in and out");
      s.trace!.step(position, i, o);
    } catch (err) {
      log.error("%s: session %s is no longer traced: %s", this.label, s.id, (err as Error).message);
      s.trace = undefined;
    }
  }

  private bounded<T>(p: Promise<T>, opts: { signal?: AbortSignal; timeoutMs?: number }): Promise<T> {
    const ms = opts.timeoutMs ?? this.o.stepTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        cleanup();
        reject(new InferenceTimeoutError(`${this.label}: step did not finish within ${ms} ms`));
      }, ms);
      const onAbort = () => {
        cleanup();
        reject(new InferenceAbortedError(`${this.label}: step aborted`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        opts.signal?.removeEventListener("abort", onAbort);
      };
      opts.signal?.addEventListener("abort", onAbort, { once: true });
      p.then(
        (v) => {
          cleanup();
          resolve(v);
        },
        (e) => {
          cleanup();
          reject(e);
        },
      );
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.janitor);
    for (const s of [...this.sessions.values()]) void this.drop(s).catch(() => {});
    await Promise.all(
      this.slots.map(async (slot) => {
        slot.dead = true;
        for (const p of slot.pending.values()) p.reject(new RunnerClosedError(`${this.label} closed`));
        slot.pending.clear();
        await slot.worker.terminate();
      }),
    );
  }
}
