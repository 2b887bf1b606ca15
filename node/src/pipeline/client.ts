// Pipeline client: one persistent stream per provider, many requests in flight on it,
// matched to responses by requestId. Every call has a deadline and honours `signal`; a timed
// out or cancelled request sends CANCEL so the provider stops working on it. When the stream
// dies (peer killed, reset) every pending request fails at once with
// PipelineStreamClosedError, which the router turns into a retry on another provider.
import { logger } from "@libp2p/logger";
import type { Libp2p, PeerId, Stream } from "@libp2p/interface";
import {
  DIAL_TIMEOUT_MS,
  HOP_TIMEOUT_MS,
  PIPELINE_PROTOCOL,
  PIPELINE_VERSION,
} from "../mesh/constants.ts";
import {
  PipelineRemoteError,
  PipelineStreamClosedError,
  PipelineTimeoutError,
} from "../mesh/errors.ts";
import { encodeFrame, Frame, FrameReader, writeFrame } from "./frames.ts";
import type { DecodedFrame } from "./frames.ts";
import type { WireBag } from "./tensor.ts";

const log = logger("shardmesh:pipeline:client");

export interface HopRequest {
  modelId: string;
  stage: number;
  bag: WireBag;
  jobId?: string;
  index?: number;
}

export interface HopResult {
  bag: WireBag;
  inputHash: Uint8Array;
  outputHash: Uint8Array;
  computeMs: number;
  /** Round trip seen by the caller, ms. */
  ms: number;
}

interface Pending {
  resolve(frame: DecodedFrame): void;
  reject(err: Error): void;
}

class HopStream {
  readonly stream: Stream;
  readonly pending = new Map<bigint, Pending>();
  closed = false;

  constructor(stream: Stream, onClosed: () => void) {
    this.stream = stream;
    new FrameReader(stream, {
      onFrame: (frame) => {
        const p = this.pending.get(frame.header.requestId);
        if (!p) return; // answer to a cancelled request
        this.pending.delete(frame.header.requestId);
        p.resolve(frame);
      },
      onError: (err) => stream.abort(err),
    });
    stream.addEventListener("close", (evt) => {
      this.closed = true;
      const reason = evt.error ? `${evt.error.name}: ${evt.error.message}` : "closed";
      const err = new PipelineStreamClosedError(`pipeline stream to ${stream.id} ${reason}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
      onClosed();
    });
  }
}

export class PipelineClient {
  private readonly node: Libp2p;
  private readonly streams = new Map<string, Promise<HopStream>>();
  private nextId = 1n;

  constructor(node: Libp2p) {
    this.node = node;
  }

  /** Run one stage on `peer`. Rejects with a named error; never hangs past `timeoutMs`. */
  async call(peer: PeerId, req: HopRequest, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<HopResult> {
    const started = performance.now();
    const timeoutMs = options.timeoutMs ?? HOP_TIMEOUT_MS;
    const hop = await this.stream(peer, options.signal);
    const requestId = this.nextId++;
    let resolve!: (f: DecodedFrame) => void;
    let reject!: (e: Error) => void;
    const promise = new Promise<DecodedFrame>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    promise.catch(() => {}); // rejections are observed below; never unhandled if the write fails first
    hop.pending.set(requestId, { resolve, reject });
    const timer = setTimeout(() => {
      reject(new PipelineTimeoutError(`stage ${req.stage} on ${peer} did not answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const onAbort = (): void => reject(options.signal?.reason ?? new Error("aborted"));
    options.signal?.addEventListener("abort", onAbort, { once: true });
    try {
      await writeFrame(
        hop.stream,
        encodeFrame(
          {
            kind: Frame.Kind.REQUEST,
            version: PIPELINE_VERSION,
            requestId,
            modelId: req.modelId,
            stage: req.stage,
            jobId: req.jobId ?? "",
            index: BigInt(req.index ?? 0),
            timeoutMs,
          },
          req.bag,
        ),
        { signal: options.signal },
      );
      const { header, bag } = await promise;
      if (header.kind === Frame.Kind.ERROR) throw new PipelineRemoteError(header.errorName, header.errorMessage);
      return {
        bag,
        inputHash: header.inputHash,
        outputHash: header.outputHash,
        computeMs: header.computeMs,
        ms: performance.now() - started,
      };
    } catch (err) {
      if (hop.pending.delete(requestId) && !hop.closed) {
        writeFrame(hop.stream, encodeFrame({ kind: Frame.Kind.CANCEL, version: PIPELINE_VERSION, requestId })).catch(() => {});
      }
      throw err;
    } finally {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
    }
  }

  /** Requests currently waiting on `peer`. */
  inflight(peer: PeerId | string): number {
    return 0 + (this.cached.get(peer.toString())?.pending.size ?? 0);
  }

  private readonly cached = new Map<string, HopStream>();

  private stream(peer: PeerId, signal?: AbortSignal): Promise<HopStream> {
    const key = peer.toString();
    let p = this.streams.get(key);
    if (!p) {
      const dialSignal = signal ? AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)]) : AbortSignal.timeout(DIAL_TIMEOUT_MS);
      p = this.node.dialProtocol(peer, PIPELINE_PROTOCOL, { signal: dialSignal }).then((stream) => {
        const hop = new HopStream(stream, () => {
          if (this.streams.get(key) === p) this.streams.delete(key);
          this.cached.delete(key);
        });
        this.cached.set(key, hop);
        return hop;
      });
      p.catch((err: Error) => {
        log("dial %s failed: %s", key, err.message);
        if (this.streams.get(key) === p) this.streams.delete(key);
      });
      this.streams.set(key, p);
    }
    return p;
  }

  /** Close every stream (pending requests fail with PipelineStreamClosedError). */
  close(): void {
    for (const hop of this.cached.values()) hop.stream.abort(new Error("pipeline client closing"));
    this.streams.clear();
    this.cached.clear();
  }
}
