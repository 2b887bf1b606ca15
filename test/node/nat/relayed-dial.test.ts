// A provider behind NAT is dialled through its relay addresses only, on loopback: its other
// addresses are its LAN's, and from outside they go nowhere, often silently. libp2p dials a peer's
// addresses one after another, direct ones first, each for up to 6 s, so one blackholed LAN
// address used to take the whole hop dial deadline (DIAL_TIMEOUT_MS) before the relay was tried:
// seen on the namespace network as every request to a symmetric-NAT provider failing with
// TimeoutError. And libp2p reuses no limited (relayed) connection for a new stream: it dials the
// peer again, LAN address first, so once a job call (a quote) had opened a relayed connection,
// the next hop or job call to that peer timed out the same way (seen on the namespace network's
// market: the first paid request failed). Here the "LAN address" is a TCP port that accepts and
// never answers.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:net";
import type { Server, Socket } from "node:net";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { multiaddr } from "@multiformats/multiaddr";
import { createMeshNode } from "../../../node/src/mesh/node.ts";
import type { MeshNode } from "../../../node/src/mesh/node.ts";
import { PipelineServer } from "../../../node/src/pipeline/server.ts";
import { PipelineClient } from "../../../node/src/pipeline/client.ts";
import { relayedDialTarget } from "../../../node/src/nat/dial.ts";
import { callJson, serveJson } from "../../../node/src/jobs/wire.ts";
import { relaysOf } from "../../../node/src/nat/relay.ts";
import { DIAL_TIMEOUT_MS } from "../../../node/src/mesh/constants.ts";
import { until } from "../mesh/procs.ts";

const ECHO_PROTOCOL = "/shardmesh/test/echo/1";

describe("dialling a provider behind NAT", () => {
  let relay: MeshNode;
  let nat: MeshNode;
  let caller: MeshNode;
  let server: PipelineServer;
  let blackhole: Server;
  const held: Socket[] = [];

  before(async () => {
    relay = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    await relay.services.relay!.offer(true);
    nat = await createMeshNode({
      privateKey: await generateKeyPair("Ed25519"),
      dht: false,
      bootstrap: [relay.getMultiaddrs()[0].toString()],
    });
    server = new PipelineServer(nat, { dataPlane: false });
    await server.start();
    await serveJson(nat, ECHO_PROTOCOL, async (req) => req);
    await until("nat connected to the relay", async () => nat.getConnections(relay.peerId).length > 0, 10_000);
    await nat.services.relayReservations!.reserve();
    await until("nat's relay address", async () => relaysOf(nat.getMultiaddrs()).length === 1, 15_000);
    blackhole = createServer((s) => held.push(s)); // accepts, never speaks: a silent LAN address
    blackhole.listen(0, "127.0.0.1");
    await once(blackhole, "listening");
    caller = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    // What a caller outside knows of it: its LAN address and its relay address (announced).
    const lan = multiaddr(`/ip4/127.0.0.1/tcp/${(blackhole.address() as { port: number }).port}`);
    const circuit = nat.getMultiaddrs().find((a) => a.toString().includes("/p2p-circuit"))!;
    await caller.peerStore.merge(nat.peerId, { multiaddrs: [lan, circuit.decapsulateCode(421)] });
  });
  after(async () => {
    await server.stop();
    await Promise.all([caller, nat, relay].map((n) => n.stop()));
    for (const s of held) s.destroy();
    blackhole.close();
  });

  it("dials only the relay addresses of a peer that has them", async () => {
    const target = await relayedDialTarget(caller, nat.peerId);
    assert.ok(Array.isArray(target), "a list of addresses, not the peer id");
    assert.deepEqual(
      target.map((a) => a.toString()),
      nat
        .getMultiaddrs()
        .filter((a) => a.toString().includes("/p2p-circuit"))
        .map((a) => a.toString()),
    );
  });

  it("opens the hop through the relay within the dial deadline (a silent LAN address is not tried)", async () => {
    const client = new PipelineClient(caller, { dataPlane: false });
    try {
      const t0 = Date.now();
      // nat serves no stage: its named refusal proves the hop stream opened.
      await assert.rejects(
        client.hop(nat.peerId).call({ modelId: "none", stage: 0, bag: {} }, { timeoutMs: 5_000 }),
        (err: Error) => err.name === "PipelineRemoteError",
      );
      assert.ok(Date.now() - t0 < DIAL_TIMEOUT_MS, `hop opened in ${Date.now() - t0} ms`);
      assert.equal(client.via(nat.peerId), relay.peerId.toString());
      assert.equal(client.path(nat.peerId), "relayed");
    } finally {
      client.close();
    }
  });

  it("reuses the relayed connection it holds for the next hops and job calls (the LAN address is never tried)", async () => {
    const open = caller.getConnections(nat.peerId).filter((c) => c.status === "open");
    assert.ok(open.length > 0 && open.every((c) => c.limits), "the caller holds a relayed (limited) connection");
    const target = await relayedDialTarget(caller, nat.peerId);
    assert.ok(!Array.isArray(target) && "newStream" in target && target.id === open[0].id, "that connection itself");
    const t0 = Date.now();
    // Job calls (quotes, parts), language-model sessions, stage files and a verifier's tensors
    // all open their streams with openPeerStream (nat/dial.ts), as callJson does here.
    assert.deepEqual(await callJson(caller, nat.peerId.toString(), ECHO_PROTOCOL, { quote: 1 }), { quote: 1 });
    const client = new PipelineClient(caller, { dataPlane: false });
    try {
      await assert.rejects(
        client.hop(nat.peerId).call({ modelId: "none", stage: 0, bag: {} }, { timeoutMs: 5_000 }),
        (err: Error) => err.name === "PipelineRemoteError",
      );
      assert.equal(client.path(nat.peerId), "relayed");
    } finally {
      client.close();
    }
    assert.ok(Date.now() - t0 < DIAL_TIMEOUT_MS, `a job call and a hop in ${Date.now() - t0} ms`);
    // No other address was dialled: on loopback nat's own listen address (learnt by identify)
    // answers, where behind NAT it is a LAN address that goes nowhere.
    assert.deepEqual(
      caller.getConnections(nat.peerId).map((c) => c.id),
      open.map((c) => c.id),
      "still only the relayed connection",
    );
    assert.equal(held.length, 0, "nothing dialled the silent LAN address");
  });
});
