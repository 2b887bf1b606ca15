// /shardmesh/tensor/1.0.0: a verifier fetches the tensors a provider kept for one served request
// at one stage (its trace store keeps them for the retention window) and checks them against the
// revealed leaf's hash.
//
// Requests name the bag by (job, stage, side) and the revealed leaf's hash: the receipt's request
// index (the leaf index on chain) need not be the provider's trace index (the gateway numbers a
// receipt's requests densely, skipping failed ones), so `index` is only a hint tried first.
//
// One stream per fetch, length-prefixed frames (@libp2p/utils lpStream):
//   request  → JSON {v, jobId (decimal), stage, side: "input" | "output", hash, index?}   ≤ MAX_TENSOR_REQUEST_BYTES
//   answer   ← JSON header {tensors: [{name, dtype, dims, bytes}]}                   ≤ MAX_TENSOR_HEADER_BYTES
//              or {error: {name, message}} (end of stream)
//   go       → JSON {go: true}        (the client accepts the announced sizes; otherwise it closes)
//   data     ← one frame of raw little-endian data per tensor, in header order        ≤ the bag limit
// So a client refuses a bag over its limit before any of its data is sent.
import { logger } from "@libp2p/logger";
import { lpStream } from "@libp2p/utils";
import { peerIdFromString } from "@libp2p/peer-id";
import type { PeerId, Stream } from "@libp2p/interface";
import type { Hex } from "viem";
import type { MeshNode } from "../mesh/node.ts";
import type { TraceRecord, TraceStore } from "../trace/store.ts";
import { bagHash } from "../tensor/index.ts";
import { openPeerStream } from "../nat/dial.ts";
import type { WireBag } from "../tensor/index.ts";
import {
  MAX_TENSOR_BAG_BYTES,
  MAX_TENSOR_HEADER_BYTES,
  MAX_TENSOR_INBOUND_STREAMS,
  MAX_TENSOR_REQUEST_BYTES,
  MAX_TENSORS_PER_ANSWER,
  TENSOR_FETCH_TIMEOUT_MS,
  TENSOR_PROTOCOL,
  TENSOR_PROTOCOL_VERSION,
  TENSOR_REQUEST_TIMEOUT_MS,
} from "./constants.ts";
import {
  TensorFetchTimeoutError,
  TensorHashMismatchError,
  TensorNotFoundError,
  TensorProtocolError,
  TensorRemoteError,
  TensorResponseTooLargeError,
} from "./errors.ts";

const log = logger("shardmesh:verifier:tensors");
const enc = new TextEncoder();
const dec = new TextDecoder();

export type TensorSide = "input" | "output";

export interface TensorRequest {
  jobId: string;
  stage: number;
  side: TensorSide;
  /** The revealed leaf's hash of this side (bagHash, PROTOCOL.md). */
  hash: Hex;
  /** Request index hint (tried first; a trace index may differ from the leaf index). */
  index?: number;
}

interface TensorHeader {
  tensors?: { name: string; dtype: number; dims: number[]; bytes: number }[];
  error?: { name: string; message: string };
}

/** Where served tensors come from (a TraceStore, or a wrapper around one). */
export interface TensorSource {
  /** The kept bag, or undefined when the request was not served at that stage or is past retention. */
  bag(req: TensorRequest): WireBag | undefined;
}

/** A TraceStore as a tensor source: only requests it traced, only tensors it still keeps. */
export function traceSource(trace: TraceStore): TensorSource {
  return {
    bag(req) {
      const want = req.hash.toLowerCase();
      const hashOf = (r: TraceRecord) => (req.side === "input" ? r.inputHash : r.outputHash).toLowerCase();
      let rec = req.index === undefined ? undefined : trace.get(req.jobId, req.index, req.stage);
      if (!rec || hashOf(rec) !== want) rec = trace.records(req.jobId).find((r) => r.stage === req.stage && hashOf(r) === want);
      if (!rec) return undefined;
      const bag = trace.tensors(req.jobId, rec.index, req.stage, req.side);
      return Object.keys(bag).length === 0 ? undefined : bag;
    },
  };
}

function json(value: unknown): Uint8Array {
  return enc.encode(JSON.stringify(value));
}

function parse(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(dec.decode(bytes)) as unknown;
  } catch (err) {
    throw new TensorProtocolError(`malformed ${what}: ${(err as Error).message}`);
  }
}

/** Validates a decoded request (also used by tests for the error names). */
export function parseTensorRequest(raw: unknown): TensorRequest {
  const r = raw as { v?: unknown; jobId?: unknown; index?: unknown; stage?: unknown; side?: unknown; hash?: unknown } | null;
  if (!r || typeof r !== "object") throw new TensorProtocolError("tensor request is not an object");
  if (r.v !== TENSOR_PROTOCOL_VERSION)
    throw new TensorProtocolError(`tensor protocol version ${String(r.v)} is not ${TENSOR_PROTOCOL_VERSION}`);
  if (typeof r.jobId !== "string" || !/^\d{1,78}$/.test(r.jobId)) throw new TensorProtocolError("jobId must be a decimal string");
  if (r.index !== undefined && (!Number.isSafeInteger(r.index) || (r.index as number) < 0))
    throw new TensorProtocolError("index must be a non-negative integer");
  if (!Number.isInteger(r.stage) || (r.stage as number) < 0 || (r.stage as number) > 0xffff)
    throw new TensorProtocolError("stage must be an integer in 0..65535");
  if (r.side !== "input" && r.side !== "output") throw new TensorProtocolError('side must be "input" or "output"');
  if (typeof r.hash !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(r.hash)) throw new TensorProtocolError("hash must be a bytes32 hex string");
  return {
    jobId: r.jobId,
    stage: r.stage as number,
    side: r.side,
    hash: r.hash as Hex,
    ...(r.index === undefined ? {} : { index: r.index as number }),
  };
}

export interface ServeOptions {
  /** Largest bag served (default MAX_TENSOR_BAG_BYTES). */
  maxBagBytes?: number;
}

/** Serves TENSOR_PROTOCOL on `node` from `source`. Returns a function that stops serving. */
export async function serveTensors(node: MeshNode, source: TensorSource, options: ServeOptions = {}): Promise<() => Promise<void>> {
  const maxBag = options.maxBagBytes ?? MAX_TENSOR_BAG_BYTES;
  await node.handle(
    TENSOR_PROTOCOL,
    async (stream: Stream) => {
      const lp = lpStream(stream, { maxDataLength: MAX_TENSOR_REQUEST_BYTES, maxBufferSize: MAX_TENSOR_REQUEST_BYTES * 4 });
      try {
        const first = await lp.read({ signal: AbortSignal.timeout(TENSOR_REQUEST_TIMEOUT_MS) });
        let frames: Uint8Array[];
        try {
          const req = parseTensorRequest(parse(first.subarray(), "tensor request"));
          const bag = source.bag(req);
          if (!bag) throw new TensorNotFoundError(`no ${req.side} tensors ${req.hash} kept for job ${req.jobId} at stage ${req.stage}`);
          const names = Object.keys(bag);
          const total = names.reduce((n, k) => n + bag[k].data.byteLength, 0);
          if (total > maxBag || names.length > MAX_TENSORS_PER_ANSWER) {
            throw new TensorResponseTooLargeError(
              `bag of ${names.length} tensors, ${total} bytes, over the serving limit of ${maxBag} bytes`,
            );
          }
          await lp.write(
            json({
              tensors: names.map((name) => ({ name, dtype: bag[name].dtype, dims: bag[name].dims, bytes: bag[name].data.byteLength })),
            }),
          );
          frames = names.map((n) => bag[n].data);
          log("serving %s %s of job %s stage %d (%d bytes)", req.side, req.hash, req.jobId, req.stage, total);
        } catch (err) {
          const e = err as Error;
          log("tensor request refused: %s: %s", e.name, e.message);
          await lp.write(json({ error: { name: e.name, message: e.message } }));
          await stream.close();
          return;
        }
        const go = parse((await lp.read({ signal: AbortSignal.timeout(TENSOR_REQUEST_TIMEOUT_MS) })).subarray(), "go frame") as {
          go?: unknown;
        } | null;
        if (go?.go !== true) throw new TensorProtocolError("expected a go frame");
        await lp.writeV(frames);
        await stream.close();
      } catch (err) {
        stream.abort(err as Error);
      }
    },
    { maxInboundStreams: MAX_TENSOR_INBOUND_STREAMS, runOnLimitedConnection: true },
  );
  return async () => {
    await node.unhandle(TENSOR_PROTOCOL).catch(() => {});
  };
}

/**
 * Serves the tensors of a node's trace store on its libp2p node (the provider's composition root
 * calls serveTensors itself): `const { stop } = await attachTensorService({ node, trace })`.
 */
export async function attachTensorService(
  provider: { node: MeshNode; trace: TraceStore },
  options: ServeOptions = {},
): Promise<{ stop(): Promise<void> }> {
  const stop = await serveTensors(provider.node, traceSource(provider.trace), options);
  return { stop };
}

export interface FetchOptions {
  signal?: AbortSignal;
  /** Deadline of the whole fetch (default TENSOR_FETCH_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Largest bag accepted (default MAX_TENSOR_BAG_BYTES). */
  maxBagBytes?: number;
  /** The hash the bag must have (default: the request's hash), else TensorHashMismatchError. */
  expectedHash?: Hex;
}

/** Fetches one kept bag from `peer`; checks sizes and, with `expectedHash`, its bag hash. */
export async function fetchTensors(
  node: MeshNode,
  peer: string | PeerId,
  req: TensorRequest,
  options: FetchOptions = {},
): Promise<WireBag> {
  const maxBag = options.maxBagBytes ?? MAX_TENSOR_BAG_BYTES;
  const timeout = AbortSignal.timeout(options.timeoutMs ?? TENSOR_FETCH_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const peerId = typeof peer === "string" ? peerIdFromString(peer) : peer;
  const where = `${req.side} ${req.hash.slice(0, 10)}… of job ${req.jobId} stage ${req.stage} from ${peerId.toString()}`;
  let stream: Stream | undefined;
  try {
    // Providers behind NAT answer through a relay (nat/dial.ts).
    stream = await openPeerStream(node, peerId, TENSOR_PROTOCOL, { signal });
    const lp = lpStream(stream, {
      maxDataLength: Math.max(MAX_TENSOR_HEADER_BYTES, maxBag),
      maxBufferSize: MAX_TENSOR_HEADER_BYTES + maxBag + 1024,
    });
    await lp.write(json({ v: TENSOR_PROTOCOL_VERSION, ...req }), { signal });
    const head = await lp.read({ signal });
    if (head.byteLength > MAX_TENSOR_HEADER_BYTES)
      throw new TensorProtocolError(`answer header of ${head.byteLength} bytes over ${MAX_TENSOR_HEADER_BYTES}`);
    const header = parse(head.subarray(), "tensor answer") as TensorHeader;
    if (!header || typeof header !== "object") throw new TensorProtocolError("tensor answer is not an object");
    if (header.error) {
      const name = String(header.error.name ?? "Error");
      const message = `${where}: ${String(header.error.message ?? "")}`;
      if (name === "TensorNotFoundError") throw new TensorNotFoundError(message);
      if (name === "TensorResponseTooLargeError") throw new TensorResponseTooLargeError(message);
      throw new TensorRemoteError(name, message);
    }
    const list = header.tensors;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_TENSORS_PER_ANSWER)
      throw new TensorProtocolError(`answer lists ${Array.isArray(list) ? list.length : "no"} tensors`);
    let total = 0;
    for (const t of list) {
      if (
        !t ||
        typeof t.name !== "string" ||
        !Number.isInteger(t.dtype) ||
        !Array.isArray(t.dims) ||
        !t.dims.every((d) => Number.isSafeInteger(d) && d >= 0) ||
        !Number.isSafeInteger(t.bytes) ||
        t.bytes < 0
      ) {
        throw new TensorProtocolError("malformed tensor entry in the answer header");
      }
      total += t.bytes;
    }
    if (total > maxBag) throw new TensorResponseTooLargeError(`${where}: the answer announces ${total} bytes, over the limit of ${maxBag}`);
    await lp.write(json({ go: true }), { signal });
    const bag: WireBag = {};
    for (const t of list) {
      const data = (await lp.read({ signal })).subarray();
      if (data.byteLength !== t.bytes) throw new TensorProtocolError(`tensor ${t.name}: ${data.byteLength} bytes, header says ${t.bytes}`);
      bag[t.name] = { dtype: t.dtype, dims: t.dims, data };
    }
    await stream.close().catch(() => {});
    const expected = options.expectedHash ?? req.hash;
    const got = bagHash(bag);
    if (got.toLowerCase() !== expected.toLowerCase()) {
      throw new TensorHashMismatchError(`${where}: bag hashes to ${got}, the revealed leaf says ${expected}`, expected, got);
    }
    return bag;
  } catch (err) {
    stream?.abort(err as Error);
    const e = err as Error;
    // A peer sending more than it announced overflows the frame or read-buffer limits.
    if (e.name === "InvalidDataLengthError" || e.name === "StreamBufferError")
      throw new TensorResponseTooLargeError(`${where}: a frame is over the limit of ${maxBag} bytes`);
    if (timeout.aborted && !options.signal?.aborted && !(e instanceof TensorHashMismatchError)) {
      throw new TensorFetchTimeoutError(`${where}: no complete answer within ${options.timeoutMs ?? TENSOR_FETCH_TIMEOUT_MS} ms`);
    }
    throw err;
  }
}
