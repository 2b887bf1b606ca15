// Pipeline client: one persistent stream per provider, many requests in flight on it,
// matched to responses by requestId. Every call has a deadline and honours `signal`; a timed
// out or cancelled request sends CANCEL so the provider stops working on it. When the stream
// dies (peer killed, reset) every pending request fails at once with
// PipelineStreamClosedError, which the router turns into a retry on another provider.
import { logger } from "@libp2p/logger";
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { HOP_TIMEOUT_MS, PIPELINE_PROTOCOL, PIPELINE_VERSION } from "./constants.ts";
import { PipelineRemoteError, PipelineStreamClosedError, PipelineTimeoutError } from "./errors.ts";
import { encodeFrame, Frame, FrameReader, onClose, writeFrame } from "./frames.ts";
import type { DecodedFrame, FrameStream } from "./frames.ts";
import { callerSocket, connectDataPlane, type SealedChannel } from "./dataplane.ts";
import { connectionIp } from "../nat/reach.ts";
import type { ReachState } from "../nat/reach.ts";
import { punch, reservePort } from "../nat/punch.ts";
import { circuitRelay } from "../nat/relay.ts";
import { dialPeer } from "../nat/dial.ts";

/** How long a caller waits for a data-plane offer before staying on the libp2p stream. */
export const DATA_PLANE_OFFER_TIMEOUT_MS = 2_000;

import { peerIdFromString } from "@libp2p/peer-id";
import { toHex } from "../tensor/index.ts";
import type { Hex } from "viem";
import type { Hop, HopOptions, HopRequest, HopResult } from "./hop.ts";

/**
 * How a hop's frames travel:
 *   direct   sealed data-plane socket to the provider's address
 *   punched  sealed data-plane socket opened by a hole punch (TCP simultaneous open)
 *   stream   the libp2p stream over a direct connection (no data plane)
 *   relayed  the libp2p stream over a relayed connection (circuit relay v2)
 */
export type HopPath = "direct" | "punched" | "stream" | "relayed";

const log = logger("shardmesh:pipeline:client");

export interface PipelineClientInit {
  /** Use sealed data-plane sockets when providers offer them (default true). */
  dataPlane?: boolean;
  /** This node's reachability (nat/reach.ts): its external IP makes hole punches possible. */
  reach?: { readonly state: ReachState };
  /** The local address hole punches connect from (this node's listen address). */
  localHost?: string;
}

/** The relay's peer id of a relayed connection (…/p2p/<relay>/p2p-circuit/…), else undefined. */
export function relayOf(conn: Connection): string | undefined {
  return circuitRelay(conn.remoteAddr) ?? (conn.limits ? "unknown" : undefined);
}

interface Pending {
  resolve(frame: DecodedFrame): void;
  reject(err: Error): void;
}

/** One hop: the libp2p control stream and, when the provider offers one, a sealed data plane. */
class HopStream {
  readonly stream: Stream;
  /** Where request frames go: the data plane when attached, else the libp2p stream. */
  wire: FrameStream;
  channel: SealedChannel | undefined;
  path: HopPath;
  /** The relay's peer id when the libp2p connection is relayed. */
  via: string | undefined;
  readonly pending = new Map<bigint, Pending>();
  closed = false;
  private readonly onClosed: () => void;

  constructor(stream: Stream, via: string | undefined, onClosed: () => void) {
    this.stream = stream;
    this.wire = stream;
    this.via = via;
    this.path = via ? "relayed" : "stream";
    this.onClosed = onClosed;
    this.listen(stream);
  }

  private listen(s: FrameStream): void {
    new FrameReader(s, {
      onFrame: (frame) => {
        const p = this.pending.get(frame.header.requestId);
        if (!p) return; // answer to a cancelled request
        this.pending.delete(frame.header.requestId);
        p.resolve(frame);
      },
      onError: (err) => s.abort(err),
    });
    onClose(s, (error) => this.close(error));
  }

  attach(channel: SealedChannel, path: "direct" | "punched"): void {
    this.channel = channel;
    this.wire = channel;
    this.path = path;
    this.listen(channel);
  }

  close(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    const reason = error ? `${error.name}: ${error.message}` : "closed";
    const err = new PipelineStreamClosedError(`pipeline stream ${this.stream.id} ${reason}`);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    // Control stream and data plane live and die together.
    if (this.stream.status === "open") this.stream.abort(err);
    if (this.channel?.status === "open") this.channel.abort(err);
    this.onClosed();
  }
}

export class PipelineClient {
  private readonly node: Libp2p;
  private readonly streams = new Map<string, Promise<HopStream>>();
  private nextId = 1n;

  private readonly dataPlane: boolean;
  private readonly init: PipelineClientInit;

  constructor(node: Libp2p, init: PipelineClientInit = {}) {
    this.node = node;
    this.init = init;
    this.dataPlane = init.dataPlane ?? true;
  }

  /** `peer`'s stages as a Hop (the same call as this node's own stages). */
  hop(peer: PeerId | string): Hop {
    const id = typeof peer === "string" ? peerIdFromString(peer) : peer;
    return { call: (req, options) => this.call(id, req, options) };
  }

  /** How the hop to `peer` carries frames now (undefined: no hop open). */
  path(peer: PeerId | string): HopPath | undefined {
    return this.cached.get(peer.toString())?.path;
  }

  /** The relay (peer id) the hop to `peer` runs through, if its connection is relayed. */
  via(peer: PeerId | string): string | undefined {
    return this.cached.get(peer.toString())?.via;
  }

  /** Every open hop's path, by peer id. */
  paths(): Record<string, HopPath> {
    return Object.fromEntries([...this.cached].map(([peer, hop]) => [peer, hop.path]));
  }

  /** Run one stage on `peer`. Rejects with a named error; never hangs past `timeoutMs`. */
  async call(peer: PeerId, req: HopRequest, options: HopOptions = {}): Promise<HopResult> {
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
        hop.wire,
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
            upstreamHandOff: hexBytes(req.upstreamHandOff),
            requestHash: hexBytes(req.jobRequest?.requestHash),
            jobSignature: hexBytes(req.jobRequest?.signature),
          },
          req.bag,
        ),
        { signal: options.signal },
      );
      const { header, bag } = await promise;
      if (header.kind === Frame.Kind.ERROR) throw new PipelineRemoteError(header.errorName, header.errorMessage);
      return {
        bag,
        inputHash: header.inputHash.byteLength ? toHex(header.inputHash) : undefined,
        outputHash: header.outputHash.byteLength ? toHex(header.outputHash) : undefined,
        handOff: header.handOff.byteLength ? toHex(header.handOff) : undefined,
        computeMs: header.computeMs,
        ms: performance.now() - started,
      };
    } catch (err) {
      if (hop.pending.delete(requestId) && !hop.closed) {
        writeFrame(hop.wire, encodeFrame({ kind: Frame.Kind.CANCEL, version: PIPELINE_VERSION, requestId })).catch(() => {});
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
      p = dialPeer(this.node, peer, signal).then(async ({ conn, signal: dialSignal }) => {
        // A provider behind NAT is reached through a relay until a direct path exists.
        const stream = await conn.newStream(PIPELINE_PROTOCOL, { signal: dialSignal, runOnLimitedConnection: true });
        const hop = new HopStream(stream, relayOf(conn), () => {
          if (this.streams.get(key) === p) this.streams.delete(key);
          this.cached.delete(key);
        });
        this.cached.set(key, hop);
        if (this.dataPlane) await this.upgrade(conn, hop, dialSignal);
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

  /**
   * Ask the provider for a sealed data plane and open it: at the provider's address when it takes
   * connections from outside, by a hole punch when it is behind NAT and both sides know their
   * external addresses; otherwise stay on the libp2p stream (through the relay when relayed).
   */
  private async upgrade(conn: Connection, hop: HopStream, signal: AbortSignal): Promise<void> {
    const peer = conn.remotePeer;
    const requestId = this.nextId++;
    const answer = new Promise<DecodedFrame>((resolve, reject) => hop.pending.set(requestId, { resolve, reject }));
    answer.catch(() => {});
    try {
      // Our side of a possible hole punch: our external IP and a local port we will connect from.
      const external = this.init.reach?.state.externalIp;
      const localHost = this.init.localHost;
      const punchPort = external && localHost ? await reservePort(localHost) : 0;
      await writeFrame(
        hop.stream,
        encodeFrame({
          kind: Frame.Kind.DATA_PLANE_REQUEST,
          version: PIPELINE_VERSION,
          requestId,
          punchHost: punchPort ? external : "",
          punchPort,
        }),
      );
      const timeout = AbortSignal.timeout(DATA_PLANE_OFFER_TIMEOUT_MS);
      const { header: offer } = await Promise.race([
        answer,
        new Promise<never>((_, reject) =>
          AbortSignal.any([signal, timeout]).addEventListener("abort", () => reject(new Error("no data-plane offer")), { once: true }),
        ),
      ]);
      if (offer.kind !== Frame.Kind.DATA_PLANE_OFFER || offer.token.byteLength === 0) return;
      const caller = callerSocket();
      if (offer.punchHost && offer.punchPort && punchPort && localHost) {
        // In the background: requests go through the relay until (unless) the punch succeeds.
        const remote = { host: offer.punchHost, port: offer.punchPort };
        punch({ host: localHost, port: punchPort }, remote, { onread: caller.onread })
          .then((socket) => {
            if (hop.closed) return socket.destroy();
            hop.attach(caller.open(socket, offer.token, offer.key), "punched");
            log("hop to %s: punched to %s:%d", peer, remote.host, remote.port);
          })
          .catch((err: Error) => log("hole punch to %s failed, staying %s: %s", peer, hop.path, err.message));
        return;
      }
      if (!offer.unreachable) {
        // Over a direct connection the provider is where we reached it; over a relay, where it says.
        const host = connectionIp(conn) ?? offer.dataHost;
        if (!host) return;
        hop.attach(await connectDataPlane(host, offer.dataPort, offer.token, offer.key, { signal }), "direct");
      }
      log("hop to %s: %s", peer, hop.path);
    } catch (err) {
      hop.pending.delete(requestId);
      log("no data plane to %s, using the libp2p stream (%s): %s", peer, hop.path, (err as Error).message);
    }
  }

  /** Close every stream (pending requests fail with PipelineStreamClosedError). */
  close(): void {
    for (const hop of this.cached.values()) hop.close(new Error("pipeline client closing"));
    this.streams.clear();
    this.cached.clear();
  }
}

/** A hash or signature as a frame carries it: its bytes, or none. */
function hexBytes(hex: Hex | undefined): Uint8Array<ArrayBuffer> {
  return new Uint8Array(Buffer.from(hex?.slice(2) ?? "", "hex"));
}
