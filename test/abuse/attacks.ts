// Attack clients for the hostile-client suite and the abuse benchmark: each one does what the
// issue's attacker did, speaking the wire protocols directly (HTTP to the gateway; gossip,
// pipeline frames, data-plane offers and shard answers as a libp2p peer), so they keep working
// whatever the node's internals look like.
import { connect, type Socket } from "node:net";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import { Uint8ArrayList } from "uint8arraylist";
import { createMeshNode, type MeshNode } from "../../node/src/mesh/node.ts";
import { CAPABILITY_TOPIC, SHARD_PROTOCOL } from "../../node/src/mesh/constants.ts";
import { PIPELINE_PROTOCOL, PIPELINE_VERSION } from "../../node/src/pipeline/constants.ts";
import { encodeFrame, Frame, FrameReader, writeFrame, type DecodedFrame } from "../../node/src/pipeline/frames.ts";
import { PipelineClient } from "../../node/src/pipeline/client.ts";
import type { WireBag } from "../../node/src/tensor/index.ts";
import { ShardResponse } from "../../node/src/pb/shard.js";
import { ATTACKER_ADDRESS, httpJson, type HttpAnswer } from "./harness.ts";
import { pngBomb } from "../node/ocr/fixtures.ts";

// ————— images —————

const attacker = { localAddress: ATTACKER_ADDRESS };

/** Posts a PNG declaring width×height pixels as a buyer's image. */
export function imageBomb(url: string, modelId: string, width: number, height: number): Promise<HttpAnswer> {
  const image = Buffer.from(pngBomb(width, height)).toString("base64");
  return httpJson(`${url}/v1/infer`, { ...attacker, body: JSON.stringify({ modelId, input: { image } }), timeoutMs: 120_000 });
}

// ————— oversized and malformed work —————

/** A body of `n` tensor keys (the issue: 2,000,000 keys in 24.9 MB). */
export function manyKeysBody(modelId: string, n: number): Buffer {
  const parts: string[] = [`{"modelId":${JSON.stringify(modelId)},"input":{"tensors":{`];
  for (let i = 0; i < n; i++) parts.push(`${i ? "," : ""}"k${i}":0`);
  parts.push("}}}");
  return Buffer.from(parts.join(""));
}

export function postInfer(url: string, body: string | Buffer, timeoutMs = 120_000): Promise<HttpAnswer> {
  return httpJson(`${url}/v1/infer`, { ...attacker, body, timeoutMs });
}

/** An /v1/infer body with one float32 tensor `x` of `dims` (zeros), its data `bytes` long (default: right). */
export function tensorBody(modelId: string, dims: number[], bytes = 4 * dims.reduce((a, b) => a * b, 1)): string {
  return JSON.stringify({ modelId, input: { tensors: { x: { dtype: "float32", dims, data: Buffer.alloc(bytes).toString("base64") } } } });
}

/** An /v1/infer body with `n` small tensors. */
export function manyTensorsBody(modelId: string, n: number): string {
  const tensors: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) tensors[`t${i}`] = { dtype: "float32", dims: [1], data: "AAAAAA==" };
  return JSON.stringify({ modelId, input: { tensors } });
}

/** A JSON value nested `depth` arrays deep (the deeply nested `count`). */
export function deepJson(depth: number): string {
  return `{"count":${"[".repeat(depth)}1${"]".repeat(depth)},"signature":"0x"}`;
}

/** Raw HTTP requests and connections, as a client that misbehaves below the request level. */
export function rawSocket(url: string): Promise<Socket> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), localAddress: ATTACKER_ADDRESS }, () => resolve(s));
    s.once("error", reject);
  });
}

/**
 * A slow body: headers announcing `length` bytes, then one byte every `everyMs`. Resolves when
 * the server closes the connection (with how long it stayed open and what it answered) or after
 * `maxMs` (then closed by us: the server never gave up).
 */
export async function slowBody(
  url: string,
  o: { length?: number; everyMs?: number; maxMs: number },
): Promise<{ openMs: number; closedByServer: boolean; answer: string }> {
  const s = await rawSocket(url);
  const started = performance.now();
  let answer = "";
  s.on("data", (d) => {
    answer += String(d);
  });
  s.on("error", () => {});
  s.write(`POST /v1/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${o.length ?? 1_000_000}\r\n\r\n{`);
  const timer = setInterval(() => s.write(" "), o.everyMs ?? 1_000);
  const closed = new Promise<boolean>((resolve) => {
    s.once("close", () => resolve(true));
    setTimeout(() => resolve(false), o.maxMs);
  });
  const byServer = await closed;
  clearInterval(timer);
  s.destroy();
  return { openMs: performance.now() - started, closedByServer: byServer, answer };
}

/** A request line whose path has a malformed percent-escape (the issue: a 500 URIError). */
export async function rawRequest(url: string, requestText: string, waitMs = 5_000): Promise<string> {
  const s = await rawSocket(url);
  let answer = "";
  s.on("data", (d) => {
    answer += String(d);
  });
  s.on("error", () => {});
  s.write(requestText);
  await new Promise<void>((resolve) => {
    s.once("close", () => resolve());
    setTimeout(resolve, waitMs);
  });
  s.destroy();
  return answer;
}

/** Opens `n` idle connections and holds them; returns how many the server accepted and kept. */
export async function connectionFlood(url: string, n: number, holdMs: number): Promise<{ opened: number; open: number; close(): void }> {
  const sockets: Socket[] = [];
  for (let i = 0; i < n; i++) {
    try {
      const s = await rawSocket(url);
      s.on("error", () => {});
      sockets.push(s);
    } catch {
      break;
    }
  }
  await new Promise((r) => setTimeout(r, holdMs));
  return {
    opened: sockets.length,
    // Counted from each socket's state, not from 'close' events: a socket the server closed while
    // the loop above was still opening others had emitted its 'close' before anyone listened (a
    // loaded CI machine once counted 88 of 100 "open" that way, with the cap at 32).
    open: sockets.filter((s) => !s.destroyed).length,
    close: () => {
      for (const s of sockets) s.destroy();
    },
  };
}

/** `n` unpaid requests from one client, `concurrency` at a time (within its connection cap). */
export async function unpaidFlood(url: string, body: string, n: number, concurrency = 16): Promise<HttpAnswer[]> {
  const out: HttpAnswer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        next++;
        out.push(await postInfer(url, body, 60_000));
      }
    }),
  );
  return out;
}

// ————— a hostile peer —————

export interface Attacker {
  node: MeshNode;
  peerId: string;
  stop(): Promise<void>;
}

/** A libp2p peer with a fresh key (never staked or bound), dialling the mesh's bootstrap peers. */
export async function startAttacker(bootstrap: string[]): Promise<Attacker> {
  const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), bootstrap, dht: false });
  node.services.pubsub.subscribe(CAPABILITY_TOPIC);
  const stops: Array<() => void | Promise<void>> = [];
  const attacker: Attacker & { stops: typeof stops } = {
    node,
    peerId: node.peerId.toString(),
    stops,
    async stop() {
      for (const s of stops) await s();
      await node.stop();
    },
  };
  return attacker;
}

/** Publishes `fields` as this peer's capability announcement every `everyMs` (any JSON at all). */
export function announce(a: Attacker, fields: Record<string, unknown>, everyMs = 500): () => void {
  let seq = 0;
  const send = () => {
    const ann = { v: 1, peerId: a.peerId, addrs: a.node.getMultiaddrs().map(String), seq: ++seq, ts: Date.now(), ...fields };
    a.node.services.pubsub.publish(CAPABILITY_TOPIC, new TextEncoder().encode(JSON.stringify(ann))).catch(() => {});
  };
  send();
  const timer = setInterval(send, everyMs);
  const stop = () => clearInterval(timer);
  (a as Attacker & { stops: Array<() => void> }).stops.push(stop);
  return stop;
}

/** Serves the pipeline protocol answering every request with `output` (a forged result). */
export async function serveForgedStage(a: Attacker, output: WireBag): Promise<{ requests: number }> {
  const seen = { requests: 0 };
  await a.node.handle(PIPELINE_PROTOCOL, (stream: Stream) => {
    new FrameReader(stream, {
      onFrame: (f: DecodedFrame) => {
        if (f.header.kind !== Frame.Kind.REQUEST) return;
        seen.requests++;
        void writeFrame(
          stream,
          encodeFrame(
            {
              kind: Frame.Kind.RESPONSE,
              version: PIPELINE_VERSION,
              requestId: f.header.requestId,
              modelId: f.header.modelId,
              stage: f.header.stage,
              jobId: f.header.jobId,
              index: f.header.index,
              inputHash: new Uint8Array(32),
              outputHash: new Uint8Array(32),
            },
            output,
          ),
        ).catch(() => {});
      },
      onError: () => stream.abort(new Error("bad frame")),
    });
  });
  return seen;
}

/** Asks a provider to run a stage for us with the pipeline client (free compute, any job id). */
export async function pipelineRequest(
  a: Attacker,
  peerId: string,
  req: { modelId: string; stage: number; bag: WireBag; jobId?: string; index?: number },
): Promise<{ ok: boolean; name?: string }> {
  const client = new PipelineClient(a.node);
  try {
    await client.call(peerIdFromString(peerId), req, { timeoutMs: 20_000 });
    return { ok: true };
  } catch (err) {
    const e = err as Error & { remoteName?: string };
    return { ok: false, name: e.remoteName ?? e.name };
  } finally {
    client.close();
  }
}

/**
 * Sends `n` frames (default DATA_PLANE_REQUEST) on one pipeline stream (the issue: ~100k offers
 * on a stream cost 7 s of CPU); resolves with the offers and errors answered, whether the
 * provider closed the stream (`closed`: before every frame was answered and before `timeoutMs`),
 * how many frames were sent, and how long the stream lived.
 */
export async function offerFlood(
  a: Pick<Attacker, "node">,
  peerId: string,
  n: number,
  timeoutMs = 30_000,
  kind: Frame.Kind = Frame.Kind.DATA_PLANE_REQUEST,
): Promise<{ offers: number; errors: string[]; closed: boolean; sent: number; ms: number }> {
  const started = performance.now();
  const stream = await a.node.dialProtocol(peerIdFromString(peerId), PIPELINE_PROTOCOL, { signal: AbortSignal.timeout(5_000) });
  let offers = 0;
  let sent = 0;
  let closed = false;
  let over = false;
  let timer: NodeJS.Timeout | undefined;
  const errors: string[] = [];
  const done = new Promise<void>((resolve) => {
    new FrameReader(stream, {
      onFrame: (f) => {
        if (f.header.kind === Frame.Kind.DATA_PLANE_OFFER) offers++;
        else if (f.header.kind === Frame.Kind.ERROR) errors.push(f.header.errorName);
        if (offers + errors.length >= n) resolve();
      },
      onError: () => resolve(),
    });
    stream.addEventListener("close", () => {
      if (!over) closed = offers + errors.length < n;
      resolve();
    });
    timer = setTimeout(resolve, timeoutMs);
  });
  for (; sent < n && stream.status === "open"; sent++) {
    const parts = encodeFrame({ kind, version: PIPELINE_VERSION, requestId: BigInt(sent + 1) });
    if (!stream.send(new Uint8ArrayList(...parts))) await stream.onDrain().catch(() => {});
  }
  await done;
  clearTimeout(timer);
  over = true;
  stream.abort(new Error("done"));
  return { offers, errors, closed, sent, ms: performance.now() - started };
}

/** Serves the shard protocol claiming to hold every file, of `size` bytes. */
export async function serveShardLie(a: Attacker, size: bigint): Promise<{ asked: number }> {
  const seen = { asked: 0 };
  await a.node.handle(SHARD_PROTOCOL, async (stream: Stream) => {
    const lp = lpStream(stream);
    try {
      await lp.read();
      seen.asked++;
      await lp.write(ShardResponse.encode({ found: true, size, offset: 0n, data: new Uint8Array(0) }));
      await stream.close();
    } catch {
      stream.abort(new Error("x"));
    }
  });
  return seen;
}
