// Pipeline protocol over real libp2p (TCP + noise + yamux on 127.0.0.1): multiplexing,
// limits, deadlines, cancellation, and a raw client sending bad input while an honest client
// keeps being served.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Stream } from "@libp2p/interface";
import { createMeshNode } from "../../../node/src/mesh/node.ts";
import type { MeshNode } from "../../../node/src/mesh/node.ts";
import {
  MAX_DATA_PLANE_OFFERS_PER_STREAM,
  MAX_HEADER_BYTES,
  MAX_PAYLOAD_BYTES,
  MAX_PIPELINE_STREAMS_PER_PEER,
  MAX_TENSORS_PER_FRAME,
  PIPELINE_PROTOCOL,
  PIPELINE_VERSION,
} from "../../../node/src/pipeline/constants.ts";
import { PipelineServer, stageKey } from "../../../node/src/pipeline/server.ts";
import type { StageExecutor } from "../../../node/src/pipeline/server.ts";
import { PipelineClient } from "../../../node/src/pipeline/client.ts";
import { encodeFrame, encodeVarint, Frame, FrameReader, writeFrame } from "../../../node/src/pipeline/frames.ts";
import type { DecodedFrame } from "../../../node/src/pipeline/frames.ts";
import type { WireBag } from "../../../node/src/tensor/index.ts";
import { bagHash } from "../../../node/src/tensor/index.ts";
import { TraceStore } from "../../../node/src/trace/store.ts";
import { createServer, connect } from "node:net";
import type { Socket } from "node:net";
import { randomBytes } from "node:crypto";
import { Uint8ArrayList } from "uint8arraylist";
import { until } from "../../../scripts/lib/wait.ts";
import { DATA_PLANE_MAX_RECORD, MAX_DATA_PLANE_OFFERS_PER_PEER, SealedChannel } from "../../../node/src/pipeline/dataplane.ts";

const enc = (n: number, fill: number) => ({ dtype: 2, dims: [n], data: new Uint8Array(n).fill(fill) });

/** Reads frames from a raw stream; resolves with the first frame or the stream's end. */
function firstFrameOrClose(stream: Stream): Promise<{ frame?: DecodedFrame; closed?: string }> {
  return new Promise((resolve) => {
    new FrameReader(stream, { onFrame: (frame) => resolve({ frame }), onError: (err) => resolve({ closed: err.name }) });
    stream.addEventListener("close", (evt) => resolve({ closed: evt.error?.name ?? "closed" }));
  });
}

describe("pipeline protocol", () => {
  let server: MeshNode;
  let caller: MeshNode;
  let pipeline: PipelineServer;
  let client: PipelineClient;
  let trace: TraceStore;
  const cancelled: string[] = [];

  before(async () => {
    server = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    caller = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    const echo: StageExecutor = { run: async (bag) => ({ out: { ...bag.in, data: bag.in.data.map((b) => b ^ 0xff) } }) };
    const slow: StageExecutor = {
      run: (bag, { signal }) =>
        new Promise<WireBag>((resolve, reject) => {
          const t = setTimeout(() => resolve(bag), 400);
          signal?.addEventListener("abort", () => {
            clearTimeout(t);
            cancelled.push("slow");
            reject(signal.reason as Error);
          });
        }),
    };
    trace = new TraceStore({ path: ":memory:" });
    pipeline = new PipelineServer(server, {
      stages: new Map([
        [stageKey("m", 0), echo],
        [stageKey("m", 1), slow],
        [stageKey("m", 2), { run: async (bag: WireBag) => bag }],
      ]),
      trace,
      maxInflightPerStream: 8,
    });
    await pipeline.start();
    await caller.dial(server.getMultiaddrs()[0]);
    client = new PipelineClient(caller);
  });

  after(async () => {
    client.close();
    await pipeline.stop();
    await caller.stop();
    await server.stop();
    trace.close();
  });

  it("carries many requests in flight on one stream, matched by request id", async () => {
    const results = await Promise.all(
      Array.from({ length: 24 }, (_, i) => client.call(server.peerId, { modelId: "m", stage: 0, bag: { in: enc(1000 + i * 997, i) } })),
    );
    results.forEach((r, i) => {
      assert.equal(r.bag.out.data.byteLength, 1000 + i * 997);
      assert.equal(r.bag.out.data[0], i ^ 0xff);
    });
  });

  it("moves the frames to the sealed data plane the provider offered", async () => {
    assert.ok(pipeline.dataPlanePort > 0);
    assert.equal(pipeline.dataPlaneChannels(), 1, "the client's hop runs over one data-plane channel");
  });

  it("drops a data-plane socket that presents an unknown token", async () => {
    const { connect } = await import("node:net");
    const closed = await new Promise<boolean>((resolve) => {
      const sock = connect({ host: "127.0.0.1", port: pipeline.dataPlanePort }, () => sock.write(Buffer.alloc(32, 7)));
      sock.on("close", () => resolve(true));
      sock.on("error", () => {});
      setTimeout(() => resolve(false), 2000).unref();
    });
    assert.equal(closed, true);
    assert.equal(pipeline.dataPlaneChannels(), 1);
  });

  it("serves the same frames over the libp2p stream when the caller declines the data plane", async () => {
    const plain = new PipelineClient(caller, { dataPlane: false });
    try {
      const rs = await Promise.all(
        Array.from({ length: 6 }, (_, i) => plain.call(server.peerId, { modelId: "m", stage: 0, bag: { in: enc(70_000 + i, i) } })),
      );
      for (const [i, r] of rs.entries()) assert.equal(r.bag.out.data.byteLength, 70_000 + i);
      assert.equal(pipeline.dataPlaneChannels(), 1, "no second channel");
    } finally {
      plain.close();
    }
  });

  it("carries a 1 MiB tensor and a multi-tensor bag intact", async () => {
    const big = new Uint8Array(1 << 20);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
    const r = await client.call(server.peerId, { modelId: "m", stage: 0, bag: { in: { dtype: 2, dims: [1 << 20], data: big } } });
    assert.equal(r.bag.out.data.length, 1 << 20);
    assert.equal(r.bag.out.data[12345], ((12345 * 31) & 0xff) ^ 0xff);
    const multi = await client.call(server.peerId, {
      modelId: "m",
      stage: 2,
      bag: { a: enc(3, 1), b: { dtype: 1, dims: [2, 2], data: new Uint8Array(16).fill(9) } },
    });
    assert.deepEqual(Object.keys(multi.bag).sort(), ["a", "b"]);
    assert.deepEqual(multi.bag.b.dims, [2, 2]);
    assert.equal(multi.bag.b.data[15], 9);
  });

  it("traces job requests with PROTOCOL bag hashes", async () => {
    const bag = { in: enc(64, 9) };
    const r = await client.call(server.peerId, { modelId: "m", stage: 0, bag, jobId: "job-7", index: 3 });
    assert.equal(r.inputHash, bagHash(bag));
    assert.equal(r.outputHash, bagHash(r.bag));
    const rec = trace.get("job-7", 3, 0);
    assert.equal(rec?.inputHash, bagHash(bag));
    assert.equal(rec?.outputHash, bagHash(r.bag));
    assert.deepEqual(trace.tensors("job-7", 3, 0, "input").in.data, bag.in.data);
  });

  it("never lets a pipeline REQUEST from any peer replace a traced row (issue 10 item 15): another input is TraceIndexTakenError, the same input leaves it as it was", async () => {
    const bag = { in: enc(64, 21) };
    await client.call(server.peerId, { modelId: "m", stage: 0, bag, jobId: "15", index: 0 });
    const real = trace.get("15", 0, 0)!;
    const realTensors = trace.tensors("15", 0, 0, "input");
    // A stranger (not the job's gateway) sends a REQUEST for the same job, index and stage.
    const stranger = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    const forged = new PipelineClient(stranger);
    try {
      await stranger.dial(server.getMultiaddrs()[0]);
      await assert.rejects(
        forged.call(server.peerId, { modelId: "m", stage: 0, bag: { in: enc(64, 99) }, jobId: "15", index: 0 }),
        (err: Error & { remoteName?: string }) => err.name === "PipelineRemoteError" && err.remoteName === "TraceIndexTakenError",
      );
      // A retried hop with the same input is served, and the row is still the first one.
      await forged.call(server.peerId, { modelId: "m", stage: 0, bag, jobId: "15", index: 0 });
    } finally {
      forged.close();
      await stranger.stop();
    }
    assert.deepEqual(trace.get("15", 0, 0), real);
    assert.deepEqual(trace.tensors("15", 0, 0, "input"), realTensors);
    // The store itself refuses another input under a taken index (the atomic check after a run).
    assert.throws(
      () => trace.record({ ...real, inputHash: bagHash({ in: enc(64, 98) }) }),
      (err: Error) => err.name === "TraceIndexTakenError",
    );
    assert.equal(trace.record({ ...real }), false, "the same record again changes nothing");
    assert.deepEqual(trace.get("15", 0, 0), real);
  });

  it("answers an unknown stage with the provider's named error", async () => {
    await assert.rejects(
      client.call(server.peerId, { modelId: "m", stage: 9, bag: { in: enc(4, 1) } }),
      (err: Error & { remoteName?: string }) => {
        assert.equal(err.name, "PipelineRemoteError");
        assert.equal(err.remoteName, "PipelineUnknownStageError");
        return true;
      },
    );
  });

  it("times out a slow hop and cancels it on the provider", async () => {
    const before = cancelled.length;
    await assert.rejects(client.call(server.peerId, { modelId: "m", stage: 1, bag: { in: enc(4, 1) } }, { timeoutMs: 100 }), {
      name: "PipelineTimeoutError",
    });
    for (let i = 0; i < 50 && cancelled.length === before; i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(cancelled.length, before + 1, "CANCEL frame reached the provider and aborted the stage");
  });

  it("answers the same call in process and over the network: one hop interface", async () => {
    const req = { modelId: "m", stage: 0, bag: { in: enc(300, 7) }, jobId: "job-9", index: 1 };
    const local = await pipeline.call(req);
    const remote = await client.hop(server.peerId.toString()).call({ ...req, index: 2 });
    assert.deepEqual(local.bag, remote.bag);
    assert.equal(local.inputHash, bagHash(req.bag));
    assert.equal(local.inputHash, remote.inputHash);
    assert.equal(local.outputHash, remote.outputHash);
    assert.equal(trace.get("job-9", 1, 0)?.peerId, server.peerId.toString(), "a local hop is traced as this node's own");
    assert.equal(trace.get("job-9", 2, 0)?.peerId, caller.peerId.toString());
    assert.ok(pipeline.serves("m", 0) && !pipeline.serves("m", 9));
    await assert.rejects(pipeline.call({ ...req, stage: 9 }), { name: "PipelineUnknownStageError" });
    const before = cancelled.length;
    await assert.rejects(pipeline.call({ modelId: "m", stage: 1, bag: { in: enc(4, 1) } }, { timeoutMs: 100 }), {
      name: "PipelineTimeoutError",
    });
    assert.equal(cancelled.length, before + 1, "the local stage was aborted at its deadline");
  });

  it("honours the caller's AbortSignal", async () => {
    const ctrl = new AbortController();
    const p = client.call(server.peerId, { modelId: "m", stage: 1, bag: { in: enc(4, 1) } }, { signal: ctrl.signal });
    setTimeout(() => ctrl.abort(new Error("buyer left")), 50);
    await assert.rejects(p, /buyer left/);
  });

  it("queues past the in-flight limit and refuses with PipelineBusyError once the queue is full", async () => {
    const tight = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    const slow: StageExecutor = { run: (bag) => new Promise((r) => setTimeout(() => r(bag), 200)) };
    const srv = new PipelineServer(tight, { stages: new Map([[stageKey("m", 0), slow]]), maxInflightPerStream: 2, maxQueuedPerStream: 2 });
    await srv.start();
    try {
      await caller.dial(tight.getMultiaddrs()[0]);
      const calls = Array.from({ length: 8 }, () =>
        client.call(tight.peerId, { modelId: "m", stage: 0, bag: { in: enc(4, 1) } }).then(
          () => "ok",
          (e: Error & { remoteName?: string }) => e.remoteName ?? e.name,
        ),
      );
      const outcomes = await Promise.all(calls);
      // 2 run, 2 wait in the queue, the paused stream holds back the rest for a while; what
      // arrives while the queue is full is refused.
      const ok = outcomes.filter((o) => o === "ok").length;
      const busy = outcomes.filter((o) => o === "PipelineBusyError").length;
      assert.ok(ok >= 4, `at least 2 running + 2 queued completed: ${outcomes.join(",")}`);
      assert.ok(busy >= 1, `some were refused: ${outcomes.join(",")}`);
      assert.equal(ok + busy, 8);
    } finally {
      await srv.stop();
      await tight.stop();
    }
  });

  const rawStreams: Stream[] = [];
  async function raw(): Promise<Stream> {
    // Free the previous raw streams first so each test starts under the per-peer stream limit.
    for (const s of rawStreams.splice(0)) s.abort(new Error("done"));
    await new Promise((r) => setTimeout(r, 100));
    const s = await caller.dialProtocol(server.peerId, PIPELINE_PROTOCOL, { signal: AbortSignal.timeout(5000) });
    rawStreams.push(s);
    return s;
  }

  it("fails a bag the peer's reader would refuse alone, before sending it: the shared stream and the other requests on it carry on", async () => {
    await client.call(server.peerId, { modelId: "m", stage: 0, bag: { in: enc(8, 2) } });
    const channels = pipeline.dataPlaneChannels();
    const slow = client.call(server.peerId, { modelId: "m", stage: 0, bag: { in: enc(4096, 3) } });
    const many: WireBag = {};
    for (let i = 0; i <= MAX_TENSORS_PER_FRAME; i++) many[`t${i}`] = enc(1, 1);
    await assert.rejects(
      client.call(server.peerId, { modelId: "m", stage: 0, bag: many }),
      (err: Error) => err.name === "PipelineTooManyTensorsError",
    );
    assert.equal((await slow).bag.out.data[0], 3 ^ 0xff, "the request in flight on the same stream was answered");
    assert.equal((await client.call(server.peerId, { modelId: "m", stage: 0, bag: { in: enc(8, 4) } })).bag.out.data[0], 4 ^ 0xff);
    assert.equal(pipeline.dataPlaneChannels(), channels, "no channel was reset");
  });

  it("answers at most MAX_DATA_PLANE_OFFERS_PER_STREAM data-plane requests on a stream, then closes that stream with PipelineOfferLimitError", async () => {
    // A peer of its own (its own stream budget): the flood is all it sends.
    const flooder = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    await flooder.dial(server.getMultiaddrs()[0]);
    const s = await flooder.dialProtocol(server.peerId, PIPELINE_PROTOCOL, { signal: AbortSignal.timeout(5000) });
    const n = 2_000;
    let offers = 0;
    const errors: string[] = [];
    const closed = new Promise<void>((resolve) => {
      new FrameReader(s, {
        onFrame: (f) => {
          if (f.header.kind === Frame.Kind.DATA_PLANE_OFFER) offers++;
          else if (f.header.kind === Frame.Kind.ERROR) errors.push(f.header.errorName);
        },
        onError: () => resolve(),
      });
      s.addEventListener("close", () => resolve());
    });
    for (let i = 0; i < n && s.status === "open"; i++) {
      const parts = encodeFrame({ kind: Frame.Kind.DATA_PLANE_REQUEST, version: PIPELINE_VERSION, requestId: BigInt(i + 1) });
      if (!s.send(new Uint8ArrayList(...parts))) await s.onDrain().catch(() => {});
    }
    await closed;
    await flooder.stop();
    assert.equal(offers, MAX_DATA_PLANE_OFFERS_PER_STREAM, "the first requests are answered");
    assert.deepEqual(errors, ["PipelineOfferLimitError"], "then one named error, and the stream is closed");
    assert.ok(pipeline.dataPlaneOffers() <= MAX_DATA_PLANE_OFFERS_PER_PEER + 1, `${pipeline.dataPlaneOffers()} offers kept`);
    // Honest callers still get theirs.
    assert.equal((await client.call(server.peerId, { modelId: "m", stage: 0, bag: { in: enc(8, 5) } })).bag.out.data[0], 5 ^ 0xff);
  });

  it("answers a garbage header with PipelineMalformedFrameError and resets the stream", async () => {
    const s = await raw();
    const seen = firstFrameOrClose(s);
    await writeFrame(s, [encodeVarint(10), new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff])]);
    const got = await seen;
    assert.equal(got.frame?.header.errorName, "PipelineMalformedFrameError");
  });

  it("rejects a frame whose payload exceeds the size limit", async () => {
    const s = await raw();
    const seen = firstFrameOrClose(s);
    const head = Frame.encode({
      kind: Frame.Kind.REQUEST,
      version: PIPELINE_VERSION,
      requestId: 1n,
      modelId: "m",
      payloadLength: MAX_PAYLOAD_BYTES + 1,
      tensors: [{ name: "in", dtype: 2, dims: [MAX_PAYLOAD_BYTES + 1], byteLength: MAX_PAYLOAD_BYTES + 1 }],
    });
    await writeFrame(s, [encodeVarint(head.byteLength), head]);
    const got = await seen;
    assert.equal(got.frame?.header.errorName, "PipelineFrameTooLargeError");
  });

  it("rejects an oversize header", async () => {
    const s = await raw();
    const seen = firstFrameOrClose(s);
    await writeFrame(s, [encodeVarint(MAX_HEADER_BYTES + 1)]);
    const got = await seen;
    assert.equal(got.frame?.header.errorName, "PipelineFrameTooLargeError");
  });

  it("rejects inconsistent tensor lengths", async () => {
    const s = await raw();
    const seen = firstFrameOrClose(s);
    const head = Frame.encode({
      kind: Frame.Kind.REQUEST,
      version: PIPELINE_VERSION,
      requestId: 1n,
      modelId: "m",
      payloadLength: 4,
      tensors: [{ name: "in", dtype: 2, dims: [8], byteLength: 8 }],
    });
    await writeFrame(s, [encodeVarint(head.byteLength), head, new Uint8Array(4)]);
    const got = await seen;
    assert.equal(got.frame?.header.errorName, "PipelineMalformedFrameError");
  });

  it("answers another wire version with PipelineVersionError", async () => {
    const s = await raw();
    const seen = firstFrameOrClose(s);
    await writeFrame(s, encodeFrame({ kind: Frame.Kind.REQUEST, version: 99, requestId: 5n, modelId: "m", stage: 0 }, { in: enc(4, 1) }));
    const got = await seen;
    assert.equal(got.frame?.header.errorName, "PipelineVersionError");
    assert.equal(got.frame?.header.requestId, 5n);
    // Nothing on a stream of another version can work: it is closed after the error.
    await until("the stream is closed", async () => s.status !== "open", 5_000, 10);
  });

  it("survives a caller that drops its stream while its request runs (regression: the provider crashed)", async () => {
    // Resuming the stream when the request completed threw StreamStateError on the closed
    // stream, uncaught: the provider process exited (seen on the namespace network when a relayed
    // circuit went away mid-request).
    const crashes: Error[] = [];
    const onCrash = (err: Error) => crashes.push(err);
    process.on("uncaughtException", onCrash);
    process.on("unhandledRejection", onCrash);
    try {
      const s = await raw();
      await writeFrame(
        s,
        encodeFrame({ kind: Frame.Kind.REQUEST, version: PIPELINE_VERSION, requestId: 9n, modelId: "m", stage: 1 }, { in: enc(4, 1) }),
      );
      await new Promise((r) => setTimeout(r, 50));
      s.abort(new Error("caller went away"));
      await new Promise((r) => setTimeout(r, 600)); // past the slow stage's 400 ms
      assert.deepEqual(crashes, []);
      const res = await client.call(server.peerId, { modelId: "m", stage: 0, bag: { in: enc(4, 3) } });
      assert.ok(res.bag.out, "still serving");
    } finally {
      process.off("uncaughtException", onCrash);
      process.off("unhandledRejection", onCrash);
    }
  });

  it("resets streams beyond the per-peer limit", async () => {
    // The honest client holds one stream already; open until the limit refuses one.
    await raw();
    const opened: Stream[] = [];
    const outcomes: string[] = [];
    for (let i = 0; i < MAX_PIPELINE_STREAMS_PER_PEER + 1; i++) {
      try {
        const s = await caller.dialProtocol(server.peerId, PIPELINE_PROTOCOL, { signal: AbortSignal.timeout(5000) });
        opened.push(s);
        // Negotiation is lazy: the provider sees the stream with its first frame, and resets it
        // when it is one too many; otherwise it answers.
        const seen = firstFrameOrClose(s);
        await writeFrame(
          s,
          encodeFrame({ kind: Frame.Kind.REQUEST, version: PIPELINE_VERSION, requestId: 1n, modelId: "m", stage: 0 }, { in: enc(4, 1) }),
        );
        const got = await seen;
        outcomes.push(got.frame ? "served" : `reset:${got.closed}`);
      } catch (err) {
        outcomes.push(`reset:${(err as Error).name}`);
      }
    }
    // The honest client's stream and the raw one from raw() count too.
    assert.ok(
      outcomes.some((o) => o.startsWith("reset")),
      `a stream past the limit was reset: ${outcomes.join(",")}`,
    );
    assert.ok(outcomes.filter((o) => o === "served").length <= MAX_PIPELINE_STREAMS_PER_PEER - 1);
    for (const s of opened) s.abort(new Error("done"));
  });

  it("keeps serving honest callers after all that", async () => {
    const r = await client.call(server.peerId, { modelId: "m", stage: 0, bag: { in: enc(256, 3) } });
    assert.equal(r.bag.out.data[0], 3 ^ 0xff);
  });
});

// The sealed record layer on its own, over real TCP socket pairs on 127.0.0.1. The sealed bytes
// one side writes are captured, then handed to the other side's channel in chosen pieces (as the
// socket's 'data' events), so records split anywhere, and tampered bytes, are exercised exactly.
describe("sealed data-plane records", () => {
  let listener: ReturnType<typeof createServer>;
  const k1 = randomBytes(16);
  const k2 = randomBytes(16);

  before(async () => {
    listener = createServer();
    await new Promise<void>((r) => listener.listen(0, "127.0.0.1", () => r()));
  });

  after(async () => {
    await new Promise<void>((r) => listener.close(() => r()));
  });

  async function pair(): Promise<[Socket, Socket]> {
    const accepted = new Promise<Socket>((r) => listener.once("connection", r));
    const a = connect({ host: "127.0.0.1", port: (listener.address() as { port: number }).port });
    return [a, await accepted];
  }

  /** Seal `messages` on a channel over a fresh socket, close it, and return the bytes that arrived. */
  async function sealed(messages: (Uint8Array | Uint8ArrayList)[]): Promise<Buffer> {
    const [a, b] = await pair();
    const got: Buffer[] = [];
    b.on("data", (d: Buffer) => got.push(d));
    const ended = new Promise<void>((r) => b.once("end", () => r()));
    const sender = new SealedChannel(a, k1, k2, "test-sender");
    for (const m of messages) sender.send(m);
    await sender.close();
    await ended;
    b.destroy();
    return Buffer.concat(got);
  }

  /** A receiving channel over a fresh socket, fed `bytes` in pieces of the given sizes (cycled). */
  async function receive(bytes: Buffer, pieces: number[]): Promise<{ messages: Uint8Array[]; closed?: Error }> {
    const [c, s] = await pair();
    const channel = new SealedChannel(s, k2, k1, "test-receiver");
    const messages: Uint8Array[] = [];
    let closed: Error | undefined;
    channel.addEventListener("message", (evt) => messages.push(...evt.data!));
    channel.addEventListener("close", (evt) => {
      closed = evt.error;
    });
    let off = 0;
    for (let i = 0; off < bytes.byteLength && channel.status === "open"; i++) {
      const len = pieces[i % pieces.length];
      s.emit("data", bytes.subarray(off, off + len));
      off += len;
    }
    c.destroy();
    return { messages, closed };
  }

  it("delivers the byte stream in order, split at any byte; a big part arrives as one buffer of its own", async () => {
    const big = randomBytes(200 * 1024);
    const list = new Uint8ArrayList(big.subarray(0, 1000), big.subarray(1000));
    const small = Uint8Array.from([1, 2, 3]);
    const empty = new Uint8Array(0);
    const bytes = await sealed([list, small, empty, big]);
    for (const pieces of [[1], [3, 7, 16, 1], [65536], [bytes.byteLength]]) {
      const { messages, closed } = await receive(bytes, pieces);
      assert.equal(closed, undefined, `pieces ${pieces}`);
      // Records follow the parts: 1000 B (short, alone in its send), 199 KiB, 3 B, 0 B, 200 KiB.
      assert.deepEqual(
        messages.map((m) => m.byteLength),
        [1000, 200 * 1024 - 1000, 3, 0, 200 * 1024],
        `pieces ${pieces}`,
      );
      assert.deepEqual(Buffer.concat(messages), Buffer.concat([big, small, big]));
      for (const m of [messages[1], messages[4]]) {
        assert.equal(m.byteOffset, 0, "a record is opened into a buffer of its own");
        assert.equal(m.buffer.byteLength, m.byteLength);
      }
    }
  });

  it("coalesces the short parts of one send into one record", async () => {
    const parts = [Uint8Array.from([1]), Uint8Array.from([2, 3]), randomBytes(100)];
    const bytes = await sealed([new Uint8ArrayList(...parts)]);
    assert.equal(bytes.byteLength, 4 + 103 + 16, "one length, one ciphertext, one tag");
    const { messages } = await receive(bytes, [7]);
    assert.deepEqual(
      messages.map((m) => m.byteLength),
      [103],
    );
    assert.deepEqual(Buffer.from(messages[0]), Buffer.concat(parts));
  });

  it("releases nothing from a record whose ciphertext or tag was altered, and closes", async () => {
    const bytes = await sealed([randomBytes(100 * 1024)]);
    for (const at of [4 + 5, 4 + 70 * 1024, bytes.byteLength - 1]) {
      const bad = Buffer.from(bytes);
      bad[at] ^= 1;
      const { messages, closed } = await receive(bad, [4096]);
      assert.equal(messages.length, 0);
      assert.equal(closed?.name, "PipelineStreamClosedError");
      assert.match(closed.message, /authentication/);
    }
  });

  it("refuses a record longer than the limit before reading it", async () => {
    const head = Buffer.alloc(4);
    head.writeUInt32BE(DATA_PLANE_MAX_RECORD + 1);
    const { messages, closed } = await receive(head, [4]);
    assert.equal(messages.length, 0);
    assert.equal(closed?.name, "PipelineFrameTooLargeError");
  });

  it("seals only as fast as the peer reads: send() says when to wait, onDrain when to go on", async () => {
    const [a, b] = await pair();
    b.pause(); // the peer reads nothing for now
    const sender = new SealedChannel(a, k1, k2, "slow-peer");
    const receiver = new SealedChannel(b, k2, k1, "slow-reader");
    const got: Uint8Array[] = [];
    receiver.addEventListener("message", (evt) => got.push(...evt.data!));
    const receiverClosed = new Promise<void>((r) => receiver.addEventListener("close", () => r()));
    receiver.pause();
    const chunk = randomBytes(1024 * 1024);
    const accepted: boolean[] = [];
    for (let i = 0; i < 16; i++) accepted.push(sender.send(chunk));
    assert.equal(accepted[0], true);
    assert.equal(accepted[15], false, "16 MiB queued against a peer that does not read: wait");
    let drained = false;
    const drain = sender.onDrain().then(() => {
      drained = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(drained, false, "no room while the peer does not read");
    receiver.resume();
    await drain;
    await sender.close();
    await receiverClosed;
    const all = Buffer.concat(got);
    assert.equal(all.byteLength, 16 * chunk.byteLength, "everything queued was delivered before the close");
    for (let i = 0; i < 16; i++) assert.ok(all.subarray(i * chunk.byteLength, (i + 1) * chunk.byteLength).equals(chunk), `chunk ${i}`);
  });

  it("fails a pending onDrain with PipelineStreamClosedError when the channel dies", async () => {
    const [a, b] = await pair();
    b.pause();
    const sender = new SealedChannel(a, k1, k2, "dies");
    const chunk = randomBytes(1024 * 1024);
    while (sender.send(chunk));
    const waiting = sender.onDrain();
    b.destroy();
    await assert.rejects(waiting, { name: "PipelineStreamClosedError" });
    assert.throws(() => sender.send(chunk), { name: "PipelineStreamClosedError" });
  });
});

describe("frame reader", () => {
  /** A stand-in stream that only delivers what the test pushes (the reader's unit under test). */
  function fakeStream() {
    const listeners: ((evt: { data: Uint8Array | Uint8ArrayList }) => void)[] = [];
    const stream = {
      addEventListener: (type: string, l: (evt: { data: Uint8Array | Uint8ArrayList }) => void) => {
        if (type === "message") listeners.push(l);
      },
      pause() {},
      resume() {},
    };
    return {
      stream: stream as unknown as Stream,
      push: (data: Uint8Array) => {
        for (const l of listeners) l({ data });
      },
    };
  }

  it("takes a tensor that arrives as exactly one buffer of its own without copying, and copies anything else aligned", async () => {
    const { stream, push } = fakeStream();
    const frames: DecodedFrame[] = [];
    new FrameReader(stream, { onFrame: (f) => frames.push(f), onError: (err) => assert.fail(err) });
    const own = new Uint8Array(64 * 1024).fill(7);
    const [varint, head] = encodeFrame(
      { kind: Frame.Kind.REQUEST, version: PIPELINE_VERSION, requestId: 1n },
      { a: { dtype: 1, dims: [own.byteLength / 4], data: own } },
    );
    push(Buffer.concat([varint, head]));
    push(own);
    assert.equal(frames.length, 1);
    assert.equal(frames[0].bag.a.data, own, "the very buffer: no copy");
    // The same bytes at an odd offset inside a bigger buffer: copied into an aligned one.
    const shared = new Uint8Array(own.byteLength + 3);
    shared.set(own, 3);
    const [v2, h2] = encodeFrame(
      { kind: Frame.Kind.REQUEST, version: PIPELINE_VERSION, requestId: 2n },
      { a: { dtype: 1, dims: [own.byteLength / 4], data: own } },
    );
    push(Buffer.concat([v2, h2]));
    push(shared.subarray(3));
    assert.equal(frames.length, 2);
    const copied = frames[1].bag.a.data;
    assert.notEqual(copied.buffer, shared.buffer);
    assert.equal(copied.byteOffset, 0);
    assert.deepEqual(copied, own);
    assert.equal(new Float32Array(copied.buffer, copied.byteOffset, copied.byteLength / 4).length, own.byteLength / 4);
  });
});
