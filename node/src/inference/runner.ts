// Stage runner: onnxruntime sessions in worker threads, a bounded queue, several requests in
// flight, optional micro-batching along a symbolic batch dim, timeouts and cancellation.
//
// run(bag) takes the whole incoming hop bag (the stage's graph inputs plus tensors it forwards)
// and resolves to the whole outgoing hop bag (the stage's own outputs plus the forwarded
// tensors, which are passed through untouched), as docs/PROTOCOL.md defines hops.
import { Worker } from "node:worker_threads";
import { readFile } from "node:fs/promises";
import { logger } from "@libp2p/logger";
import {
  BagMismatchError,
  InferenceAbortedError,
  InferenceError,
  InferenceTimeoutError,
  RunnerBusyError,
  RunnerClosedError,
  SessionError,
} from "./errors.ts";
import { TensorDtypeError, TensorShapeError } from "../tensor/index.ts";
import { bagBytes, validateTensor, type DType, type Tensor, type TensorBag, type TensorLimits } from "../tensor/index.ts";
import { concat0, sessionOptions, split0, toFeed, type GraphOptimizationLevel, type WireFeed } from "./session.ts";

export { sessionOptions, type GraphOptimizationLevel } from "./session.ts";
import { hopInNames, hopOutNames, loadStageFile, type LoadedManifest, type TensorInfo } from "./manifest.ts";

const log = logger("shardmesh:inference");

export interface StageRunnerOptions {
  /** Sessions (worker threads) serving this stage. Default 1. */
  workers?: number;
  /** onnxruntime intra-op threads per session. Default 1 (shared CPUs). */
  intraOpThreads?: number;
  /** Default "all"; "disabled" makes chained stages bit-exact with the whole model. */
  graphOptimizationLevel?: GraphOptimizationLevel;
  /** Largest number of queued requests merged into one run along dim 0. Default 1 (off). */
  maxBatch?: number;
  /** Requests waiting or running before run() rejects with RunnerBusyError. Default 64. */
  maxQueue?: number;
  /** Input bytes waiting or running before run() rejects with RunnerBusyError. Default 256 MiB. */
  maxQueueBytes?: number;
  /** Per-request timeout (queue wait included). Default 30 s. */
  timeoutMs?: number;
  /** Per-tensor limits for inputs (size, finiteness). */
  limits?: TensorLimits;
  /** Declared inputs (from the manifest); default: what the session reports. */
  inputs?: TensorInfo[];
  /** Hop tensors passed through to the outgoing bag unchanged. Default none. */
  forward?: string[];
  /** Label for logs and errors. */
  label?: string;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Overrides the runner's timeout for this request. */
  timeoutMs?: number;
  /**
   * Move (transfer) the input buffers to the worker instead of copying them: the caller's
   * tensors that are not forwarded become unusable (detached). For pipelines that own their hops.
   */
  transferInputs?: boolean;
  /** Skip the NaN/Inf scan (inputs produced by a trusted local stage). */
  trusted?: boolean;
}

export interface RunResult {
  bag: TensorBag;
  /** Time inside session.run (for a batch: the whole batch's run). */
  computeMs: number;
  /** From run() call to result, queueing included. */
  totalMs: number;
  batchSize: number;
  /** Per-stage time inside the worker (one entry, or one per co-located stage). */
  stageMs: number[];
}

export interface RunnerStats {
  requests: number;
  runs: number;
  queued: number;
  running: number;
  computeMs: number;
  respawns: number;
}

interface PortMeta {
  name: string;
  type: string;
  shape: Array<number | string>;
}

interface Job {
  bag: TensorBag;
  key: string;
  bytes: number;
  start: number;
  resolve(r: RunResult): void;
  reject(e: Error): void;
  settled: boolean;
  transfer: boolean;
  timer?: NodeJS.Timeout;
  onAbort?: () => void;
  signal?: AbortSignal;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  /** Requests of the run in progress (null once they are settled). */
  jobs: Job[] | null;
  runId: number;
  /** A run is executing in the worker (even if its requests were already settled). */
  busy: boolean;
  /** Replaced after a timeout; terminated as soon as its run ends. */
  retired: boolean;
  idle?: () => void;
}

type WorkerMsg =
  | { type: "ready"; inputs: PortMeta[]; outputs: PortMeta[] }
  | { type: "fatal"; message: string }
  | { id: number; ok: true; outputs: Record<string, WireFeed>; ms: number; stageMs: number[] }
  | { id: number; ok: false; error: { name: string; message: string } };

const WORKER_URL = new URL("./worker.ts", import.meta.url);
/** How long close() waits for runs in progress before leaving their workers to finish. */
const CLOSE_WAIT_MS = 10_000;

export class StageRunner {
  readonly label: string;
  /** Graph inputs and outputs as declared (manifest) or reported by onnxruntime. */
  inputs: TensorInfo[] = [];
  outputs: TensorInfo[] = [];
  readonly forward: readonly string[];
  private readonly models: Uint8Array[];
  private readonly chainForward: string[][];
  private readonly opts: Required<Omit<StageRunnerOptions, "inputs" | "forward" | "label" | "limits">> & { limits: TensorLimits };
  private readonly slots: Slot[] = [];
  private readonly queue: Job[] = [];
  private queuedBytes = 0;
  private nextId = 1;
  private closed = false;
  private batchable = false;
  private readonly statsData: RunnerStats = { requests: 0, runs: 0, queued: 0, running: 0, computeMs: 0, respawns: 0 };

  private constructor(models: Uint8Array[], o: StageRunnerOptions, chainForward: string[][] = []) {
    this.models = models;
    this.chainForward = chainForward;
    this.label = o.label ?? "stage";
    this.forward = o.forward ?? [];
    if (o.inputs) this.inputs = o.inputs;
    this.opts = {
      workers: Math.max(1, o.workers ?? 1),
      intraOpThreads: o.intraOpThreads ?? 1,
      graphOptimizationLevel: o.graphOptimizationLevel ?? "all",
      maxBatch: Math.max(1, o.maxBatch ?? 1),
      maxQueue: o.maxQueue ?? 64,
      maxQueueBytes: o.maxQueueBytes ?? 256 * 1024 * 1024,
      timeoutMs: o.timeoutMs ?? 30_000,
      limits: o.limits ?? {},
    };
  }

  /** Starts the workers and resolves once every session is loaded. */
  static async create(model: Uint8Array | string, options: StageRunnerOptions = {}): Promise<StageRunner> {
    const bytes = typeof model === "string" ? new Uint8Array(await readFile(model)) : model;
    return StageRunner.start(new StageRunner([bytes], options));
  }

  private static async start(r: StageRunner): Promise<StageRunner> {
    try {
      await Promise.all(Array.from({ length: r.opts.workers }, () => r.spawn()));
    } catch (err) {
      await r.close();
      throw err;
    }
    return r;
  }

  /**
   * One runner for consecutive stages [from, to] of a manifest, co-located in each worker: the
   * stages run back to back with no thread hand-off. Takes hop `from`'s bag, returns hop `to`'s.
   */
  static async fromManifestRange(m: LoadedManifest, from: number, to: number, options: StageRunnerOptions = {}): Promise<StageRunner> {
    if (from === to) return StageRunner.fromManifest(m, from, options);
    const stages = m.manifest.stages.slice(from, to + 1);
    if (from < 0 || to >= m.manifest.stages.length || stages.length === 0) throw new RangeError(`no stages ${from}..${to}`);
    const models: Uint8Array[] = [];
    for (let s = from; s <= to; s++) models.push(await loadStageFile(m.manifest, m.dir, s));
    const produced = new Set<string>();
    const inputs: TensorInfo[] = [];
    for (const st of stages) {
      for (const t of st.inputs) if (!produced.has(t.name) && !inputs.some((x) => x.name === t.name)) inputs.push(t);
      for (const t of st.outputs) produced.add(t.name);
    }
    const outNames = new Set(hopOutNames(m.manifest, to));
    const forward = hopInNames(m.manifest, from).filter((n) => outNames.has(n));
    const r = new StageRunner(
      models,
      {
        graphOptimizationLevel: m.manifest.runtime.graphOptimizationLevel,
        label: `stages ${from}..${to}`,
        ...options,
        inputs,
        forward,
        maxBatch: 1,
      },
      stages.map((st) => st.forward),
    );
    return StageRunner.start(r);
  }

  /** Runner for stage `s` of a loaded manifest; the stage file's sha256 is checked first. */
  static async fromManifest(m: LoadedManifest, s: number, options: StageRunnerOptions = {}): Promise<StageRunner> {
    const bytes = await loadStageFile(m.manifest, m.dir, s);
    const st = m.manifest.stages[s];
    return StageRunner.create(bytes, {
      graphOptimizationLevel: m.manifest.runtime.graphOptimizationLevel,
      label: `stage ${s}`,
      ...options,
      inputs: st.inputs,
      forward: st.forward,
    });
  }

  private spawn(index = this.slots.length): Promise<void> {
    return new Promise((resolve, reject) => {
      const worker = new Worker(WORKER_URL, {
        workerData: { models: this.models, forward: this.chainForward, options: sessionOptions(this.opts) },
      });
      const slot: Slot = { worker, ready: false, jobs: null, runId: 0, busy: false, retired: false };
      this.slots[index] = slot;
      worker.on("message", (msg: WorkerMsg) => {
        if ("type" in msg) {
          if (msg.type === "ready") {
            slot.ready = true;
            this.onReady(msg.inputs, msg.outputs);
            resolve();
            this.pump();
          } else {
            reject(new SessionError(`${this.label}: cannot load model: ${msg.message}`));
          }
          return;
        }
        this.onResult(slot, msg);
      });
      worker.on("error", (err) => {
        log.error("%s worker error %e", this.label, err);
        if (!slot.ready) reject(new SessionError(`${this.label}: worker failed: ${err.message}`));
        this.failSlot(slot, new SessionError(`${this.label}: worker failed: ${err.message}`));
      });
      worker.on("exit", (code) => {
        slot.busy = false;
        slot.idle?.();
        if (!slot.ready) reject(new SessionError(`${this.label}: worker exited with code ${code} before loading`));
        if (this.slots[index] === slot && !this.closed && slot.ready && !slot.retired) {
          // the worker died (crash in native code, OOM…): fail its requests, start a new one
          slot.retired = true;
          this.failSlot(slot, new SessionError(`${this.label}: worker exited with code ${code}`));
          this.statsData.respawns++;
          this.spawn(index).catch((err) => log.error("%s respawn failed %e", this.label, err));
        }
      });
    });
  }

  private onReady(inputs: PortMeta[], outputs: PortMeta[]): void {
    const conv = (p: PortMeta): TensorInfo => ({
      name: p.name,
      dtype: p.type as DType,
      // onnxruntime reports unknown rank as []: treat as unknown rather than scalar.
      shape: p.shape.length === 0 ? null : [...p.shape],
    });
    if (this.inputs.length === 0) this.inputs = inputs.map(conv);
    this.outputs = outputs.map(conv);
    const dyn0 = (s: TensorInfo["shape"]) => s !== null && s.length > 0 && typeof s[0] === "string";
    this.batchable = this.opts.maxBatch > 1 && this.inputs.every((t) => dyn0(t.shape)) && this.outputs.every((t) => dyn0(t.shape));
  }

  /** Whether requests may be merged along dim 0 (maxBatch > 1 and every port has a symbolic dim 0). */
  get batching(): boolean {
    return this.batchable;
  }

  stats(): RunnerStats {
    return { ...this.statsData, queued: this.queue.length, running: this.slots.filter((s) => s.jobs).length };
  }

  /** Runs the stage on a hop bag; resolves to the outgoing hop bag. */
  async run(bag: TensorBag, options: RunOptions = {}): Promise<TensorBag> {
    return (await this.runDetailed(bag, options)).bag;
  }

  runDetailed(bag: TensorBag, options: RunOptions = {}): Promise<RunResult> {
    if (this.closed) return Promise.reject(new RunnerClosedError(`${this.label} is closed`));
    if (options.signal?.aborted) return Promise.reject(new InferenceAbortedError(`${this.label}: aborted before start`));
    try {
      this.checkBag(bag, options.trusted === true);
    } catch (err) {
      return Promise.reject(err);
    }
    const bytes = bagBytes(bag);
    const inFlight = this.queue.length + this.slots.reduce((n, s) => n + (s?.jobs?.filter((j) => !j.settled).length ?? 0), 0);
    if (inFlight >= this.opts.maxQueue)
      return Promise.reject(new RunnerBusyError(`${this.label}: ${inFlight} requests in flight (limit ${this.opts.maxQueue})`));
    if (this.queuedBytes + bytes > this.opts.maxQueueBytes) {
      return Promise.reject(
        new RunnerBusyError(`${this.label}: ${this.queuedBytes + bytes} bytes in flight (limit ${this.opts.maxQueueBytes})`),
      );
    }
    this.statsData.requests++;
    return new Promise<RunResult>((resolve, reject) => {
      const job: Job = {
        bag,
        key: this.inputs.map((t) => `${t.name}:${bag[t.name].dims.slice(1).join("x")}`).join("|"),
        bytes,
        start: performance.now(),
        settled: false,
        transfer: options.transferInputs === true,
        resolve,
        reject,
        signal: options.signal,
      };
      this.queuedBytes += bytes;
      const timeoutMs = options.timeoutMs ?? this.opts.timeoutMs;
      job.timer = setTimeout(() => this.onTimeout(job, timeoutMs), timeoutMs);
      if (options.signal) {
        job.onAbort = () => this.settle(job, new InferenceAbortedError(`${this.label}: aborted`));
        options.signal.addEventListener("abort", job.onAbort, { once: true });
      }
      this.queue.push(job);
      this.pump();
    });
  }

  /** Validates the incoming hop bag: exactly the stage inputs plus forwarded tensors. */
  checkBag(bag: TensorBag, trusted = false): void {
    const limits = trusted ? { ...this.opts.limits, requireFinite: false } : this.opts.limits;
    const wanted = new Set([...this.inputs.map((t) => t.name), ...this.forward]);
    for (const name of wanted) if (!bag[name]) throw new BagMismatchError(`${this.label}: missing tensor ${name}`);
    for (const name of Object.keys(bag)) if (!wanted.has(name)) throw new BagMismatchError(`${this.label}: unexpected tensor ${name}`);
    for (const info of this.inputs) {
      const t = bag[info.name];
      validateTensor(t, limits, `${this.label} input ${info.name}`);
      if (t.dtype !== info.dtype) throw new TensorDtypeError(`${this.label} input ${info.name}: dtype ${t.dtype}, expected ${info.dtype}`);
      const s = info.shape;
      if (s === null) continue;
      const ok = s.length === t.dims.length && s.every((d, i) => typeof d === "string" || d === t.dims[i]);
      if (!ok) throw new TensorShapeError(`${this.label} input ${info.name}: dims [${t.dims.join(",")}], expected [${s.join(",")}]`);
    }
    for (const name of this.forward) validateTensor(bag[name], limits, `${this.label} forwarded ${name}`);
  }

  private settle(job: Job, err: Error | null, result?: RunResult): void {
    if (job.settled) return;
    job.settled = true;
    clearTimeout(job.timer);
    if (job.onAbort) job.signal?.removeEventListener("abort", job.onAbort);
    this.queuedBytes -= job.bytes;
    const qi = this.queue.indexOf(job);
    if (qi >= 0) this.queue.splice(qi, 1);
    if (err) job.reject(err);
    else job.resolve(result!);
  }

  private onTimeout(job: Job, ms: number): void {
    const slot = this.slots.find((s) => s.jobs?.includes(job));
    const err = new InferenceTimeoutError(`${this.label}: no result within ${ms} ms`);
    if (!slot) {
      this.settle(job, err);
      return;
    }
    // A run that outlives its timeout may be stuck: fail its batch and start a replacement
    // worker. The old one is terminated only once its run returns, because terminating a worker
    // inside onnxruntime's run aborts the whole process (Napi::Error in a finalizer).
    this.failSlot(slot, err);
    this.retire(slot);
  }

  private failSlot(slot: Slot, err: Error): void {
    const jobs = slot.jobs ?? [];
    slot.jobs = null;
    for (const j of jobs) this.settle(j, err);
  }

  private retire(slot: Slot): void {
    if (slot.retired || this.closed) return;
    slot.retired = true;
    this.statsData.respawns++;
    if (!slot.busy) void slot.worker.terminate();
    this.spawn(this.slots.length).catch((err) => log.error("%s respawn failed %e", this.label, err));
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (!slot?.ready || slot.busy || slot.retired || this.queue.length === 0) continue;
      const first = this.queue.shift()!;
      const jobs = [first];
      if (this.batchable) {
        for (let i = 0; i < this.queue.length && jobs.length < this.opts.maxBatch; ) {
          if (this.queue[i].key === first.key) jobs.push(...this.queue.splice(i, 1));
          else i++;
        }
      }
      slot.jobs = jobs;
      slot.busy = true;
      slot.runId = this.nextId++;
      const feeds: Record<string, WireFeed> = {};
      for (const info of this.inputs) {
        feeds[info.name] = jobs.length === 1 ? toFeed(first.bag[info.name]) : concat0(jobs.map((j) => j.bag[info.name]));
      }
      // Inputs are copied (structured clone) so callers keep their tensors intact, unless the
      // caller allowed a transfer; forwarded tensors are never moved.
      const transfer: ArrayBuffer[] = [];
      if (jobs.length === 1 && first.transfer) {
        for (const info of this.inputs) {
          const buf = first.bag[info.name].data.buffer as ArrayBuffer;
          const whole = first.bag[info.name].data.byteLength === buf.byteLength;
          if (whole && !this.forward.includes(info.name) && !transfer.includes(buf)) transfer.push(buf);
        }
      }
      slot.worker.postMessage({ id: slot.runId, feeds }, transfer);
    }
  }

  private onResult(slot: Slot, msg: Exclude<WorkerMsg, { type: string }>): void {
    if (msg.id === slot.runId) {
      slot.busy = false;
      slot.idle?.();
    }
    if (slot.retired || this.closed) {
      if (!slot.busy && slot.retired) void slot.worker.terminate();
      return;
    }
    if (!slot.jobs || msg.id !== slot.runId) {
      this.pump(); // stale result of a request that was settled early (aborted)
      return;
    }
    const jobs = slot.jobs;
    slot.jobs = null;
    this.statsData.runs++;
    if (!msg.ok) {
      for (const j of jobs) this.settle(j, new SessionError(`${this.label}: ${msg.error.message}`));
    } else {
      this.statsData.computeMs += msg.ms;
      const outs = Object.entries(msg.outputs).map(
        ([name, f]) => [name, { dtype: f.dtype, dims: f.dims, data: f.data } as Tensor] as const,
      );
      const parts =
        jobs.length === 1
          ? [Object.fromEntries(outs)]
          : split0(
              outs,
              jobs.map((j) => j.bag[this.inputs[0].name].dims[0]),
            );
      if (!parts) {
        for (const j of jobs)
          this.settle(j, new InferenceError(`${this.label}: batched output does not follow the batch dim; disable batching`));
        this.batchable = false;
      } else {
        const now = performance.now();
        jobs.forEach((j, k) => {
          const bag: TensorBag = { ...parts[k] };
          for (const name of this.forward) bag[name] = j.bag[name];
          this.settle(j, null, { bag, computeMs: msg.ms, totalMs: now - j.start, batchSize: jobs.length, stageMs: msg.stageMs });
        });
      }
    }
    this.pump();
  }

  /** Rejects queued and running requests and terminates the workers. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new RunnerClosedError(`${this.label} is closed`);
    for (const j of [...this.queue]) this.settle(j, err);
    for (const s of this.slots) if (s) this.failSlot(s, err);
    // Let runs in progress return first: terminating a worker inside onnxruntime's run aborts
    // the process. A run still going after CLOSE_WAIT_MS is left to finish on an unref'd worker.
    await Promise.all(
      this.slots.map(async (s) => {
        if (!s) return;
        if (s.busy) {
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([new Promise<void>((r) => (s.idle = r)), new Promise<void>((r) => (timer = setTimeout(r, CLOSE_WAIT_MS)))]);
          clearTimeout(timer);
        }
        if (s.busy) {
          log.error("%s: run still in progress at close; leaving its worker to finish", this.label);
          s.worker.unref();
        } else await s.worker.terminate();
      }),
    );
  }
}
