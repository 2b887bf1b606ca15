// The operator's overrides of discovered reachability (issue 14), on the namespace network with
// real `shardmesh provider start` processes: a home whose router forwards a TCP port to the
// provider, started with `--announce /ip4/<router's public ip>/tcp/<port>`, is dialled directly at
// the pinned address and takes no relay slot; a well-connected provider started with `--no-relay`
// offers no relaying, and a provider behind NAT reserves no slot on it. (Homes without forwarding
// or flags become relayed, then punched: mesh.test.ts.) Skipped, with the reason, only where
// namespaces cannot be created (never in CI: networkSkip). Alone ~30 s; bounded by
// ANNOUNCE_SUITE_TIMEOUT_MS when the machine is busy.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StageRunner } from "../../node/src/inference/runner.ts";
import type { MeshPeer, MeshStatus } from "../../node/src/sdk/index.ts";
import { until } from "../../scripts/lib/wait.ts";
import { writeTinyModel } from "../node/mesh/fixtures/tiny-model.ts";
import { startProviderProc, stopProc } from "../node/mesh/procs.ts";
import type { ProviderProc } from "../node/mesh/procs.ts";
import { createTestNet, networkSkip } from "./netns.ts";
import type { TestNet } from "./netns.ts";
import { startAgent } from "./agent.ts";
import type { Agent } from "./agent.ts";
import type { LoadResult } from "./buyer-agent.ts";
import { publicGatewayArgs } from "./gateway.ts";

const unavailable = networkSkip();
/** The whole suite's bound: every wait inside has its own deadline; this caps their sum. */
const ANNOUNCE_SUITE_TIMEOUT_MS = 3 * 60_000;
/** Waits: generous, as in mesh.test.ts (on 2 busy cores a verdict or a reservation took over 30 s). */
const WAIT_MS = 60_000;
const BUYER = new URL("./buyer-agent.ts", import.meta.url).pathname;
/** The libp2p port the home's router forwards to the provider behind it. */
const FORWARDED = 4001;
/** The data-plane port it forwards too (`--data-port`). */
const FORWARDED_DATA = 4002;

function input(i: number): number[] {
  return Array.from({ length: 16 }, (_, k) => Math.cos(i * 3.1 + k) * 2);
}

describe("operator overrides: a pinned forwarded address, no relaying", { skip: unavailable, timeout: ANNOUNCE_SUITE_TIMEOUT_MS }, () => {
  let net: TestNet;
  const dir = mkdtempSync(join(tmpdir(), "shardmesh-netannounce-"));
  let model: { manifest: string; whole: string };
  let whole: StageRunner;
  const procs: Record<string, ProviderProc> = {};
  let buyer: Agent;
  let gatewayUrl: string;

  /** Start provider `name` (its own key and data) on host `on` (default: the host of that name). */
  const start = async (name: string, args: string[], port = 0, on = name) => {
    const host = net.hosts[on];
    const files = ["--key-file", join(dir, name, "node.key"), "--data-dir", join(dir, name), "--unsigned-jobs"];
    procs[name] = await startProviderProc([...files, "--listen", `/ip4/${host.ip}/tcp/${port}`, ...args], WAIT_MS, host.spawn);
    return procs[name];
  };
  const mesh = () => buyer.call<MeshStatus>("mesh", gatewayUrl);
  const peer = async (name: string): Promise<MeshPeer | undefined> => (await mesh()).peers.find((p) => p.peerId === procs[name].peerId);
  const verdict = (name: string) =>
    until(`${name}'s verdict`, async () => procs[name].events.find((e) => e.event === "reach"), WAIT_MS, 100);
  /** Every relay set the operator of `name` was told it is dialable through. */
  const relaysTold = (name: string) => procs[name].events.filter((e) => e.event === "relays").map((e) => e.relays as string[]);

  before(async () => {
    net = createTestNet({
      public: ["relay", "gateway", "buyer"],
      homes: [
        { name: "f", nat: "cone", forward: [FORWARDED, FORWARDED_DATA] },
        { name: "h", nat: "cone" },
      ],
    });
    model = writeTinyModel(join(dir, "model"));
    whole = await StageRunner.create(model.whole, { graphOptimizationLevel: "disabled" });
    await start("relay", ["--no-gateway"], 4001);
    // The gateway is the well-connected provider with --no-relay (publicGatewayArgs).
    const gw = await start("gateway", ["--bootstrap", procs.relay.addr, ...publicGatewayArgs(net.hosts.gateway)]);
    gatewayUrl = gw.gateway!;
    buyer = await startAgent(net.hosts.buyer, BUYER);
  });
  after(async () => {
    await buyer?.kill();
    await Promise.all(Object.values(procs).map((p) => stopProc(p)));
    net?.down();
    await whole?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("a reachable provider with --no-relay offers no relaying, and a provider behind NAT reserves no slot on it", async () => {
    assert.equal((await verdict("gateway")).status, "reachable");
    // Home H knows both public providers (it is connected to the gateway too) and wants two slots.
    await start("h", ["--no-gateway", "--bootstrap", procs.relay.addr, "--bootstrap", procs.gateway.addr]);
    assert.equal((await verdict("h")).status, "unreachable");
    await until("h reserved a slot on the relay", async () => relaysTold("h").some((r) => r.includes(procs.relay.peerId)), WAIT_MS, 100);
    await until("h connected to the gateway", async () => (await peer("h")) !== undefined, WAIT_MS, 200);
    // The relay transport tries every connected peer that offers the hop protocol: give it time to.
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(
      !relaysTold("h").some((r) => r.includes(procs.gateway.peerId)),
      `h reserved on the gateway: ${JSON.stringify(relaysTold("h"))}`,
    );
    const peers = (await mesh()).peers;
    const gw = peers.find((p) => p.peerId === procs.gateway.peerId)!;
    assert.equal(gw.reach, "reachable");
    assert.equal(gw.relay, null, "a --no-relay announcement has no relay field");
    assert.notEqual(peers.find((p) => p.peerId === procs.relay.peerId)?.relay, null, "the relay says it relays");
  });

  /**
   * Provider `name` behind home F's forward: reachable at the router's address, announced at
   * `addr` only, dialled there directly by the gateway, requests through it correct, its data
   * plane on `path`, and never a relay reservation.
   */
  async function servedDirectlyAt(name: string, addr: string, path: "direct" | "punched"): Promise<void> {
    const e = await verdict(name);
    assert.equal(e.status, "reachable");
    assert.equal(e.externalIp, net.hosts.f.wanIp);
    const p = await until(
      `${name} announced with its verdict`,
      async () => {
        const q = await peer(name);
        return q?.reach !== "unknown" && q;
      },
      WAIT_MS,
      200,
    );
    assert.deepEqual(
      p.addrs.map((a) => a.replace(`/p2p/${procs[name].peerId}`, "")),
      [addr],
      "its announcement carries the router's address only",
    );
    assert.equal(p.reach, "reachable");
    const results = await buyer.call<LoadResult[]>(
      "load",
      {
        url: gatewayUrl,
        modelId: "tiny",
        inputs: Array.from({ length: 6 }, (_, i) => input(i)),
        dims: [1, 16],
        concurrency: 2,
        inputName: "x",
        outputName: "y",
      },
      WAIT_MS,
    );
    assert.deepEqual(
      results.filter((r) => !r.ok).map((r) => r.error),
      [],
    );
    for (const r of results) {
      const out = await whole.run({ x: { dtype: "float32", dims: [1, 16], data: Float32Array.from(input(r.i)) } });
      assert.deepEqual(r.y, [...(out.y.data as Float32Array)], `request ${r.i} equals the whole model`);
      assert.deepEqual(r.stages, [procs[name].peerId, procs[name].peerId]);
    }
    // The gateway's hop to it is a direct connection, no relay in between; its data plane at the
    // forwarded port (--data-port), else (a free port) by a hole punch, which completes in the
    // background while the first requests use the libp2p stream.
    const hop = await until(
      `${name}'s hop ${path}`,
      async () => {
        const q = await peer(name);
        return q?.path === path && q;
      },
      WAIT_MS,
      200,
    ).catch(async (err) => assert.fail(`${(err as Error).message}: ${JSON.stringify(await peer(name))}`));
    assert.equal(hop.via, null, `not through a relay: ${JSON.stringify(hop)}`);
    // And it never held a relay reservation (no circuit address ever).
    assert.deepEqual(relaysTold(name).flat(), []);
  }
  it("a provider behind forwarded ports with --announce and --data-port is dialled at the pinned address, direct all the way, with no relay slot", async () => {
    const pinned = `/ip4/${net.hosts.f.wanIp}/tcp/${FORWARDED}`;
    await start(
      "f",
      [
        ...["--no-gateway", "--bootstrap", procs.relay.addr, "--announce", pinned, "--data-port", String(FORWARDED_DATA)],
        ...["--model", `tiny=${model.manifest}:0,1:1000`],
      ],
      FORWARDED,
    );
    // The check dials both forwarded ports back: the data plane too takes connections from outside.
    assert.equal((await verdict("f")).dataPlane, true);
    await servedDirectlyAt("f", pinned, "direct");
  });

  it("without --announce, the same forward is found by the reachability check and announced at the router's address", async () => {
    // A fresh provider (its own key: the gateway knows nothing of it) listening on the forwarded port.
    await stopProc(procs.f);
    await until("f left the gateway's listing", async () => (await peer("f")) === undefined, WAIT_MS, 200);
    await start("f2", ["--no-gateway", "--bootstrap", procs.relay.addr, "--model", `tiny=${model.manifest}:0,1:1000`], FORWARDED, "f");
    // Before nat/mapping.ts it announced its LAN address only (undialable from outside) and,
    // being reachable, reserved no relay slot: every request failed.
    // Its data plane is on a free port, not forwarded: opened by a hole punch.
    await servedDirectlyAt("f2", `/ip4/${net.hosts.f.wanIp}/tcp/${FORWARDED}`, "punched");
    // And it relays at that address, like any reachable provider.
    assert.notEqual((await peer("f2"))?.relay, null);
  });
});
