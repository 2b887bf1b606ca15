// Pipeline server: serves the stages this provider holds over /shardmesh/pipeline/1.0.0.
// One persistent stream per upstream peer carries many requests, multiplexed by requestId;
// each request runs with its own deadline and is cancelled by a CANCEL frame or when the stream
// dies. Every served request is written to the trace store.
import { logger } from "@libp2p/logger";
import type { Libp2p } from "@libp2p/interface";
import {
  HOP_TIMEOUT_MS,
  MAX_HOP_TIMEOUT_MS,
  MAX_DATA_PLANE_OFFERS_PER_STREAM,
  MAX_INFLIGHT_PER_STREAM,
  MAX_QUEUED_PER_STREAM,
  MAX_PIPELINE_STREAMS,
  MAX_PIPELINE_STREAMS_PER_PEER,
  PIPELINE_PROTOCOL,
  PIPELINE_VERSION,
} from "./constants.ts";
import {
  PipelineBusyError,
  PipelineMalformedFrameError,
  PipelineOfferLimitError,
  PipelineTimeoutError,
  PipelineUnknownStageError,
  PipelineVersionError,
} from "./errors.ts";
import type { TraceStore } from "../trace/store.ts";
import { encodeFrame, Frame, FrameReader, onClose, writeFrame } from "./frames.ts";
import type { DecodedFrame, FrameStream } from "./frames.ts";
import { DataPlaneServer, SealedChannel } from "./dataplane.ts";
import type { ControlStream } from "./dataplane.ts";
import { bagBytes, bagHash } from "../tensor/index.ts";
import type { PipelineAdmission } from "./admission.ts";
import type { HandOffs } from "./handoff.ts";
import type { JobRequestCheck, SignedJobRequest } from "./jobrequest.ts";
import type { WireBag } from "../tensor/index.ts";
import { bytesToHex } from "viem";
import type { Hex } from "viem";
import type { HopOptions, HopRequest, HopResult, LocalStages } from "./hop.ts";
import { punch, reservePort } from "../nat/punch.ts";
import type { ReachState } from "../nat/reach.ts";
import { MAX_PUNCHES, MAX_PUNCHES_PER_PEER, PUNCH_INTERVAL_PER_PEER_MS } from "../nat/constants.ts";
import { connectionIp } from "../nat/reach.ts";

const log = logger("shardmesh:pipeline:server");

/** Runs one stage on a bag of input tensors. The inference engine's StageRunner fits this. */
export interface StageExecutor {
  run(bag: WireBag, options: { signal?: AbortSignal }): Promise<WireBag>;
}

export const stageKey = (modelId: string, stage: number): string => `${modelId}#${stage}`;

export interface PipelineServerInit {
  /** Stages served, keyed by `stageKey(modelId, stage)`. */
  stages?: Map<string, StageExecutor>;
  trace?: TraceStore;
  /** Keep input/output tensors in the trace store (default true). */
  keepTensors?: boolean;
  maxInflightPerStream?: number;
  /** Requests queued beyond the in-flight limit before PipelineBusyError. */
  maxQueuedPerStream?: number;
  maxStreamsPerPeer?: number;
  /** Offer callers a sealed direct TCP data plane (default true). */
  dataPlane?: boolean;
  /** Interface the data plane listens on (default 127.0.0.1). */
  dataPlaneHost?: string;
  /** Port the data plane listens on (default 0: any free port). */
  dataPlanePort?: number;
  /** This node's reachability (nat/reach.ts): offers say whether to connect or to punch. */
  reach?: { readonly state: ReachState };
  /**
   * Who is served (./admission.ts): a peer's request is admitted (job membership, free tier,
   * trace quotas) before it runs. Absent: every peer is served (tests of the protocol itself).
   */
  admission?: PipelineAdmission;
  /**
   * Hand-offs of job requests (./handoff.ts): a stage > 0 works only on a request carrying its
   * upstream's HandOff over the input received (kept in the trace row), and a stage before the
   * last signs one over the output it sends. Absent (no chain, no staking key): none.
   */
  handOffs?: HandOffs;
  /**
   * The buyer's signature on job requests (./jobrequest.ts): every stage works on a job's hop only
   * when it carries the job's session-key JobRequest for that index (stage 0: over the input
   * received). Absent (no chain): not checked.
   */
  jobRequests?: JobRequestCheck;
}

export interface ServerLoad {
  inflight: number;
  served: number;
  failed: number;
  /** Mean stage compute time over recent requests, ms. */
  computeMs: number;
}

/** Serves this node's stages to peers over the pipeline protocol, and to this node's router as a Hop. */
export class PipelineServer implements LocalStages {
  private readonly stages: Map<string, StageExecutor>;
  private readonly node: Libp2p;
  private readonly init: PipelineServerInit;
  private inflight = 0;
  private served = 0;
  private failed = 0;
  private computeEwma = 0;
  private readonly streams = new Set<FrameStream>();
  private dataPlane: DataPlaneServer | undefined;
  private readonly channelsPerPeer = new Map<string, number>();
  /** Hole punches under way, per peer (entries at 0 are dropped once their interval passed). */
  private readonly punching = new Map<string, number>();
  /** When each peer's last punch started (dropped with its idle `punching` entry). */
  private readonly punchedAt = new Map<string, number>();

  constructor(node: Libp2p, init: PipelineServerInit = {}) {
    this.node = node;
    this.init = init;
    this.stages = init.stages ?? new Map();
  }

  async start(): Promise<void> {
    if (this.init.dataPlane !== false) {
      this.dataPlane = new DataPlaneServer(
        this.init.dataPlaneHost ?? "127.0.0.1",
        (channel, peerId) => {
          const n = (this.channelsPerPeer.get(peerId) ?? 0) + 1;
          if (n > (this.init.maxStreamsPerPeer ?? MAX_PIPELINE_STREAMS_PER_PEER)) {
            channel.abort(new Error("too many data-plane channels from this peer"));
            return;
          }
          this.channelsPerPeer.set(peerId, n);
          onClose(channel, () => this.channelsPerPeer.set(peerId, (this.channelsPerPeer.get(peerId) ?? 1) - 1));
          this.serve(channel, peerId);
        },
        { port: this.init.dataPlanePort },
      );
      await this.dataPlane.start();
    }
    await this.node.handle(
      PIPELINE_PROTOCOL,
      (stream, connection) => this.serve(stream, connection.remotePeer.toString(), connectionIp(connection)),
      {
        maxInboundStreams: this.init.maxStreamsPerPeer ?? MAX_PIPELINE_STREAMS_PER_PEER,
        maxOutboundStreams: MAX_PIPELINE_STREAMS,
        // Hops to a provider behind NAT run over a relayed connection until a direct path exists;
        // the relay's limits are sized for activations (nat/constants.ts).
        runOnLimitedConnection: true,
      },
    );
  }

  async stop(): Promise<void> {
    await this.node.unhandle(PIPELINE_PROTOCOL);
    await this.dataPlane?.stop();
    for (const s of this.streams) s.abort(new Error("pipeline server stopping"));
  }

  /** Data-plane port (0 when disabled) and open data-plane channels. */
  get dataPlanePort(): number {
    return this.dataPlane?.port ?? 0;
  }
  /** Data-plane offers made within their TTL (bounded per peer: MAX_DATA_PLANE_OFFERS_PER_PEER). */
  dataPlaneOffers(): number {
    return this.dataPlane?.offerCount ?? 0;
  }
  dataPlaneChannels(): number {
    let n = 0;
    for (const v of this.channelsPerPeer.values()) n += v;
    return n;
  }

  get peerId(): string {
    return this.node.peerId.toString();
  }

  serves(modelId: string, stage: number): boolean {
    return this.stages.has(stageKey(modelId, stage));
  }

  /** One hop on this node's own stage, in process: the same call a remote provider answers. */
  async call(req: HopRequest, options: HopOptions = {}): Promise<HopResult> {
    const started = performance.now();
    const timeoutMs = options.timeoutMs ?? HOP_TIMEOUT_MS;
    const ctrl = new AbortController();
    const timer = setTimeout(
      () => ctrl.abort(new PipelineTimeoutError(`stage ${req.stage} of ${req.modelId} here did not finish within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const signal = options.signal ? AbortSignal.any([options.signal, ctrl.signal]) : ctrl.signal;
    try {
      const res = await this.process({ ...req, jobId: req.jobId ?? "", index: req.index ?? 0 }, this.peerId, signal);
      return {
        bag: res.output,
        inputHash: res.inputHash,
        outputHash: res.outputHash,
        handOff: res.handOff,
        computeMs: res.computeMs,
        ms: performance.now() - started,
      };
    } catch (err) {
      if (ctrl.signal.aborted && !options.signal?.aborted) throw ctrl.signal.reason;
      throw err;
    } finally {
      clearTimeout(timer);
    }
  }

  load(): ServerLoad {
    return { inflight: this.inflight, served: this.served, failed: this.failed, computeMs: this.computeEwma };
  }

  /** `remoteIp`: the caller's address on a direct libp2p connection (undefined when relayed). */
  private serve(stream: FrameStream, remote: string, remoteIp?: string): void {
    const running = new Map<bigint, AbortController>();
    const maxInflight = this.init.maxInflightPerStream ?? MAX_INFLIGHT_PER_STREAM;
    this.streams.add(stream);
    const reply = (parts: Uint8Array[]): void => {
      if (stream.status !== "open") return;
      writeFrame(stream, parts).catch((err) => log("reply to %s failed: %s", remote, err.message));
    };
    const fail = (requestId: bigint, err: Error): void => {
      reply(encodeFrame({ kind: Frame.Kind.ERROR, version: PIPELINE_VERSION, requestId, errorName: err.name, errorMessage: err.message }));
    };
    // A caller that breaks the protocol gets one named ERROR and loses this stream (only its own:
    // its other streams, the connection and other peers' streams stay): frames it already sent
    // are dropped unread, none is answered again, and the stream is reset once the ERROR is out.
    // A stream that asked for too many data-plane offers goes the same way.
    const closeWith = (requestId: bigint, err: Error): void => {
      reader.stop();
      fail(requestId, err);
      setTimeout(() => stream.abort(err), 50);
    };
    let offersAsked = 0;
    const maxQueued = this.init.maxQueuedPerStream ?? MAX_QUEUED_PER_STREAM;
    const waiting: DecodedFrame[] = [];
    const start = (frame: DecodedFrame): void => {
      const { header } = frame;
      const ctrl = new AbortController();
      running.set(header.requestId, ctrl);
      this.execute(frame, remote, ctrl.signal)
        .then(
          (parts) => reply(parts),
          (err: Error) => {
            this.failed++;
            fail(header.requestId, err);
          },
        )
        .finally(() => {
          running.delete(header.requestId);
          const next = waiting.shift();
          if (next && stream.status === "open") start(next);
          if (waiting.length === 0) reader.resume();
        });
    };
    const reader: FrameReader = new FrameReader(stream, {
      onFrame: (frame) => {
        const { header } = frame;
        if (header.kind === Frame.Kind.CANCEL) {
          running.get(header.requestId)?.abort(new Error("cancelled by caller"));
          const queued = waiting.findIndex((f) => f.header.requestId === header.requestId);
          if (queued >= 0) waiting.splice(queued, 1);
          return;
        }
        if (header.kind === Frame.Kind.DATA_PLANE_REQUEST) {
          // Counted before anything else is done for it: past the limit it costs one ERROR.
          if (++offersAsked > MAX_DATA_PLANE_OFFERS_PER_STREAM) {
            log("%s asked for data-plane offer %d on one stream: closing it", remote, offersAsked);
            closeWith(
              header.requestId,
              new PipelineOfferLimitError(`more than ${MAX_DATA_PLANE_OFFERS_PER_STREAM} data-plane offers asked on one stream`),
            );
            return;
          }
          if (this.dataPlane && !(stream instanceof SealedChannel)) {
            this.offerDataPlane(this.dataPlane, stream, header, remote, remoteIp).then(reply, (err: Error) => {
              log("no data-plane offer for %s: %s", remote, err.message);
              fail(header.requestId, err); // the caller stays on this stream
            });
            return;
          }
          // No data plane here: the caller stays on this stream.
          fail(header.requestId, new PipelineMalformedFrameError(`unexpected frame kind ${header.kind}`));
          return;
        }
        if (header.kind !== Frame.Kind.REQUEST) {
          closeWith(header.requestId, new PipelineMalformedFrameError(`unexpected frame kind ${header.kind}`));
          return;
        }
        if (header.version !== PIPELINE_VERSION) {
          closeWith(header.requestId, new PipelineVersionError(`wire version ${header.version}, this node speaks ${PIPELINE_VERSION}`));
          return;
        }
        if (running.size >= maxInflight) {
          // Over the limit: queue (the stream is paused, so yamux's window stops the sender);
          // refuse only when the caller ignores backpressure long enough to fill the queue.
          if (waiting.length >= maxQueued) {
            fail(
              header.requestId,
              new PipelineBusyError(
                `${running.size} running and ${waiting.length} queued on this stream (limits ${maxInflight}/${maxQueued})`,
              ),
            );
            return;
          }
          waiting.push(frame);
          stream.pause();
          return;
        }
        start(frame);
      },
      onError: (err) => {
        log("malformed input from %s: %s", remote, err.message);
        // The byte stream cannot be resynchronised after a framing error: reset it.
        closeWith(0n, err);
      },
    });
    onClose(stream, () => {
      this.streams.delete(stream);
      waiting.length = 0;
      for (const ctrl of running.values()) ctrl.abort(new Error("stream closed"));
    });
  }

  /**
   * Answer a caller's DATA_PLANE_REQUEST. A data plane that takes connections from outside (or
   * may: reachability unknown) is offered at its address; one behind NAT is offered through a
   * hole punch when the caller sent its side of one and this node knows its external IP: this
   * node then connects to the caller from a fresh local port right away while the caller connects
   * to it, and the punched socket must present the offered token like any accepted one.
   */
  private async offerDataPlane(
    dataPlane: DataPlaneServer,
    control: ControlStream,
    header: Frame,
    remote: string,
    remoteIp?: string,
  ): Promise<Uint8Array[]> {
    const offer = dataPlane.offer(remote, control);
    const reach = this.init.reach?.state ?? { status: "unknown" };
    const unreachable = reach.dataPlane === false;
    const host = this.init.dataPlaneHost ?? "127.0.0.1";
    let punchPort = 0;
    // Over a direct connection the caller is where we see it: it may not name another address.
    const sameHost = remoteIp === undefined || remoteIp === header.punchHost;
    if (unreachable && reach.externalIp && header.punchHost && header.punchPort && sameHost && this.punchAllowed(remote)) {
      punchPort = await reservePort(host);
      const caller = { host: header.punchHost, port: header.punchPort };
      punch({ host, port: punchPort }, caller)
        .then((socket) => dataPlane.adopt(socket))
        .catch((err: Error) => log("hole punch to %s (%s:%d) failed: %s", remote, caller.host, caller.port, err.message))
        .finally(() => this.punching.set(remote, (this.punching.get(remote) ?? 1) - 1));
    }
    return encodeFrame({
      kind: Frame.Kind.DATA_PLANE_OFFER,
      version: PIPELINE_VERSION,
      requestId: header.requestId,
      dataPort: offer.port,
      token: offer.token,
      key: offer.key,
      dataHost: reach.externalIp ?? "",
      unreachable,
      punchHost: punchPort ? reach.externalIp : "",
      punchPort,
    });
  }

  /**
   * A punch makes this node connect to an address the caller names (over a relayed connection it
   * cannot be checked): at most MAX_PUNCHES_PER_PEER at once per peer, one start per peer per
   * PUNCH_INTERVAL_PER_PEER_MS, MAX_PUNCHES at once in all, each a bounded number of SYNs
   * (nat/punch.ts), so callers cannot turn providers into a SYN source against others.
   */
  private punchAllowed(remote: string): boolean {
    const now = Date.now();
    let total = 0;
    for (const [peer, n] of this.punching) {
      total += n;
      if (n === 0 && now - (this.punchedAt.get(peer) ?? 0) >= PUNCH_INTERVAL_PER_PEER_MS) {
        this.punching.delete(peer);
        this.punchedAt.delete(peer);
      }
    }
    const mine = this.punching.get(remote) ?? 0;
    if (mine >= MAX_PUNCHES_PER_PEER || total >= MAX_PUNCHES) return false;
    if (now - (this.punchedAt.get(remote) ?? 0) < PUNCH_INTERVAL_PER_PEER_MS) return false;
    this.punching.set(remote, mine + 1);
    this.punchedAt.set(remote, now);
    return true;
  }

  private async execute({ header, bag }: DecodedFrame, remote: string, cancel: AbortSignal): Promise<Uint8Array[]> {
    const timeout = AbortSignal.timeout(Math.min(header.timeoutMs || HOP_TIMEOUT_MS, MAX_HOP_TIMEOUT_MS));
    const admission = this.init.admission;
    const inBytes = bagBytes(bag);
    await admission?.admit({ peerId: remote, modelId: header.modelId, stage: header.stage, jobId: header.jobId, bytes: inBytes });
    const res = await this.process(
      {
        modelId: header.modelId,
        stage: header.stage,
        jobId: header.jobId,
        index: Number(header.index),
        bag,
        upstreamHandOff: header.upstreamHandOff.byteLength ? bytesToHex(header.upstreamHandOff) : undefined,
        jobRequest:
          header.jobSignature.byteLength || header.requestHash.byteLength
            ? { requestHash: bytesToHex(header.requestHash), signature: bytesToHex(header.jobSignature) }
            : undefined,
      },
      remote,
      AbortSignal.any([cancel, timeout]),
    );
    if (this.init.trace && this.init.keepTensors !== false) admission?.charge(remote, header.jobId, inBytes + bagBytes(res.output));
    return encodeFrame(
      {
        kind: Frame.Kind.RESPONSE,
        version: PIPELINE_VERSION,
        requestId: header.requestId,
        modelId: header.modelId,
        stage: header.stage,
        jobId: header.jobId,
        index: header.index,
        inputHash: hexBytes(res.inputHash),
        outputHash: hexBytes(res.outputHash),
        handOff: hexBytes(res.handOff),
        computeMs: Math.round(res.computeMs),
      },
      res.output,
    );
  }

  /** Run one request on a served stage and trace it (the network handler and `call` both come here). */
  private async process(
    req: {
      modelId: string;
      stage: number;
      jobId: string;
      index: number;
      bag: WireBag;
      inputHash?: Hex;
      upstreamHandOff?: Hex;
      jobRequest?: SignedJobRequest;
    },
    remote: string,
    signal: AbortSignal,
  ): Promise<{ output: WireBag; inputHash?: Hex; outputHash?: Hex; handOff?: Hex; computeMs: number }> {
    const executor = this.stages.get(stageKey(req.modelId, req.stage));
    if (!executor) throw new PipelineUnknownStageError(`stage ${req.stage} of model ${req.modelId} is not served here`);
    // Hashes (keccak over every tensor byte) are only worth their cost for job requests, which
    // are traced and end up in receipts; an untraced request (probe, benchmark) skips them.
    const traced = req.jobId !== "";
    // An in-process caller passes the input's hash it already computed (hash each byte once).
    const inputHash = traced ? (req.inputHash ?? bagHash(req.bag)) : undefined;
    // A traced (job, index, stage) is never replaced (trace/store.ts): refused before it runs.
    if (this.init.trace && traced)
      this.init.trace.checkFree({ jobId: req.jobId, index: req.index, stage: req.stage, inputHash: inputHash! });
    // Beyond stage 0 a job's hop runs only on what the upstream signed it sent (kept below, and
    // presented at a hand-off claim): without it this provider could be blamed for a lie upstream.
    // Only the buyer's own request may take a job's (index, stage) row: signed by its session key.
    if (traced && this.init.jobRequests)
      await this.init.jobRequests.check({
        jobId: req.jobId,
        index: req.index,
        stage: req.stage,
        inputHash: inputHash!,
        request: req.jobRequest,
      });
    const handOffs = traced ? this.init.handOffs : undefined;
    const upstream =
      handOffs && req.stage > 0
        ? await handOffs.checkUpstream({
            jobId: req.jobId,
            index: req.index,
            stage: req.stage,
            inputHash: inputHash!,
            signature: req.upstreamHandOff,
          })
        : undefined;
    this.inflight++;
    const started = performance.now();
    let output: WireBag;
    try {
      output = await executor.run(req.bag, { signal });
    } finally {
      this.inflight--;
    }
    signal.throwIfAborted();
    const computeMs = performance.now() - started;
    this.computeEwma = this.served === 0 ? computeMs : 0.8 * this.computeEwma + 0.2 * computeMs;
    this.served++;
    const outputHash = traced ? bagHash(output) : undefined;
    const handOff = handOffs
      ? await handOffs.sign({ modelId: req.modelId, jobId: req.jobId, index: req.index, stage: req.stage, outputHash: outputHash! })
      : undefined;
    if (this.init.trace && traced) {
      this.init.trace.record(
        {
          jobId: req.jobId,
          index: req.index,
          modelId: req.modelId,
          stage: req.stage,
          inputHash: inputHash!,
          outputHash: outputHash!,
          peerId: remote,
          ...(upstream ? { handOff: req.upstreamHandOff, handOffSigner: upstream } : {}),
        },
        this.init.keepTensors === false ? undefined : { input: req.bag, output },
      );
    }
    return { output, inputHash, outputHash, handOff, computeMs };
  }
}

/** A hash or signature as the frame carries it: its bytes, or none. */
function hexBytes(hash: Hex | undefined): Uint8Array<ArrayBuffer> {
  return hash ? new Uint8Array(Buffer.from(hash.slice(2), "hex")) : new Uint8Array(0);
}
