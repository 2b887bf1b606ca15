// Shard distribution: stage files move between providers by sha256 over /shardmesh/shard/1.0.0.
// A provider holding only a manifest finds holders (kad-dht provider records for the stage
// file's CID, plus peers announcing the stage), asks each for the file's size, then pulls
// SHARD_CHUNK_BYTES chunks from several peers at once into `<sha>.part`, recording finished
// chunks in `<sha>.part.json` so an interrupted fetch resumes where it stopped. The whole file
// is checked against the sha256 before it is renamed into place.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { open } from "node:fs/promises";
import { join } from "node:path";
import { logger } from "@libp2p/logger";
import { lpStream } from "@libp2p/utils";
import { peerIdFromString } from "@libp2p/peer-id";
import type { PeerId, Stream } from "@libp2p/interface";
import { CID } from "multiformats/cid";
import * as Digest from "multiformats/hashes/digest";
import { ShardRequest, ShardResponse } from "../pb/shard.js";
import {
  MAX_SHARD_BYTES,
  SHARD_CHUNK_BYTES,
  SHARD_CHUNK_MAX,
  SHARD_CHUNK_TIMEOUT_MS,
  SHARD_PARALLEL_PEERS,
  SHARD_PROTOCOL,
} from "./constants.ts";
import { ShardHashMismatchError } from "../inference/errors.ts";
import { ShardProtocolError, ShardUnavailableError } from "./errors.ts";
import { openPeerStream } from "../nat/dial.ts";
import type { MeshNode } from "./node.ts";

const log = logger("shardmesh:mesh:shards");
const RAW_CODEC = 0x55;
const SHA256_CODE = 0x12;

/** CID of a stage file: CIDv1, raw codec, sha256 multihash. */
export function shardCid(sha256Hex: string): CID {
  return CID.createV1(RAW_CODEC, Digest.create(SHA256_CODE, Buffer.from(sha256Hex, "hex")));
}

/** Decodes a shard request; ShardProtocolError for bytes that are not one. */
export function decodeShardRequest(bytes: Uint8Array): ShardRequest {
  try {
    return ShardRequest.decode(bytes);
  } catch (err) {
    throw new ShardProtocolError(`malformed shard request: ${(err as Error).message}`);
  }
}

/** Decodes a shard answer; ShardProtocolError for bytes that are not one. */
export function decodeShardResponse(bytes: Uint8Array): ShardResponse {
  try {
    return ShardResponse.decode(bytes);
  } catch (err) {
    throw new ShardProtocolError(`malformed shard answer: ${(err as Error).message}`);
  }
}

export interface ShardProgress {
  sha256: string;
  bytes: number;
  total: number;
  peers: number;
}

export class ShardService {
  private readonly node: MeshNode;
  private readonly dir: string;
  /** sha256 → path of files this node can serve. */
  private readonly files = new Map<string, string>();

  constructor(node: MeshNode, dataDir: string) {
    this.node = node;
    this.dir = join(dataDir, "shards");
    mkdirSync(this.dir, { recursive: true });
  }

  async start(): Promise<void> {
    await this.node.handle(SHARD_PROTOCOL, (stream) => this.serve(stream), { maxInboundStreams: 32, runOnLimitedConnection: true });
  }

  async stop(): Promise<void> {
    await this.node.unhandle(SHARD_PROTOCOL);
  }

  /** Serve `path` as the file with `sha256`, and announce it on the DHT. */
  async add(sha256: string, path: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.files.set(sha256, path);
    if ("dht" in this.node.services) {
      try {
        await this.node.contentRouting.provide(shardCid(sha256), { signal: options.signal ?? AbortSignal.timeout(10_000) });
      } catch (err) {
        log("provide %s failed: %s", sha256.slice(0, 12), (err as Error).message);
      }
    }
  }

  /** Local path of a fetched or added shard, if present. */
  local(sha256: string): string | undefined {
    const known = this.files.get(sha256);
    if (known && existsSync(known)) return known;
    const p = join(this.dir, sha256);
    return existsSync(p) ? p : undefined;
  }

  private async serve(stream: Stream): Promise<void> {
    const lp = lpStream(stream, { maxDataLength: SHARD_CHUNK_MAX + 1024, maxBufferSize: SHARD_CHUNK_MAX + 4096 });
    try {
      const req = decodeShardRequest((await lp.read({ signal: AbortSignal.timeout(SHARD_CHUNK_TIMEOUT_MS) })).subarray());
      const path = /^[0-9a-f]{64}$/.test(req.sha256) ? this.local(req.sha256) : undefined;
      if (!path) {
        await lp.write(ShardResponse.encode({ found: false }));
      } else {
        const size = statSync(path).size;
        if (req.have) {
          await lp.write(ShardResponse.encode({ found: true, size: BigInt(size) }));
        } else {
          const offset = Number(req.offset);
          const length = Math.min(req.length, SHARD_CHUNK_MAX, Math.max(0, size - offset));
          const fh = await open(path, "r");
          try {
            const data = new Uint8Array(length);
            await fh.read(data, 0, length, offset);
            await lp.write(ShardResponse.encode({ found: true, size: BigInt(size), offset: BigInt(offset), data }));
          } finally {
            await fh.close();
          }
        }
      }
      await stream.close();
    } catch (err) {
      stream.abort(err as Error);
    }
  }

  private async ask(peer: PeerId, req: Partial<ShardRequest>, signal: AbortSignal): Promise<ShardResponse> {
    const stream = await openPeerStream(this.node, peer, SHARD_PROTOCOL, { signal });
    const lp = lpStream(stream, { maxDataLength: SHARD_CHUNK_MAX + 1024, maxBufferSize: SHARD_CHUNK_MAX + 4096 });
    try {
      await lp.write(ShardRequest.encode(req), { signal });
      const res = decodeShardResponse((await lp.read({ signal })).subarray());
      await stream.close().catch(() => {});
      return res;
    } catch (err) {
      stream.abort(err as Error);
      throw err;
    }
  }

  /** Peers that may hold `sha256`: DHT provider records plus `hints` (e.g. announcing peers). */
  async holders(sha256: string, hints: string[] = [], options: { signal?: AbortSignal } = {}): Promise<string[]> {
    const found = new Set(hints.filter((h) => h !== this.node.peerId.toString()));
    if ("dht" in this.node.services) {
      const signal = AbortSignal.any([options.signal ?? new AbortController().signal, AbortSignal.timeout(3_000)]);
      try {
        for await (const p of this.node.contentRouting.findProviders(shardCid(sha256), { signal })) {
          if (!p.id.equals(this.node.peerId)) found.add(p.id.toString());
          if (found.size >= 2 * SHARD_PARALLEL_PEERS) break;
        }
      } catch (err) {
        log("findProviders %s: %s", sha256.slice(0, 12), (err as Error).message);
      }
    }
    return [...found];
  }

  /**
   * Fetch the file with `sha256` into the shard folder (resuming a previous partial fetch) and
   * return its path. Throws ShardUnavailableError or ShardHashMismatchError. `bytes` is the size
   * the manifest gives: peers claiming any other size are not asked for chunks (a peer's claimed
   * size would otherwise size the chunk plan and the file), and without it no more than
   * MAX_SHARD_BYTES is fetched.
   */
  async fetch(
    sha256: string,
    options: { bytes?: number; hints?: string[]; signal?: AbortSignal; onProgress?: (p: ShardProgress) => void } = {},
  ): Promise<string> {
    const have = this.local(sha256);
    if (have) return have;
    const signal = options.signal ?? new AbortController().signal;
    const candidates = await this.holders(sha256, options.hints, { signal });
    const peers: { id: PeerId; size: number }[] = [];
    await Promise.all(
      candidates.map(async (id) => {
        try {
          const r = await this.ask(
            peerIdFromString(id),
            { sha256, have: true },
            AbortSignal.any([signal, AbortSignal.timeout(SHARD_CHUNK_TIMEOUT_MS)]),
          );
          const size = Number(r.size);
          if (!r.found) return;
          if (options.bytes !== undefined ? size !== options.bytes : size > MAX_SHARD_BYTES) {
            log(
              "%s claims %s is %d bytes (expected %s): not asked",
              id,
              sha256.slice(0, 12),
              size,
              options.bytes ?? `≤ ${MAX_SHARD_BYTES}`,
            );
            return;
          }
          peers.push({ id: peerIdFromString(id), size });
        } catch (err) {
          log("%s cannot say whether it has %s: %s", id, sha256.slice(0, 12), (err as Error).message);
        }
      }),
    );
    if (peers.length === 0) throw new ShardUnavailableError(`no peer has shard ${sha256}`);
    const total = peers[0].size;
    const part = join(this.dir, `${sha256}.part`);
    const stateFile = `${part}.json`;
    const chunks = Math.ceil(total / SHARD_CHUNK_BYTES);
    let done = new Set<number>();
    if (existsSync(part) && existsSync(stateFile)) {
      try {
        const st = JSON.parse(readFileSync(stateFile, "utf8")) as { total: number; done: number[] };
        if (st.total === total) done = new Set(st.done);
      } catch {
        done = new Set();
      }
    }
    if (!existsSync(part) || done.size === 0) writeFileSync(part, new Uint8Array(0));
    const fh = await open(part, "r+");
    const todo = Array.from({ length: chunks }, (_, i) => i).filter((i) => !done.has(i));
    let bytes = [...done].reduce((n, i) => n + Math.min(SHARD_CHUNK_BYTES, total - i * SHARD_CHUNK_BYTES), 0);
    const active = peers.slice(0, SHARD_PARALLEL_PEERS);
    const failures = new Map<string, number>();
    const saveState = () => writeFileSync(stateFile, JSON.stringify({ total, done: [...done] }));
    try {
      await Promise.all(
        active.map(async (peer) => {
          while (todo.length > 0) {
            signal.throwIfAborted();
            const i = todo.shift()!;
            const offset = i * SHARD_CHUNK_BYTES;
            const length = Math.min(SHARD_CHUNK_BYTES, total - offset);
            try {
              const r = await this.ask(
                peer.id,
                { sha256, offset: BigInt(offset), length },
                AbortSignal.any([signal, AbortSignal.timeout(SHARD_CHUNK_TIMEOUT_MS)]),
              );
              if (!r.found || r.data.byteLength !== length) throw new ShardUnavailableError(`bad chunk ${i} from ${peer.id}`);
              await fh.write(r.data, 0, length, offset);
              done.add(i);
              bytes += length;
              saveState();
              options.onProgress?.({ sha256, bytes, total, peers: active.length });
            } catch (err) {
              todo.push(i);
              const n = (failures.get(peer.id.toString()) ?? 0) + 1;
              failures.set(peer.id.toString(), n);
              log("chunk %d from %s failed (%s)", i, peer.id, (err as Error).message);
              if (n >= 3 || signal.aborted) return; // give this peer up; others continue
            }
          }
        }),
      );
    } finally {
      await fh.close();
    }
    if (done.size !== chunks) throw new ShardUnavailableError(`shard ${sha256}: ${done.size}/${chunks} chunks fetched; every peer failed`);
    const got = createHash("sha256").update(readFileSync(part)).digest("hex");
    if (got !== sha256) {
      rmSync(part, { force: true });
      rmSync(stateFile, { force: true });
      throw new ShardHashMismatchError(`fetched stage file: sha256 ${got} != ${sha256}`);
    }
    const final = join(this.dir, sha256);
    renameSync(part, final);
    rmSync(stateFile, { force: true });
    this.files.set(sha256, final);
    return final;
  }
}
