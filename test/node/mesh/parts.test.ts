// Mesh parts on their own, with real libp2p nodes on 127.0.0.1 and real files: identity key
// file and staking binding, announcements and the live directory, shard transfer by hash
// (several holders, resume, hash mismatch), the trace store across reopen, config parsing.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { privateKeyToAccount } from "viem/accounts";
import { createMeshNode } from "../../../node/src/mesh/node.ts";
import type { MeshNode } from "../../../node/src/mesh/node.ts";
import { bindingMessage, loadOrCreateKey, peerIdOfKey, signBinding, verifyBinding } from "../../../node/src/mesh/identity.ts";
import { Directory, parseAnnouncement } from "../../../node/src/mesh/directory.ts";
import { ShardService } from "../../../node/src/mesh/shards.ts";
import { SHARD_CHUNK_BYTES } from "../../../node/src/mesh/constants.ts";
import { TraceStore } from "../../../node/src/trace/store.ts";
import { loadProviderConfig } from "../../../node/src/provider/config.ts";
import { Router } from "../../../node/src/router/router.ts";
import { PipelineClient } from "../../../node/src/pipeline/client.ts";
import { formatMeshTable } from "../../../node/src/cli/mesh.ts";
import { until } from "./procs.ts";

const dir = mkdtempSync(join(tmpdir(), "shardmesh-parts-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("identity", () => {
  it("creates a key file once (mode 0600) and reloads the same peer id", async () => {
    const path = join(dir, "id", "node.key");
    const a = await loadOrCreateKey(path);
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const b = await loadOrCreateKey(path);
    assert.equal(peerIdOfKey(a), peerIdOfKey(b));
  });

  it("rejects a corrupt key file with IdentityKeyFileError", async () => {
    const path = join(dir, "bad.key");
    writeFileSync(path, "not a key");
    await assert.rejects(loadOrCreateKey(path), { name: "IdentityKeyFileError" });
  });

  it("binds a peer id to a staking address and rejects another peer id", async () => {
    const account = privateKeyToAccount(`0x${"11".repeat(32)}`);
    const peer = peerIdOfKey(await generateKeyPair("Ed25519"));
    const other = peerIdOfKey(await generateKeyPair("Ed25519"));
    const binding = await signBinding(account, peer);
    assert.equal(binding.address, account.address);
    assert.match(bindingMessage(peer), new RegExp(peer));
    assert.equal(await verifyBinding(peer, binding), true);
    assert.equal(await verifyBinding(other, binding), false);
  });
});

describe("announcements and directory", () => {
  it("rejects malformed announcements with DirectoryInvalidAnnouncementError", () => {
    assert.throws(() => parseAnnouncement("{"), { name: "DirectoryInvalidAnnouncementError" });
    assert.throws(
      () =>
        parseAnnouncement(
          JSON.stringify({
            v: 1,
            peerId: "x",
            addrs: [],
            models: [{ modelId: "m", stageCount: 1, stages: [{ stage: 0, price: "-1" }] }],
            capacity: 1,
            load: 0,
            latencyMs: 0,
            seq: 1,
            ts: 1,
          }),
        ),
      {
        name: "DirectoryInvalidAnnouncementError",
      },
    );
  });

  let a: MeshNode;
  let b: MeshNode;
  let da: Directory;
  let db: Directory;
  before(async () => {
    a = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    b = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false, bootstrap: [a.getMultiaddrs()[0].toString()] });
    const account = privateKeyToAccount(`0x${"22".repeat(32)}`);
    const binding = await signBinding(account, b.peerId.toString());
    // b is "bound on chain" to the binding's address (the chain check is stubbed here).
    da = new Directory(a, { ttlMs: 1500, checkBinding: async (_peer, address) => address === account.address });
    db = new Directory(b, {
      announce: () => ({
        models: [{ modelId: "m", stageCount: 2, stages: [{ stage: 1, price: "7" }] }],
        capacity: 3,
        load: 1,
        latencyMs: 12,
        binding,
      }),
    });
    da.start();
    db.start();
  });
  after(async () => {
    da.stop();
    db.stop();
    await a.stop();
    await b.stop();
  });

  it("learns a provider's stages, price and staking address from gossip", async () => {
    const providers = await until("b's announcement", async () => {
      const p = da.providers("m", 1);
      return p.length ? p : undefined;
    });
    assert.equal(providers[0].peerId, b.peerId.toString());
    assert.equal(providers[0].price, 7n);
    assert.equal(providers[0].stakingAddress, privateKeyToAccount(`0x${"22".repeat(32)}`).address);
    assert.equal(da.stageCount("m"), 2);
    assert.deepEqual(da.providers("m", 0), []);
  });

  it("drops a provider when it disconnects", async () => {
    await b.stop();
    await until("b dropped", async () => !da.has(b.peerId.toString()), 3000);
  });

  it("router refuses a model nobody serves with RouterNoProviderError", async () => {
    const router = new Router(da, new PipelineClient(a));
    await assert.rejects(router.run("m", {}), { name: "RouterNoProviderError" });
  });
});

describe("router scoring", () => {
  it("prefers cheap, fast, idle providers and still sends some load to the others", async () => {
    const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    try {
      const directory = new Directory(node);
      let r = 0;
      const random = () => {
        r = (r * 9301 + 49297) % 233280;
        return r / 233280;
      };
      const router = new Router(directory, new PipelineClient(node), { random });
      const base = { capacity: 4, load: 0, latencyMs: 10, price: 100n };
      const fast = { ...base, peerId: "fast" };
      const slow = { ...base, peerId: "slow", latencyMs: 40 };
      const dear = { ...base, peerId: "dear", price: 400n };
      const busy = { ...base, peerId: "busy", load: 16 };
      assert.ok(router.cost(fast, 100n) < router.cost(slow, 100n));
      assert.ok(router.cost(fast, 100n) < router.cost(dear, 100n));
      assert.ok(router.cost(fast, 100n) < router.cost(busy, 100n));
      const counts = new Map<string, number>();
      for (let i = 0; i < 400; i++) {
        const c = router.choose([fast, slow])!.peerId;
        counts.set(c, (counts.get(c) ?? 0) + 1);
      }
      assert.ok(counts.get("fast")! > 300 && (counts.get("slow") ?? 0) > 0, `mostly fast, some slow: ${[...counts]}`);
    } finally {
      await node.stop();
    }
  });
});

describe("shard transfer", () => {
  const nodes: MeshNode[] = [];
  const services: ShardService[] = [];
  const file = randomBytes(3 * SHARD_CHUNK_BYTES + 12345);
  const hash = sha(file);

  before(async () => {
    for (let i = 0; i < 3; i++) {
      const n = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
      const s = new ShardService(n, join(dir, `shards-${i}`));
      await s.start();
      nodes.push(n);
      services.push(s);
    }
    writeFileSync(join(dir, "stage.onnx"), file);
    await services[0].add(hash, join(dir, "stage.onnx"));
    await services[1].add(hash, join(dir, "stage.onnx"));
    await nodes[2].dial(nodes[0].getMultiaddrs()[0]);
    await nodes[2].dial(nodes[1].getMultiaddrs()[0]);
  });
  after(async () => {
    for (const n of nodes) await n.stop();
  });

  it("fetches a stage file by hash in chunks from several peers, with progress", async () => {
    const seen: number[] = [];
    let peers = 0;
    const path = await services[2].fetch(hash, {
      hints: [nodes[0].peerId.toString(), nodes[1].peerId.toString()],
      onProgress: (p) => {
        seen.push(p.bytes);
        peers = p.peers;
      },
    });
    assert.equal(peers, 2, "chunks pulled from both holders");
    assert.equal(sha(readFileSync(path)), hash);
    assert.equal(seen.at(-1), file.byteLength);
    assert.equal(seen.length, 4);
  });

  it("resumes an interrupted fetch from the chunks already on disk", async () => {
    const target = services[2];
    const shardsDir = join(dir, "shards-2", "shards");
    rmSync(join(shardsDir, hash));
    // Simulate an interruption after chunk 0 and 2: the .part file and its state file.
    const part = join(shardsDir, `${hash}.part`);
    const partial = Buffer.alloc(file.byteLength);
    file.copy(partial, 0, 0, SHARD_CHUNK_BYTES);
    file.copy(partial, 2 * SHARD_CHUNK_BYTES, 2 * SHARD_CHUNK_BYTES, 3 * SHARD_CHUNK_BYTES);
    writeFileSync(part, partial);
    writeFileSync(`${part}.json`, JSON.stringify({ total: file.byteLength, done: [0, 2] }));
    const progress: number[] = [];
    const path = await target.fetch(hash, { hints: [nodes[0].peerId.toString()], onProgress: (p) => progress.push(p.bytes) });
    assert.equal(sha(readFileSync(path)), hash);
    assert.equal(progress.length, 2, "only the two missing chunks were fetched");
    assert.equal(existsSync(`${part}.json`), false);
  });

  it("rejects a file whose bytes do not match the hash with ShardHashMismatchError", async () => {
    const fake = "ab".repeat(32);
    await services[0].add(fake, join(dir, "stage.onnx")); // serves the wrong bytes under `fake`
    await assert.rejects(services[2].fetch(fake, { hints: [nodes[0].peerId.toString()] }), { name: "ShardHashMismatchError" });
  });

  it("fails with ShardUnavailableError when nobody holds the file", async () => {
    await assert.rejects(services[2].fetch("cd".repeat(32), { hints: [nodes[1].peerId.toString()] }), { name: "ShardUnavailableError" });
  });
});

describe("trace store", () => {
  it("keeps records and tensors across a reopen, prunes tensors past retention, numbers job requests", () => {
    const path = join(dir, "trace", "trace.sqlite");
    let t = new TraceStore({ path, retentionMs: 60_000 });
    const h = (c: string) => `0x${c.repeat(64)}` as const;
    t.record(
      { jobId: "j", index: 0, modelId: "m", stage: 1, inputHash: h("a"), outputHash: h("b"), peerId: "p" },
      { input: { x: { dtype: 1, dims: [2], data: new Uint8Array(8).fill(1) } } },
    );
    assert.equal(t.nextTraceIndex("j"), 0);
    assert.equal(t.nextTraceIndex("j"), 1);
    t.close();
    t = new TraceStore({ path, retentionMs: 60_000 });
    assert.equal(t.count("j"), 1);
    assert.equal(t.get("j", 0, 1)?.outputHash, h("b"));
    assert.deepEqual(t.tensors("j", 0, 1, "input").x.dims, [2]);
    assert.equal(t.nextTraceIndex("j"), 2, "indexes continue after a restart");
    assert.equal(t.prune(Date.now() + 120_000), 1);
    assert.deepEqual(t.tensors("j", 0, 1, "input"), {});
    assert.equal(t.count("j"), 1, "hashes outlive tensor retention");
    t.close();
  });
});

describe("provider config", () => {
  it("merges a config file with flags, resolving paths from the file's folder", () => {
    const cfgDir = join(dir, "cfg");
    const file = join(cfgDir, "provider.json");
    rmSync(cfgDir, { recursive: true, force: true });
    mkdirSync(cfgDir, { recursive: true });
    writeFileSync(
      file,
      JSON.stringify({
        keyFile: "k/node.key",
        dataDir: "data",
        capacity: 2,
        models: [{ modelId: "rec", manifest: "m/manifest.json", stages: [0], price: "5" }],
      }),
    );
    const { config, json } = loadProviderConfig([
      "--config",
      file,
      "--capacity",
      "6",
      "--bootstrap",
      "/ip4/127.0.0.1/tcp/1/p2p/x",
      "--cors",
      "*",
      "--json",
    ]);
    assert.equal(config.keyFile, join(cfgDir, "k/node.key"));
    assert.equal(config.models[0].manifest, join(cfgDir, "m/manifest.json"));
    assert.equal(config.capacity, 6);
    assert.deepEqual(config.bootstrap, ["/ip4/127.0.0.1/tcp/1/p2p/x"]);
    assert.deepEqual(config.gateway?.cors, ["*"]);
    assert.equal(json, true);
  });

  it("rejects bad flags with ProviderConfigError", () => {
    assert.throws(() => loadProviderConfig(["--nope", "1"]), { name: "ProviderConfigError" });
    assert.throws(() => loadProviderConfig(["--model", "broken"]), { name: "ProviderConfigError" });
    assert.throws(() => loadProviderConfig(["--register"]), { name: "ProviderConfigError" });
    assert.throws(() => loadProviderConfig(["--staking-key", "0x12"]), { name: "ProviderConfigError" });
  });
});

describe("mesh status table", () => {
  it("prints one row per peer with stages, load and latency", () => {
    const table = formatMeshTable({
      self: "12D3KooWself",
      peers: [
        {
          peerId: "12D3KooWAAAAAAAAAAAAAAAAAA",
          self: true,
          stakingAddress: null,
          addrs: [],
          gateway: null,
          stages: [{ modelId: "rec", stage: 0, price: "10" }],
          load: 1,
          capacity: 4,
          latencyMs: 12.5,
          served: 3,
          failed: 1,
          penalty: 0,
          ageMs: 300,
          reach: "reachable",
          relay: { dataLimitBytes: "1887436800", durationLimitMs: 1_800_000 },
          path: "self",
          via: null,
        },
        {
          peerId: "12D3KooWBBBBBBBBBBBBBBBBBB",
          self: false,
          stakingAddress: "0x1234567890abcdef",
          addrs: [],
          gateway: null,
          stages: [],
          load: 0,
          capacity: 2,
          latencyMs: 0,
          served: 0,
          failed: 0,
          penalty: 0,
          ageMs: 1000,
          reach: "unreachable",
          relay: null,
          path: "punched",
          via: "12D3KooWrelay",
        },
      ],
    });
    const lines = table.split("\n");
    assert.equal(lines.length, 3);
    assert.match(lines[0], /PEER\s+STAGES\s+PRICE\s+LOAD\s+LATENCY/);
    // Stages per model, prices in tokens (issue 11: not `rec#0` and base units).
    assert.match(lines[1], /^\*12D3KooW.*rec: 0\s+0\.00000000000000001 SHARD\s+1\/4\s+12\.5 ms\s+3\/1/);
    assert.match(lines[2], /0x123456…/);
    assert.match(lines[0], /REACH\s+PATH$/);
    assert.match(lines[1], /public\+relay\s+self$/);
    assert.match(lines[2], /NAT\s+punched$/);
  });
});
