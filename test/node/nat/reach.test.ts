// The reach protocol's guards on loopback (the namespace network tests the verdicts across real
// NAT: test/network/nat.test.ts): the checker dials back only the asker's own IP, answers which
// ports opened, refuses a second check within REACH_SERVE_INTERVAL_MS and malformed port lists by
// name, and a node never asks a peer on its own subnet (it could not tell whether the outside
// reaches it).
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { networkInterfaces } from "node:os";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { createMeshNode } from "../../../node/src/mesh/node.ts";
import type { MeshNode } from "../../../node/src/mesh/node.ts";
import { askReach, onOwnSubnet, Reachability } from "../../../node/src/nat/reach.ts";
import { REACH_MAX_PORTS, REACH_RECHECK_MS, REACH_RETRY_MS, REACH_SERVE_INTERVAL_MS } from "../../../node/src/nat/constants.ts";

describe("reach protocol (loopback)", () => {
  let a: MeshNode;
  let b: MeshNode;
  let reachA: Reachability;
  let reachB: Reachability;
  let open: Server;
  let openPort = 0;
  let closedPort = 0;
  before(async () => {
    a = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    b = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    open = createServer((s) => s.destroy());
    await new Promise<void>((r) => open.listen(0, "127.0.0.1", () => r()));
    openPort = (open.address() as { port: number }).port;
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, "127.0.0.1", () => r()));
    closedPort = (probe.address() as { port: number }).port;
    await new Promise<void>((r) => probe.close(() => r()));
    reachA = new Reachability(a, { libp2pPort: () => openPort });
    reachB = new Reachability(b, { libp2pPort: () => openPort });
    await reachA.start();
    await reachB.start();
    await a.dial(b.getMultiaddrs()[0]);
  });
  after(async () => {
    await reachA.stop();
    await reachB.stop();
    await a.stop();
    await b.stop();
    open.close();
  });

  it("dials the asker back at the IP it sees and reports each port", async () => {
    const [conn] = a.getConnections(b.peerId);
    const answer = await askReach(conn, [openPort, closedPort]);
    assert.deepEqual(answer, { observed: "127.0.0.1", open: [true, false] });
  });

  it("refuses a second check from the same peer within the interval by name", async () => {
    const [conn] = a.getConnections(b.peerId);
    await assert.rejects(askReach(conn, [openPort]), { name: "ReachRateLimitedError" });
  });

  it("refuses malformed port lists by name (checked by another peer, fresh interval)", async () => {
    const c = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    try {
      const conn = await c.dial(b.getMultiaddrs()[0]);
      await assert.rejects(
        askReach(
          conn,
          Array.from({ length: REACH_MAX_PORTS + 1 }, () => openPort),
        ),
        { name: "ReachCheckError" },
      );
      const d = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
      try {
        const conn2 = await d.dial(b.getMultiaddrs()[0]);
        await assert.rejects(askReach(conn2, [0]), { name: "ReachCheckError" });
      } finally {
        await d.stop();
      }
    } finally {
      await c.stop();
    }
  });

  it("never asks a peer on its own subnet: on loopback the verdict stays unknown", async () => {
    assert.equal(onOwnSubnet("127.0.0.1"), true);
    const own = Object.values(networkInterfaces())
      .flat()
      .find((i) => i?.family === "IPv4" && !i.internal);
    if (own) assert.equal(onOwnSubnet(own.address), true);
    // An address in none of this machine's /8s (whatever its interfaces are) is outside them all.
    const octets = new Set(
      Object.values(networkInterfaces())
        .flat()
        .filter((i) => i?.family === "IPv4")
        .map((i) => i!.address.split(".")[0]),
    );
    const outside = ["203.0.113.9", "198.51.100.9", "100.64.9.9"].find((ip) => !octets.has(ip.split(".")[0]))!;
    assert.equal(onOwnSubnet(outside), false);
    reachA.recheck();
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(reachA.state.status, "unknown");
    assert.equal(reachB.state.status, "unknown");
  });
});

describe("reach: no verdict yet", () => {
  it("a check that got no answer is asked again after REACH_RETRY_MS, not REACH_RECHECK_MS (a node behind NAT without a verdict reserves no relay slots)", async () => {
    const c = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    const d = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    const open = createServer((s) => s.destroy());
    await new Promise<void>((r) => open.listen(0, "127.0.0.1", () => r()));
    const port = (open.address() as { port: number }).port;
    const reachD = new Reachability(d, { libp2pPort: () => port });
    // On loopback every peer is on our own subnet: let c ask d as if d were outside.
    const reachC = new Reachability(c, { libp2pPort: () => port, ownSubnet: () => false });
    try {
      await reachD.start();
      await c.dial(d.getMultiaddrs()[0]);
      // d has just checked c, so it refuses c's first check (one per REACH_SERVE_INTERVAL_MS).
      await askReach(c.getConnections(d.peerId)[0], [port]);
      const verdict = new Promise<number>((resolve) => reachC.addEventListener("change", () => resolve(Date.now()), { once: true }));
      const t0 = Date.now();
      await reachC.start();
      const at = await Promise.race([verdict, new Promise<number>((r) => setTimeout(() => r(-1), REACH_RETRY_MS + 5_000))]);
      assert.ok(at > 0, `a verdict within ${REACH_RETRY_MS + 5_000} ms (without the retry: after ${REACH_RECHECK_MS} ms)`);
      assert.ok(at - t0 >= REACH_SERVE_INTERVAL_MS - 1_000, "the first, refused check gave none");
      assert.equal(reachC.state.status, "reachable");
    } finally {
      await reachC.stop();
      await reachD.stop();
      await c.stop();
      await d.stop();
      open.close();
    }
  });
});
