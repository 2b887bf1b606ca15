// Image decoding off the main thread: a small pool of worker threads (image-worker.ts), a
// bounded queue, a deadline per image (a worker that passes it is terminated and replaced) and a
// V8 heap limit per worker. Pixel memory is bounded before an image gets here: the caller checks
// the header against the model's pixel cap (header.ts, hooks in gateway.ts).
import { Worker } from "node:worker_threads";
import { logger } from "@libp2p/logger";
import type { Tensor } from "../tensor/index.ts";
import { IMAGE_DECODE_QUEUE, IMAGE_DECODE_TIMEOUT_MS, IMAGE_DECODE_WORKERS, IMAGE_WORKER_HEAP_MB } from "./constants.ts";
import { ImageDecodeError, ImageDecoderBusyError, ImageDecodeTimeoutError } from "./errors.ts";

const log = logger("shardmesh:ocr:decoder");
const WORKER_URL = new URL("./image-worker.ts", import.meta.url);

export type ImageTask = "rec" | "cls" | "det";

/** One image to decode and pre-process (what the worker receives). */
export interface ImageJob {
  id: number;
  task: ImageTask;
  image: Uint8Array;
  /** Recogniser: widest input tensor. */
  maxWidth: number;
  /** Detector: longest input side. */
  limitSide: number;
}

export interface ImageDecoderOptions {
  workers?: number;
  /** Images waiting beyond the running ones before run() rejects with ImageDecoderBusyError. */
  maxQueue?: number;
  timeoutMs?: number;
  heapMb?: number;
}

interface Pending {
  job: ImageJob;
  resolve(t: Tensor): void;
  reject(e: Error): void;
  settled: boolean;
}

interface Slot {
  worker: Worker | undefined;
  current: Pending | undefined;
  timer: NodeJS.Timeout | undefined;
}

type WorkerAnswer =
  | { id: number; ok: true; tensor: { dtype: Tensor["dtype"]; dims: number[]; data: Float32Array } }
  | { id: number; ok: false; error: { name: string; message: string } };

export class ImageDecoder {
  private readonly opts: Required<ImageDecoderOptions>;
  private readonly slots: Slot[];
  private readonly queue: Pending[] = [];
  private nextId = 1;
  private closed = false;
  /** Workers terminated after a deadline or a crash. */
  respawns = 0;

  constructor(options: ImageDecoderOptions = {}) {
    this.opts = {
      workers: options.workers ?? IMAGE_DECODE_WORKERS,
      maxQueue: options.maxQueue ?? IMAGE_DECODE_QUEUE,
      timeoutMs: options.timeoutMs ?? IMAGE_DECODE_TIMEOUT_MS,
      heapMb: options.heapMb ?? IMAGE_WORKER_HEAP_MB,
    };
    this.slots = Array.from({ length: Math.max(1, this.opts.workers) }, () => ({
      worker: undefined,
      current: undefined,
      timer: undefined,
    }));
  }

  /** Images waiting for a worker. */
  get queued(): number {
    return this.queue.length;
  }

  /** Decodes `job.image` and pre-processes it for `job.task` in a worker. */
  run(job: Omit<ImageJob, "id">, options: { signal?: AbortSignal } = {}): Promise<Tensor> {
    if (this.closed) return Promise.reject(new ImageDecoderBusyError("the image decoder is closed"));
    if (this.queue.length >= this.opts.maxQueue) {
      return Promise.reject(new ImageDecoderBusyError(`${this.queue.length} images are waiting for the decoder; retry later`));
    }
    options.signal?.throwIfAborted();
    return new Promise<Tensor>((resolve, reject) => {
      const p: Pending = { job: { ...job, id: this.nextId++ }, resolve, reject, settled: false };
      const onAbort = (): void => {
        const i = this.queue.indexOf(p);
        if (i >= 0) this.queue.splice(i, 1);
        this.settle(p, options.signal?.reason as Error);
      };
      options.signal?.addEventListener("abort", onAbort, { once: true });
      p.resolve = (t) => {
        options.signal?.removeEventListener("abort", onAbort);
        resolve(t);
      };
      p.reject = (e) => {
        options.signal?.removeEventListener("abort", onAbort);
        reject(e);
      };
      this.queue.push(p);
      this.pump();
    });
  }

  private settle(p: Pending, result: Tensor | Error): void {
    if (p.settled) return;
    p.settled = true;
    if (result instanceof Error) p.reject(result);
    else p.resolve(result);
  }

  private pump(): void {
    for (const slot of this.slots) {
      if (slot.current) continue;
      const p = this.queue.shift();
      if (!p) return;
      if (!slot.worker) slot.worker = this.spawn(slot);
      const worker = slot.worker;
      slot.current = p;
      worker.ref();
      slot.timer = setTimeout(() => this.timeout(slot), this.opts.timeoutMs);
      worker.postMessage(p.job);
    }
  }

  private spawn(slot: Slot): Worker {
    const worker = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: this.opts.heapMb, maxYoungGenerationSizeMb: 16, stackSizeMb: 4 },
    });
    worker.unref();
    worker.on("message", (msg: WorkerAnswer) => {
      const p = slot.current;
      if (!p || p.job.id !== msg.id) return;
      this.done(slot);
      if (msg.ok) this.settle(p, { dtype: msg.tensor.dtype, dims: msg.tensor.dims, data: msg.tensor.data });
      else
        this.settle(
          p,
          new ImageDecodeError(msg.error.name === "ImageDecodeError" ? msg.error.message : `${msg.error.name}: ${msg.error.message}`),
        );
      this.pump();
    });
    const lost = (why: string): void => {
      if (slot.worker !== worker) return;
      slot.worker = undefined;
      this.respawns++;
      const p = slot.current;
      this.done(slot);
      log.error("image worker lost: %s", why);
      if (p) this.settle(p, new ImageDecodeError(`the decoder failed on this image (${why})`));
      this.pump();
    };
    worker.on("error", (err) => lost(`${(err as NodeJS.ErrnoException).code ?? err.name}: ${err.message}`));
    worker.on("exit", (code) => lost(`exit ${code}`));
    return worker;
  }

  private done(slot: Slot): void {
    clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.current = undefined;
    slot.worker?.unref();
  }

  private timeout(slot: Slot): void {
    const p = slot.current;
    const worker = slot.worker;
    slot.worker = undefined;
    this.respawns++;
    this.done(slot);
    void worker?.terminate();
    if (p) this.settle(p, new ImageDecodeTimeoutError(`decoding the image took over ${this.opts.timeoutMs} ms`));
    this.pump();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.queue.splice(0)) this.settle(p, new ImageDecoderBusyError("the image decoder closed"));
    await Promise.all(
      this.slots.map(async (slot) => {
        const w = slot.worker;
        slot.worker = undefined;
        const p = slot.current;
        this.done(slot);
        if (p) this.settle(p, new ImageDecoderBusyError("the image decoder closed"));
        await w?.terminate();
      }),
    );
  }
}
