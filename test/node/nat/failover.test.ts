// Failover for providers behind NAT, on loopback: a relayed connection that closes is a lost
// path, not a lost provider. The directory keeps a provider announced "unreachable" when a
// connection to it closes (its announcements keep it alive; a reachable one is dropped at once,
// as before), it learns a provider's announced addresses (relay addresses included) into the
// peer store, and the router tries such a provider once more after a path failure — but not
// after its own errors, nor a reachable provider. (The namespace network runs the real thing:
// test/network/mesh.test.ts kills a relay mid-load.)
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { createMeshNode } from "../../../node/src/mesh/node.ts";
import type { MeshNode } from "../../../node/src/mesh/node.ts";
import { Directory, parseAnnouncement } from "../../../node/src/mesh/directory.ts";
import type { StageProvider } from "../../../node/src/mesh/directory.ts";
import { PipelineRemoteError, PipelineStreamClosedError } from "../../../node/src/pipeline/errors.ts";
import { Router } from "../../../node/src/router/router.ts";
import type { PipelineClient } from "../../../node/src/pipeline/client.ts";
import { until } from "../mesh/procs.ts";

describe("directory: providers behind NAT", () => {
  let a: MeshNode;
  let nat: MeshNode;
  let pub: MeshNode;
  let da: Directory;
  const dirs: Directory[] = [];
  const announcer = (node: MeshNode, reach: "reachable" | "unreachable") =>
    new Directory(node, {
      announce: () => ({
        models: [{ modelId: "m", stageCount: 1, stages: [{ stage: 0, price: "1" }] }],
        capacity: 1,
        load: 0,
        latencyMs: 1,
        reach,
      }),
    });
  before(async () => {
    a = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    const boot = [a.getMultiaddrs()[0].toString()];
    nat = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false, bootstrap: boot });
    pub = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false, bootstrap: boot });
    da = new Directory(a, { ttlMs: 2500, unstaked: true }); // a development mesh: no chain to check stakes
    dirs.push(da, announcer(nat, "unreachable"), announcer(pub, "reachable"));
    for (const d of dirs) d.start();
    await until("both announced", async () => da.has(nat.peerId.toString()) && da.has(pub.peerId.toString()), 10_000);
  });
  after(async () => {
    for (const d of dirs) d.stop();
    await Promise.all([a, nat, pub].map((n) => n.stop()));
  });

  it("takes a provider's announced addresses into the peer store (gossip reached us through another peer)", async () => {
    // c is connected to a only: it hears nat's announcements relayed by gossip, never identify.
    const c = await createMeshNode({
      privateKey: await generateKeyPair("Ed25519"),
      dht: false,
      bootstrap: [a.getMultiaddrs()[0].toString()],
    });
    const dc = new Directory(c, { unstaked: true });
    dc.start();
    try {
      await until("nat's announcement at c", async () => dc.has(nat.peerId.toString()), 10_000);
      assert.equal(c.getConnections(nat.peerId).length, 0, "no connection between c and nat");
      const known = (await c.peerStore.get(nat.peerId)).addresses.map((x) => x.multiaddr.toString());
      for (const addr of nat.getMultiaddrs()) assert.ok(known.includes(addr.decapsulateCode(421).toString()), `${addr} known`);
      assert.equal(dc.providers("m", 0).find((p) => p.peerId === nat.peerId.toString())?.reach, "unreachable");
    } finally {
      dc.stop();
      await c.stop();
    }
  });

  it("keeps an unreachable provider when its connection closes (until its TTL), drops a reachable one at once", async () => {
    await a.hangUp(nat.peerId);
    await a.hangUp(pub.peerId);
    await until("reachable provider dropped", async () => !da.has(pub.peerId.toString()), 1000);
    assert.ok(da.has(nat.peerId.toString()), "the provider behind NAT stays listed");
  });
});

describe("announcements: reach and relay fields", () => {
  const base = { v: 1, peerId: "12D3KooWx", addrs: [], models: [], capacity: 1, load: 0, latencyMs: 0, seq: 1, ts: 1 };
  it("accepts the announced reach and relay limits", () => {
    const a = parseAnnouncement(
      JSON.stringify({ ...base, reach: "reachable", relay: { dataLimitBytes: "1887436800", durationLimitMs: 1_800_000 } }),
    );
    assert.equal(a.reach, "reachable");
    assert.equal(a.relay?.dataLimitBytes, "1887436800");
  });
  it("refuses anything else there by name (they are shown to people and steer the router)", () => {
    for (const extra of [
      { reach: "<b>public</b>" },
      { reach: 1 },
      { relay: { dataLimitBytes: 1e9, durationLimitMs: 1 } },
      { relay: { dataLimitBytes: "-1", durationLimitMs: 1 } },
      { relay: { dataLimitBytes: "1", durationLimitMs: -5 } },
      { relay: "yes" },
    ]) {
      assert.throws(
        () => parseAnnouncement(JSON.stringify({ ...base, ...extra })),
        { name: "DirectoryInvalidAnnouncementError" },
        JSON.stringify(extra),
      );
    }
  });
});

describe("router: a second path for a provider behind NAT", () => {
  const provider = (peerId: string, reach: StageProvider["reach"]): StageProvider => ({
    peerId,
    price: 1n,
    load: 0,
    capacity: 4,
    latencyMs: 5,
    reach,
  });
  /** A router over one provider whose hops fail with `errors` in turn, then succeed. */
  function routerWith(p: StageProvider, errors: Error[]) {
    const calls: string[] = [];
    const evicted: string[] = [];
    const directory = {
      stageCount: () => 1,
      providers: () => (evicted.includes(p.peerId) ? [] : [p]),
      has: (id: string) => id === p.peerId && !evicted.includes(id),
      evict: (id: string) => evicted.push(id),
    } as unknown as Directory;
    const client = {
      hop: (peer: string) => ({
        call: async () => {
          calls.push(peer);
          const err = errors.shift();
          if (err) throw err;
          return { bag: {}, computeMs: 1, ms: 1 };
        },
      }),
    } as unknown as PipelineClient;
    return { router: new Router(directory, client), calls, evicted };
  }
  // A real peer id string (the router parses it).
  let peerId: string;
  before(async () => {
    const { peerIdFromPrivateKey } = await import("@libp2p/peer-id");
    peerId = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
  });

  it("retries it once after its relayed hop died, and the request succeeds", async () => {
    const { router, calls, evicted } = routerWith(provider(peerId, "unreachable"), [new PipelineStreamClosedError("relay went away")]);
    const res = await router.run("m", {}, { hashes: false });
    assert.equal(res.stages[0].peerId, peerId);
    assert.deepEqual(calls, [peerId, peerId]);
    assert.deepEqual(evicted, []);
  });

  it("also after a dial through a relay failed, but only once", async () => {
    const dialFailed = Object.assign(new Error("The dial request has no valid addresses"), { name: "NoValidAddressesError" });
    const { router, calls } = routerWith(provider(peerId, "unreachable"), [dialFailed, new PipelineStreamClosedError("again")]);
    await assert.rejects(router.run("m", {}, { hashes: false }), { name: "RouterNoProviderError" });
    assert.equal(calls.length, 2);
  });

  it("not after the provider's own error, and not for a reachable provider", async () => {
    for (const [reach, err] of [
      ["unreachable", new PipelineRemoteError("StageError", "bad input")],
      ["reachable", new PipelineStreamClosedError("killed")],
    ] as const) {
      const { router, calls } = routerWith(provider(peerId, reach), [err]);
      await assert.rejects(router.run("m", {}, { hashes: false }), { name: "RouterNoProviderError" });
      assert.equal(calls.length, 1, `${reach}: ${err.name}`);
    }
  });
});
