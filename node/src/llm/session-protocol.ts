// Decoder sessions over the mesh: /shardmesh/session/1.0.0 (node/src/pb/session.proto).
//
// The provider side (SessionServer) serves the decoder stages this node holds: OPEN reserves a
// session on the stage's DecoderStageRunner, STEP runs positions through it, CLOSE frees it.
// Sessions are keyed by the opening peer's id and its sessionId, so no peer can step or close
// another peer's session. An OPEN naming a job (jobId, traceIndex) is a paid session: the stage
// traces it for that job and index, owned by the opening peer (./trace.ts); its CLOSE carries the
// previous stage's hand-off and the OK to it this stage's own (./handoff.ts). The gateway side (RemoteStageLink) answers the same calls as a local
// DecoderStageRunner (the StageLink of generate.ts), over one persistent stream per provider
// with many requests in flight.
import type { Libp2p, PeerId, Stream } from "@libp2p/interface";
import { logger } from "@libp2p/logger";
import { lpStream, type LengthPrefixedStream } from "@libp2p/utils";
import { peerIdFromString } from "@libp2p/peer-id";
import { Uint8ArrayList } from "uint8arraylist";
import { allocate, dtypeFromCode, DTYPE_CODE, DTYPE_SIZE, elementCount, type Tensor, type TensorBag } from "../tensor/index.ts";
import { SessionFrame } from "../pb/session.js";
import { encodeVarint } from "../pipeline/frames.ts";
import { openPeerStream } from "../nat/dial.ts";
import { KvCacheFullError, LlmError, llmErrorByName, SessionNotFoundError, StepPositionError } from "./errors.ts";
import type { StageLink } from "./generate.ts";
import type { DecoderStageRunner, OpenOptions, SessionEnd, StepInput, StepResult } from "./stage-runner.ts";
import { jobKey, parseJobId } from "../jobs/admission.ts";
import type { JobRequestCheck } from "../pipeline/jobrequest.ts";
import { bytesToHex } from "viem";
import type { Hex } from "viem";

const log = logger("shardmesh:llm:session");

export const SESSION_PROTOCOL = "/shardmesh/session/1.0.0";
/** Frame kinds (OPEN, STEP, CLOSE, OK, ERROR). */
export const SessionFrameKind = SessionFrame.Kind;
export const SESSION_VERSION = 3;
/** Largest message (header + tensors): a prefill of 4,096 positions at d = 2,048 fits. */
export const MAX_SESSION_MESSAGE_BYTES = 40 * 2 ** 20;
/** Longest header accepted. */
export const MAX_SESSION_HEADER_BYTES = 16 * 1024;
/** Requests one stream may have running at once. */
export const MAX_SESSION_INFLIGHT_PER_STREAM = 64;
/** Sessions one peer may hold on this provider at once. */
export const MAX_SESSIONS_PER_PEER = 32;
/** Session streams one peer may open to this provider. */
export const MAX_SESSION_STREAMS_PER_PEER = 4;
/** Longest idle TTL a caller may ask for. */
export const MAX_SESSION_TTL_MS = 10 * 60_000;
/** Default deadline of one request. */
export const SESSION_REQUEST_TIMEOUT_MS = 30_000;
/** Closing a session (a paid one: sealing its record, a chain read and a signature). */
export const SESSION_CLOSE_TIMEOUT_MS = 10_000;
/** Dialing a provider. */
export const SESSION_DIAL_TIMEOUT_MS = 5_000;

/** The peer answered with an error this side has no class for, or the stream broke. */
export class SessionRemoteError extends LlmError {
  override name = "SessionRemoteError";
}
/** The provider's session stream closed with requests pending (the provider may be gone). */
export class SessionStreamClosedError extends LlmError {
  override name = "SessionStreamClosedError";
}
/** A message that is not a well-formed session frame. */
export class SessionMalformedError extends LlmError {
  override name = "SessionMalformedError";
}

const bytesOf = (t: Tensor) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);

/** One message: varint(header length) · header · tensor bytes. */
export function encodeMessage(header: Partial<SessionFrame>, bag?: TensorBag): Uint8ArrayList {
  const tensors = Object.entries(bag ?? {}).map(([name, t]) => ({
    name,
    dtype: DTYPE_CODE[t.dtype],
    dims: [...t.dims],
    byteLength: t.data.byteLength,
  }));
  const head = SessionFrame.encode({
    version: SESSION_VERSION,
    ...header,
    tensors,
    payloadLength: tensors.reduce((a, t) => a + t.byteLength, 0),
  });
  const list = new Uint8ArrayList(encodeVarint(head.byteLength), head);
  for (const t of Object.values(bag ?? {})) list.append(bytesOf(t));
  return list;
}

export function decodeMessage(msg: Uint8ArrayList | Uint8Array): { frame: SessionFrame; bag: TensorBag } {
  const buf = msg instanceof Uint8Array ? msg : msg.subarray();
  let len = 0;
  let shift = 0;
  let i = 0;
  for (; i < 4; i++) {
    if (i >= buf.byteLength) throw new SessionMalformedError("truncated header length");
    len += (buf[i] & 0x7f) * 2 ** shift;
    shift += 7;
    if ((buf[i] & 0x80) === 0) break;
  }
  i++;
  if (len > MAX_SESSION_HEADER_BYTES || i + len > buf.byteLength) throw new SessionMalformedError(`bad header length ${len}`);
  let frame: SessionFrame;
  try {
    frame = SessionFrame.decode(buf.subarray(i, i + len));
  } catch (err) {
    throw new SessionMalformedError(`header does not decode: ${(err as Error).message}`);
  }
  let off = i + len;
  if (frame.payloadLength !== buf.byteLength - off)
    throw new SessionMalformedError(`payload is ${buf.byteLength - off} bytes, header says ${frame.payloadLength}`);
  const bag: TensorBag = {};
  for (const m of frame.tensors) {
    let dtype: ReturnType<typeof dtypeFromCode>;
    try {
      dtype = dtypeFromCode(m.dtype);
    } catch {
      throw new SessionMalformedError(`tensor ${m.name}: dtype ${m.dtype}`);
    }
    let n: number;
    try {
      n = elementCount(m.dims);
    } catch (err) {
      throw new SessionMalformedError(`tensor ${m.name}: ${(err as Error).message}`);
    }
    if (n * DTYPE_SIZE[dtype] !== m.byteLength || off + m.byteLength > buf.byteLength || Object.hasOwn(bag, m.name)) {
      throw new SessionMalformedError(`tensor ${m.name}: ${m.byteLength} bytes for [${m.dims.join(",")}] ${dtype}`);
    }
    const data = allocate(dtype, n);
    new Uint8Array(data.buffer).set(buf.subarray(off, off + m.byteLength));
    off += m.byteLength;
    bag[m.name] = { dtype, dims: [...m.dims], data };
  }
  return { frame, bag };
}

/** A step's hidden state is [1, seq, d]: nothing else may come in (mask and positions are implied). */
const stepBagOk = (bag: TensorBag) => Object.values(bag).every((t) => t.dims[0] === 1);

export interface SessionServerInit {
  /** Decoder stages served, keyed by `${modelId}#${stage}`. */
  stages: Map<string, DecoderStageRunner>;
  maxSessionsPerPeer?: number;
  maxStreamsPerPeer?: number;
  maxInflightPerStream?: number;
  /**
   * The buyer's signature on paid sessions (pipeline/jobrequest.ts): an OPEN naming a job is
   * served only with the job's session-key JobRequest for its trace index, so no stranger takes
   * a future (job, index, stage) record first. Absent (no chain): not checked.
   */
  jobRequests?: JobRequestCheck;
}

export const sessionStageKey = (modelId: string, stage: number) => `${modelId}#${stage}`;

export class SessionServer {
  readonly stages: Map<string, DecoderStageRunner>;
  private readonly node: Libp2p;
  private readonly init: SessionServerInit;
  /** Per peer: its sessions as `${stage key}|${sessionId}`. */
  private readonly perPeer = new Map<string, Set<string>>();
  private readonly streamsPerPeer = new Map<string, number>();
  private readonly streams = new Set<Stream>();
  steps = 0;

  constructor(node: Libp2p, init: SessionServerInit) {
    this.node = node;
    this.init = init;
    this.stages = init.stages;
  }

  async start(): Promise<void> {
    await this.node.handle(SESSION_PROTOCOL, (stream, connection) => this.serve(stream, connection.remotePeer.toString()), {
      maxInboundStreams: 256,
      // Providers behind NAT serve sessions through a relay (nat/).
      runOnLimitedConnection: true,
    });
  }

  async stop(): Promise<void> {
    await this.node.unhandle(SESSION_PROTOCOL);
    for (const s of this.streams) s.abort(new Error("session server stopping"));
    this.streams.clear();
  }

  /** Free KV bytes of a served stage (what the provider advertises). */
  freeKvBytes(modelId: string, stage: number): number | undefined {
    return this.stages.get(sessionStageKey(modelId, stage))?.freeKvBytes();
  }

  private async serve(stream: Stream, peer: string): Promise<void> {
    const n = (this.streamsPerPeer.get(peer) ?? 0) + 1;
    if (n > (this.init.maxStreamsPerPeer ?? MAX_SESSION_STREAMS_PER_PEER)) {
      stream.abort(new Error("too many session streams from this peer"));
      return;
    }
    this.streamsPerPeer.set(peer, n);
    this.streams.add(stream);
    const lp = lpStream(stream, { maxDataLength: MAX_SESSION_MESSAGE_BYTES });
    let writing: Promise<unknown> = Promise.resolve();
    const send = (msg: Uint8ArrayList) => {
      writing = writing.then(() => lp.write(msg)).catch(() => {});
      return writing;
    };
    let inflight = 0;
    try {
      for (;;) {
        let raw: Uint8ArrayList;
        try {
          raw = await lp.read();
        } catch {
          break; // stream ended or reset
        }
        let decoded: { frame: SessionFrame; bag: TensorBag };
        try {
          decoded = decodeMessage(raw);
        } catch (err) {
          log("malformed frame from %s: %s", peer, (err as Error).message);
          stream.abort(err as Error);
          break;
        }
        const { frame } = decoded;
        if (inflight >= (this.init.maxInflightPerStream ?? MAX_SESSION_INFLIGHT_PER_STREAM)) {
          void send(
            encodeMessage({
              kind: SessionFrame.Kind.ERROR,
              requestId: frame.requestId,
              errorName: "SessionBusyError",
              errorMessage: "too many requests in flight",
            }),
          );
          continue;
        }
        inflight++;
        this.handle(peer, decoded.frame, decoded.bag)
          .then(
            ({ header, bag }) => send(encodeMessage({ ...header, kind: SessionFrame.Kind.OK, requestId: frame.requestId }, bag)),
            (err: Error) =>
              send(
                encodeMessage({
                  kind: SessionFrame.Kind.ERROR,
                  requestId: frame.requestId,
                  errorName: err.name,
                  errorMessage: err.message.slice(0, 500),
                }),
              ),
          )
          .finally(() => inflight--);
      }
    } finally {
      this.streams.delete(stream);
      this.streamsPerPeer.set(peer, (this.streamsPerPeer.get(peer) ?? 1) - 1);
    }
  }

  private async handle(peer: string, f: SessionFrame, bag: TensorBag): Promise<{ header: Partial<SessionFrame>; bag?: TensorBag }> {
    if (f.version !== SESSION_VERSION)
      throw new SessionMalformedError(`protocol version ${f.version}, this node speaks ${SESSION_VERSION}`);
    const key = sessionStageKey(f.modelId, f.stage);
    const runner = this.stages.get(key);
    if (!runner) throw new SessionNotFoundError(`this provider does not serve stage ${f.stage} of ${f.modelId}`);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(f.sessionId)) throw new SessionNotFoundError("sessionId must be 1..64 characters of [A-Za-z0-9_-]");
    const local = `${peer}/${f.sessionId}`;
    const mine = this.perPeer.get(peer) ?? new Set<string>();
    switch (f.kind) {
      case SessionFrame.Kind.OPEN: {
        for (const k of [...mine]) {
          const at = k.lastIndexOf("|");
          if (this.stages.get(k.slice(0, at))?.sessionLength(`${peer}/${k.slice(at + 1)}`) === undefined) mine.delete(k);
        }
        const limit = this.init.maxSessionsPerPeer ?? MAX_SESSIONS_PER_PEER;
        if (mine.size >= limit) throw new KvCacheFullError(`peer holds ${mine.size} sessions on this provider (limit ${limit})`);
        // A paid session's trace is keyed by (job, index, stage) and owned by this peer.
        const trace = f.jobId ? { jobId: jobKey(parseJobId(f.jobId)), index: traceIndexOf(f.traceIndex), owner: peer } : undefined;
        if (trace && this.init.jobRequests)
          await this.init.jobRequests.check({
            jobId: trace.jobId,
            index: trace.index,
            stage: f.stage,
            request:
              f.jobSignature.byteLength || f.requestHash.byteLength
                ? { requestHash: bytesToHex(f.requestHash), signature: bytesToHex(f.jobSignature) }
                : undefined,
          });
        await runner.open(local, { maxLength: f.maxLength, ttlMs: f.ttlMs ? Math.min(f.ttlMs, MAX_SESSION_TTL_MS) : undefined, trace });
        mine.add(`${key}|${f.sessionId}`);
        this.perPeer.set(peer, mine);
        return { header: {} };
      }
      case SessionFrame.Kind.STEP: {
        if (!stepBagOk(bag)) throw new StepPositionError("step tensors are batch 1");
        const res = await runner.step(
          local,
          { stepId: Number(f.stepId), position: f.position, bag },
          { timeoutMs: Math.min(f.timeoutMs || SESSION_REQUEST_TIMEOUT_MS, SESSION_REQUEST_TIMEOUT_MS) },
        );
        this.steps++;
        return { header: { length: res.length, duplicate: res.duplicate, computeMs: Math.round(res.computeMs) }, bag: res.bag };
      }
      case SessionFrame.Kind.CLOSE: {
        // A paid session's record is kept (sealed) only with a valid upstream hand-off (./handoff.ts).
        const end = await runner
          .endSession(local, f.upstreamHandOff.byteLength ? { upstreamHandOff: bytesToHex(f.upstreamHandOff) } : {})
          .finally(() => mine.delete(`${key}|${f.sessionId}`));
        return { header: end.handOff ? { handOff: wireBytes(end.handOff) } : {} };
      }
      default:
        throw new SessionMalformedError(`unexpected frame kind ${f.kind}`);
    }
  }
}

/** A trace index from the wire: a safe integer (JSON and sqlite carry it as a number). */
function traceIndexOf(v: bigint): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new SessionMalformedError(`trace index ${v} is too large`);
  return Number(v);
}

interface Pending {
  resolve(v: { frame: SessionFrame; bag: TensorBag }): void;
  reject(e: Error): void;
}

/** One persistent session stream to a provider, many requests in flight. */
class SessionChannel {
  readonly lp: LengthPrefixedStream<Stream>;
  readonly stream: Stream;
  readonly pending = new Map<bigint, Pending>();
  closed = false;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(stream: Stream) {
    this.stream = stream;
    this.lp = lpStream(stream, { maxDataLength: MAX_SESSION_MESSAGE_BYTES });
    void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    try {
      for (;;) {
        const msg = decodeMessage(await this.lp.read());
        const p = this.pending.get(msg.frame.requestId);
        if (!p) continue;
        this.pending.delete(msg.frame.requestId);
        p.resolve(msg);
      }
    } catch (err) {
      this.fail(new SessionStreamClosedError(`session stream to ${this.stream.id} closed: ${(err as Error).message}`));
    }
  }

  fail(err: Error): void {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.stream.abort(err);
  }

  send(msg: Uint8ArrayList, signal: AbortSignal): Promise<void> {
    const w = this.writing.then(() => this.lp.write(msg, { signal }));
    this.writing = w.catch(() => {});
    return w;
  }
}

/** Opens, reuses and drops session streams to providers. */
export class SessionClient {
  private readonly node: Libp2p;
  private readonly channels = new Map<string, Promise<SessionChannel>>();
  private nextId = 1n;

  constructor(node: Libp2p) {
    this.node = node;
  }

  private channel(peer: string, signal?: AbortSignal): Promise<SessionChannel> {
    let c = this.channels.get(peer);
    if (!c) {
      const id: PeerId = peerIdFromString(peer);
      // A provider behind NAT is reached through a relay (nat/dial.ts).
      c = openPeerStream(this.node, id, SESSION_PROTOCOL, { signal, timeoutMs: SESSION_DIAL_TIMEOUT_MS }).then((s) => {
        const ch = new SessionChannel(s);
        s.addEventListener("close", () => {
          ch.fail(new SessionStreamClosedError(`session stream to ${peer} closed`));
          if (this.channels.get(peer) === c) this.channels.delete(peer);
        });
        return ch;
      });
      c.catch(() => this.channels.delete(peer));
      this.channels.set(peer, c);
    }
    return c;
  }

  async request(
    peer: string,
    header: Partial<SessionFrame>,
    bag: TensorBag | undefined,
    o: { signal?: AbortSignal; timeoutMs?: number } = {},
  ) {
    const timeoutMs = o.timeoutMs ?? SESSION_REQUEST_TIMEOUT_MS;
    const signal = o.signal ? AbortSignal.any([o.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    let ch: SessionChannel;
    try {
      ch = await this.channel(peer, signal);
    } catch (err) {
      throw new SessionStreamClosedError(`cannot reach ${peer}: ${(err as Error).message}`);
    }
    if (ch.closed) {
      this.channels.delete(peer);
      ch = await this.channel(peer, signal);
    }
    const requestId = this.nextId++;
    const reply = new Promise<{ frame: SessionFrame; bag: TensorBag }>((resolve, reject) => {
      ch.pending.set(requestId, { resolve, reject });
      const onAbort = () => {
        ch.pending.delete(requestId);
        reject(
          new SessionRemoteError(
            `request to ${peer} ${signal.reason?.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : "aborted"}`,
          ),
        );
      };
      signal.addEventListener("abort", onAbort, { once: true });
    });
    await ch.send(encodeMessage({ ...header, requestId, timeoutMs }, bag), signal).catch((err: Error) => {
      ch.fail(new SessionStreamClosedError(err.message));
    });
    const { frame, bag: out } = await reply;
    if (frame.kind === SessionFrame.Kind.ERROR) {
      throw llmErrorByName(frame.errorName, frame.errorMessage) ?? new SessionRemoteError(`${frame.errorName}: ${frame.errorMessage}`);
    }
    return { frame, bag: out };
  }

  close(): void {
    for (const c of this.channels.values())
      c.then(
        (ch) => ch.fail(new SessionStreamClosedError("client closed")),
        () => {},
      );
    this.channels.clear();
  }
}

/** A block stage on a remote provider, answering the calls a local DecoderStageRunner answers. */
export class RemoteStageLink implements StageLink {
  readonly peer: string;
  private readonly client: SessionClient;
  private readonly modelId: string;
  private readonly stage: number;

  constructor(client: SessionClient, peer: string, modelId: string, stage: number) {
    this.client = client;
    this.peer = peer;
    this.modelId = modelId;
    this.stage = stage;
  }

  async open(sessionId: string, o: OpenOptions, opts: { signal?: AbortSignal } = {}): Promise<void> {
    await this.client.request(
      this.peer,
      {
        kind: SessionFrame.Kind.OPEN,
        modelId: this.modelId,
        stage: this.stage,
        sessionId,
        maxLength: o.maxLength,
        ttlMs: o.ttlMs ?? 0,
        ...(o.trace ? { jobId: o.trace.jobId, traceIndex: BigInt(o.trace.index) } : {}),
        ...(o.trace?.jobRequest
          ? { requestHash: wireBytes(o.trace.jobRequest.requestHash), jobSignature: wireBytes(o.trace.jobRequest.signature) }
          : {}),
      },
      undefined,
      opts,
    );
  }

  async step(sessionId: string, input: StepInput, opts: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<StepResult> {
    const { frame, bag } = await this.client.request(
      this.peer,
      {
        kind: SessionFrame.Kind.STEP,
        modelId: this.modelId,
        stage: this.stage,
        sessionId,
        stepId: BigInt(input.stepId),
        position: input.position,
      },
      input.bag,
      opts,
    );
    return { bag, computeMs: frame.computeMs, length: frame.length, duplicate: frame.duplicate };
  }

  async closeSession(sessionId: string): Promise<void> {
    await this.endSession(sessionId);
  }

  /** CLOSE with the previous stage's hand-off; the provider's own hand-off of a paid session comes back. */
  async endSession(sessionId: string, o: { upstreamHandOff?: Hex } = {}): Promise<SessionEnd> {
    const { frame } = await this.client.request(
      this.peer,
      {
        kind: SessionFrame.Kind.CLOSE,
        modelId: this.modelId,
        stage: this.stage,
        sessionId,
        ...(o.upstreamHandOff ? { upstreamHandOff: wireBytes(o.upstreamHandOff) } : {}),
      },
      undefined,
      { timeoutMs: SESSION_CLOSE_TIMEOUT_MS },
    );
    return frame.handOff.byteLength ? { closed: true, handOff: bytesToHex(frame.handOff) } : { closed: true };
  }
}

/** A hash or signature as a frame carries it. */
function wireBytes(hex: Hex): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(hex.slice(2), "hex"));
}
