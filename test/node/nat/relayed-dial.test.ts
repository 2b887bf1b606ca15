// A provider behind NAT is dialled through its relay addresses only, on loopback: its other
// addresses are its LAN's, and from outside they go nowhere, often silently. libp2p dials a peer's
// addresses one after another, direct ones first, each for up to 6 s, so one blackholed LAN
// address used to take the whole hop dial deadline (DIAL_TIMEOUT_MS) before the relay was tried:
// seen on the namespace network as every request to a symmetric-NAT provider failing with
// TimeoutError. Here the "LAN address" is a TCP port that accepts and never answers.
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
import { PipelineClient, relayedDialTarget } from "../../../node/src/pipeline/client.ts";
import { relaysOf } from "../../../node/src/nat/relay.ts";
import { DIAL_TIMEOUT_MS } from "../../../node/src/mesh/constants.ts";
import { until } from "../mesh/procs.ts";

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
});
