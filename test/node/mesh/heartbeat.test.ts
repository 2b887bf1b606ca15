// The connection monitor pings every PING_INTERVAL_MS and a ping may take up to
// PING_TIMEOUT_MAX_MS, so on a slow machine a heartbeat starts while the previous ping is still in
// flight. With libp2p's default of one outbound ping stream that heartbeat failed at once
// (TooManyOutboundProtocolStreamsError) and the monitor aborted the connection: on the namespace
// network under load, relay reservations and relayed hops died every few seconds. Here: as many
// ping streams as overlapping heartbeats open at once on one connection (loopback).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Stream } from "@libp2p/interface";
import { createMeshNode } from "../../../node/src/mesh/node.ts";
import type { MeshNode } from "../../../node/src/mesh/node.ts";
import { PING_INTERVAL_MS, PING_MAX_STREAMS, PING_TIMEOUT_MAX_MS } from "../../../node/src/mesh/constants.ts";

const PING = "/ipfs/ping/1.0.0";

describe("connection heartbeats", () => {
  let a: MeshNode;
  let b: MeshNode;
  before(async () => {
    a = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    b = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    await a.dial(b.getMultiaddrs()[0]);
  });
  after(async () => {
    await a.stop();
    await b.stop();
  });

  it("every heartbeat that can overlap a slow ping gets its stream (no abort of a slow but live connection)", async () => {
    assert.ok(PING_MAX_STREAMS >= Math.ceil(PING_TIMEOUT_MAX_MS / PING_INTERVAL_MS) + 1);
    const [conn] = a.getConnections(b.peerId);
    const open: Stream[] = [];
    try {
      // Pings still in flight (never answered here: nothing is written), as many as can overlap.
      for (let i = 0; i < PING_MAX_STREAMS; i++) {
        open.push(await conn.newStream(PING, { signal: AbortSignal.timeout(5_000), runOnLimitedConnection: true }));
      }
      assert.equal(conn.status, "open");
      assert.equal(open.length, PING_MAX_STREAMS);
    } finally {
      for (const s of open) s.abort(new Error("done"));
    }
  });
});
