// `npm run bench -- network`: figures of issue 14 (home machines behind NAT), written to
// bench/results/network.json. Needs root (Linux network namespaces, `ip`, `nft`): it builds the
// namespace network of test/network/netns.ts and exits non-zero, writing nothing, where it cannot.
//
//   1. time until a provider behind NAT is routable (through a relay) and then direct (its hop's
//      data plane hole punched), from the moment its process listens; repeated with fresh
//      providers;
//   2. hole-punch success rate over repeated attempts, per pair of NAT kinds (TCP simultaneous
//      open, node/src/nat/punch.ts);
//   3. per-request latency and throughput of the 2-stage PP-OCRv4 recogniser through the gateway,
//      with both stages on public hosts (direct data plane), behind cone NATs (hole punched),
//      behind symmetric NATs (relayed libp2p stream), and the same processes' kind on loopback.
//      Each path serves the model under its own model id, so rounds interleave the paths and the
//      machine's background load hits them alike.
//   options: --rounds N (default 4)  --requests N per block (default 6)  --restarts N (default 3)
//            --punches N per pair (default 20)
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { percentile } from "../../node/src/util/index.ts";
import type { MeshStatus } from "../../node/src/sdk/index.ts";
import { splitRecogniser } from "../demo/market.ts";
import { startProviderProc, stopProc } from "../../test/node/mesh/procs.ts";
import type { ProviderProc, Spawner } from "../../test/node/mesh/procs.ts";
import { createTestNet, netnsUnavailable } from "../../test/network/netns.ts";
import type { Host } from "../../test/network/netns.ts";
import { startAgent } from "../../test/network/agent.ts";
import { publicGatewayArgs, UNPAID_UNLIMITED_ARGS } from "../../test/network/gateway.ts";
import type { Agent } from "../../test/network/agent.ts";
import { until } from "../lib/wait.ts";

const root = new URL("../../", import.meta.url).pathname;
const { values } = parseArgs({
  options: { rounds: { type: "string" }, requests: { type: "string" }, restarts: { type: "string" }, punches: { type: "string" } },
});
const ROUNDS = Number(values.rounds ?? 4);
const REQUESTS = Number(values.requests ?? 6);
const RESTARTS = Number(values.restarts ?? 3);
const PUNCHES = Number(values.punches ?? 20);
const CONCURRENCY = 4;
/** Default deadline of a wait (a verdict, reservations, a path) on a busy machine. */
const WAIT_MS = 60_000;
const DIMS = [1, 3, 48, 320];
const log = (s: string) => process.stdout.write(`${s}\n`);
const r1 = (x: number) => Math.round(x * 10) / 10;

const why = netnsUnavailable();
if (why) {
  console.error(`network bench: ${why}`);
  process.exit(1);
}
const started = Date.now();
const loadStart = loadavg();
log(`network bench: ${ROUNDS} rounds × ${REQUESTS} requests per path, load ${loadStart.map((l) => l.toFixed(2)).join(" ")}`);

const model = await splitRecogniser(join(tmpdir(), "shardmesh-e2e-cache", "rec-2"), log);
const work = mkdtempSync(join(tmpdir(), "shardmesh-netbench-"));
const net = createTestNet({
  public: ["relay1", "relay2", "gateway", "buyer", "pub0", "pub1"],
  homes: [
    { name: "c0", nat: "cone" },
    { name: "c1", nat: "cone" },
    { name: "s0", nat: "symmetric" },
    { name: "s1", nat: "symmetric" },
  ],
});
const local: Host = {
  name: "loopback",
  ns: "",
  ip: "127.0.0.1",
  spawn: (cmd, args, options = {}) => spawn(cmd, args, options),
  run: () => "",
};
const procs: Record<string, ProviderProc> = {};
const agents: Agent[] = [];
let keys = 0;

/** A provider process on `host`; `name` keys its fresh identity and data folder. */
async function provider(name: string, host: Host, args: string[], port = 0): Promise<ProviderProc & { listenedAt: number }> {
  const dir = join(work, `${name}-${keys++}`);
  const p = await startProviderProc(
    ["--key-file", join(dir, "node.key"), "--data-dir", dir, "--listen", `/ip4/${host.ip}/tcp/${port}`, "--unsigned-jobs", ...args],
    120_000,
    host.spawn as Spawner,
  );
  procs[name] = p;
  // Timed from 'listening' (the process is up; its model still loads before 'ready').
  return { ...p, listenedAt: Number(p.events.find((e) => e.event === "listening")?.receivedAt) };
}

// The bench's buyers send unpaid requests faster than the default per-client limit (2/s): both
// gateways, the namespace one (publicGatewayArgs) and its loopback twin, lift it alike.
const result: Record<string, unknown> = {};
try {
  // ── the mesh: relays, gateway, buyer; loopback twin ───────────────────────────────────────
  await provider("relay1", net.hosts.relay1, ["--no-gateway"], 4001);
  await provider("relay2", net.hosts.relay2, ["--no-gateway", "--bootstrap", procs.relay1.addr], 4001);
  const boot = ["--bootstrap", procs.relay1.addr, "--bootstrap", procs.relay2.addr];
  // No DHT on the gateway: its hops to homes start through a relay (test/network/gateway.ts).
  const gw = await provider("gateway", net.hosts.gateway, [...boot, ...publicGatewayArgs(net.hosts.gateway)]);
  const buyer = await startAgent(net.hosts.buyer, join(root, "test/network/buyer-agent.ts"));
  agents.push(buyer);
  const loopGw = await provider("loopgw", local, UNPAID_UNLIMITED_ARGS);
  const loopBuyer = await startAgent(local, join(root, "test/network/buyer-agent.ts"));
  agents.push(loopBuyer);
  const stage = (id: string, s: number) => ["--no-gateway", "--model", `${id}=${model.manifestPath}:${s}:1000`];
  await Promise.all([
    provider("loop0", local, ["--bootstrap", loopGw.addr, ...stage("rec-loopback", 0)]),
    provider("loop1", local, ["--bootstrap", loopGw.addr, ...stage("rec-loopback", 1)]),
    provider("pub0", net.hosts.pub0, [...boot, ...stage("rec-direct", 0)]),
    provider("pub1", net.hosts.pub1, [...boot, ...stage("rec-direct", 1)]),
  ]);
  const mesh = () => buyer.call<MeshStatus>("mesh", gw.gateway!);
  const meshDiag = async () =>
    `exited ${JSON.stringify(
      Object.entries(procs)
        .filter(([, p]) => p.child.exitCode !== null || p.child.signalCode !== null)
        .map(([n, p]) => `${n}: ${p.child.exitCode ?? p.child.signalCode}`),
    )} ` +
    JSON.stringify(
      (await mesh()).peers.map((p) => ({
        name: Object.keys(procs).find((n) => procs[n].peerId === p.peerId),
        reach: p.reach,
        path: p.path,
        via: Object.keys(procs).find((n) => procs[n].peerId === p.via) ?? p.via,
      })),
    );
  const pathOf = async (name: string) => (await mesh()).peers.find((p) => p.peerId === procs[name].peerId)?.path;
  const once = (a: Agent, url: string, modelId: string, from: number) =>
    a.call<{ latencies: number[]; wallMs: number; outputs: Record<number, string>; errors: string[] }>(
      "bench",
      { url, modelId, dims: DIMS, inputName: "x", from, count: 1, concurrency: 1 },
      120_000,
    );

  // ── 1. time until routable, then direct ───────────────────────────────────────────────────
  // Fresh providers of a model only they serve: a request succeeds once the gateway can route
  // to both (through a relay first); "direct" once both hops' data planes are punched.
  log("1. time until a provider behind NAT is routable");
  const routable: Record<string, number>[] = [];
  const failedBefore: Record<string, number>[] = [];
  for (let r = 0; r < RESTARTS; r++) {
    const id = `rec-nat-${r}`;
    if (r > 0) await Promise.all([stopProc(procs.c0), stopProc(procs.c1)]);
    const [a, b] = await Promise.all([
      provider("c0", net.hosts.c0, [...boot, ...stage(r === RESTARTS - 1 ? "rec-punched" : id, 0)]),
      provider("c1", net.hosts.c1, [...boot, ...stage(r === RESTARTS - 1 ? "rec-punched" : id, 1)]),
    ]);
    const t0 = Math.max(a.listenedAt, b.listenedAt);
    const modelId = r === RESTARTS - 1 ? "rec-punched" : id;
    await until(
      "reach verdicts",
      async () => procs.c0.events.some((e) => e.event === "reach") && procs.c1.events.some((e) => e.event === "reach"),
      WAIT_MS,
      100,
    );
    // Each figure from the providers' own events (receivedAt): both ready (model loaded), both
    // with a verdict, both dialable through a relay (first non-empty 'relays').
    const at = (name: string, pred: (e: Record<string, unknown>) => boolean) =>
      Number(procs[name].events.find(pred)?.receivedAt ?? Number.NaN);
    const bothAt = (pred: (e: Record<string, unknown>) => boolean) => Math.max(at("c0", pred), at("c1", pred)) - t0;
    const readyMs = bothAt((e) => e.event === "ready");
    const reachMs = bothAt((e) => e.event === "reach");
    await until(
      "relay reservations",
      async () => ["c0", "c1"].every((n) => procs[n].events.some((e) => e.event === "relays" && (e.relays as string[]).length > 0)),
      WAIT_MS,
      100,
    );
    const relaysMs = bothAt((e) => e.event === "relays" && (e.relays as string[]).length > 0);
    let lastError = "";
    // What the requests before the first answered one failed with, by error (ids and numbers cut).
    const before: Record<string, number> = {};
    await until(
      `${modelId} routable`,
      async () => {
        const r = await once(buyer, gw.gateway!, modelId, 0);
        lastError = r.errors[0] ?? "";
        if (lastError) {
          const key = lastError
            .replace(/^\d+: /, "")
            .replace(/12D3KooW\w+/g, "<peer>")
            .replace(/\d+/g, "N")
            .slice(0, 200);
          before[key] = (before[key] ?? 0) + 1;
        }
        return r.errors.length === 0;
      },
      180_000,
      50,
    ).catch(async (err) => {
      throw new Error(`${(err as Error).message} (last: ${lastError}); mesh ${await meshDiag()}`);
    });
    const routableMs = Date.now() - t0;
    const firstPaths = [await pathOf("c0"), await pathOf("c1")];
    // Requests keep the hops open (a hop whose relayed connection dropped is redialled by the next one).
    const punched = async () => {
      await once(buyer, gw.gateway!, modelId, 0);
      return (await pathOf("c0")) === "punched" && (await pathOf("c1")) === "punched";
    };
    await until("both hops punched", punched, 120_000, 50).catch(async (err) => {
      throw new Error(`${(err as Error).message}; mesh ${await meshDiag()}`);
    });
    const directMs = Date.now() - t0;
    routable.push({ readyMs, reachVerdictMs: reachMs, relayReservedMs: relaysMs, routableMs, directMs });
    failedBefore.push(before);
    log(
      `   run ${r + 1}: ready ${readyMs} ms, verdict ${reachMs} ms, relay slots ${relaysMs} ms, routable ${routableMs} ms (first paths ${firstPaths}), punched ${directMs} ms`,
    );
  }
  await Promise.all([
    provider("s0", net.hosts.s0, [...boot, ...stage("rec-relayed", 0)]),
    provider("s1", net.hosts.s1, [...boot, ...stage("rec-relayed", 1)]),
  ]);
  let relayedError = "";
  await until(
    "rec-relayed routable",
    async () => {
      relayedError = (await once(buyer, gw.gateway!, "rec-relayed", 0)).errors[0] ?? "";
      return !relayedError;
    },
    180_000,
    50,
  ).catch(async (err) => {
    throw new Error(`${(err as Error).message} (last: ${relayedError}); mesh ${await meshDiag()}`);
  });
  result.timeUntilRoutable = {
    what: "a fresh provider pair behind cone NATs, ms from the later one's 'listening' (process up; its model loads after that): both ready (model loaded), both with a reachability verdict, both dialable through a relay (reservation made), the first request through the gateway answered (paths as found then: relayed, or already punched), both hops' data planes hole punched",
    runs: routable,
    requestsFailedBeforeRoutable: failedBefore,
    medianMs: Object.fromEntries(
      ["readyMs", "reachVerdictMs", "relayReservedMs", "routableMs", "directMs"].map((k) => [
        k,
        percentile(
          routable.map((x) => x[k]),
          50,
        ),
      ]),
    ),
  };

  // ── 2. hole-punch success rate ────────────────────────────────────────────────────────────
  log("2. hole-punch success rate");
  const punchAgents: Record<string, Agent> = {};
  for (const name of ["c0", "c1", "s0", "pub0"]) {
    punchAgents[name] = await startAgent(net.hosts[name], join(root, "test/network/nat-agent.ts"), ["--listen", net.hosts[name].ip]);
    agents.push(punchAgents[name]);
  }
  const ext = (n: string) => net.hosts[n].wanIp ?? net.hosts[n].ip;
  const punches: Record<string, unknown> = {};
  for (const [x, y, label] of [
    ["c0", "c1", "cone ↔ cone"],
    ["pub0", "c0", "public ↔ cone"],
    ["c0", "s0", "cone ↔ symmetric"],
    ["pub0", "s0", "public ↔ symmetric"],
  ] as const) {
    let ok = 0;
    const ms: number[] = [];
    for (let i = 0; i < PUNCHES; i++) {
      const [px, py] = await Promise.all([punchAgents[x].call<number>("reservePort"), punchAgents[y].call<number>("reservePort")]);
      const res = await Promise.allSettled([
        punchAgents[x].call<{ ms: number }>("punch", { localPort: px, host: ext(y), port: py }),
        punchAgents[y].call<{ ms: number }>("punch", { localPort: py, host: ext(x), port: px }),
      ]);
      if (res.every((r) => r.status === "fulfilled")) {
        ok++;
        ms.push(Math.max(...res.map((r) => (r as PromiseFulfilledResult<{ ms: number }>).value.ms)));
      }
    }
    punches[label] = { attempts: PUNCHES, succeeded: ok, successRate: ok / PUNCHES, p50Ms: ms.length ? r1(percentile(ms, 50)) : null };
    log(`   ${label}: ${ok}/${PUNCHES}${ms.length ? `, p50 ${r1(percentile(ms, 50))} ms` : ""}`);
  }
  result.holePunch = {
    what: "TCP simultaneous open (each side connects from a reserved local port to the other's external address and port, both at once), bytes exchanged both ways",
    pairs: punches,
  };

  // ── 3. latency and throughput per path ────────────────────────────────────────────────────
  log("3. the 2-stage recogniser per path");
  const paths = [
    { key: "loopback", agent: loopBuyer, url: loopGw.gateway!, modelId: "rec-loopback" },
    { key: "direct", agent: buyer, url: gw.gateway!, modelId: "rec-direct" },
    { key: "holePunched", agent: buyer, url: gw.gateway!, modelId: "rec-punched" },
    { key: "relayed", agent: buyer, url: gw.gateway!, modelId: "rec-relayed" },
  ];
  const expectPath: Record<string, [string, string, string]> = {
    direct: ["pub0", "pub1", "direct"],
    holePunched: ["c0", "c1", "punched"],
    relayed: ["s0", "s1", "relayed"],
  };
  for (const [key, [a, b, want]] of Object.entries(expectPath)) {
    // Warm the hops (dial, data plane, onnxruntime) until both run on the path under test.
    const modelId = paths.find((p) => p.key === key)!.modelId;
    let lastError = "";
    const onPath = async () => {
      lastError = (await once(buyer, gw.gateway!, modelId, 0)).errors[0] ?? "";
      return (await pathOf(a)) === want && (await pathOf(b)) === want;
    };
    await until(`${key} paths`, onPath, 120_000, 100).catch(async (err) => {
      throw new Error(`${(err as Error).message}: ${a}/${b} want ${want} (last: ${lastError}); mesh ${await meshDiag()}`);
    });
  }
  await once(loopBuyer, loopGw.gateway!, "rec-loopback", 0);
  const lat: Record<string, number[]> = {};
  const thr: Record<string, number[]> = {};
  const answers: Record<string, Record<number, string>> = {};
  const errors: Record<string, string[]> = {};
  for (let round = 0; round < ROUNDS; round++) {
    for (const p of round % 2 ? [...paths].reverse() : paths) {
      const from = 1000 + round * 100;
      const seq = await p.agent.call<{ latencies: number[]; outputs: Record<number, string>; errors: string[] }>(
        "bench",
        { url: p.url, modelId: p.modelId, dims: DIMS, inputName: "x", from, count: REQUESTS, concurrency: 1 },
        300_000,
      );
      const par = await p.agent.call<{ latencies: number[]; wallMs: number; outputs: Record<number, string>; errors: string[] }>(
        "bench",
        { url: p.url, modelId: p.modelId, dims: DIMS, inputName: "x", from: from + 50, count: 2 * REQUESTS, concurrency: CONCURRENCY },
        300_000,
      );
      (lat[p.key] ??= []).push(...seq.latencies);
      (thr[p.key] ??= []).push((1000 * par.latencies.length) / par.wallMs);
      answers[p.key] = { ...answers[p.key], ...seq.outputs, ...par.outputs };
      (errors[p.key] ??= []).push(...seq.errors, ...par.errors);
    }
    log(`   round ${round + 1}/${ROUNDS}: ${paths.map((p) => `${p.key} p50 ${r1(percentile(lat[p.key], 50))} ms`).join(", ")}`);
  }
  const base = percentile(lat.loopback, 50);
  const baseThr = percentile(thr.loopback, 50);
  const identical = paths.every((p) => Object.entries(answers[p.key]).every(([i, h]) => answers.loopback[Number(i)] === h));
  result.recogniser = {
    what: `PP-OCRv4 recogniser in 2 stages (input ${DIMS.join("x")} float32, ~450 KiB across the cut, ~1 MiB output), gateway → stage 0 → stage 1 → gateway; latency: one request at a time; throughput: ${CONCURRENCY} at once; rounds interleave the paths`,
    paths: Object.fromEntries(
      paths.map((p) => [
        p.key,
        {
          requests: lat[p.key].length,
          latencyP50Ms: r1(percentile(lat[p.key], 50)),
          latencyP90Ms: r1(percentile(lat[p.key], 90)),
          throughputPerSecP50: r1(percentile(thr[p.key], 50)),
          latencyVsLoopback: r1(percentile(lat[p.key], 50) / base),
          throughputVsLoopback: r1(percentile(thr[p.key], 50) / baseThr),
          failed: errors[p.key].length,
        },
      ]),
    ),
    outputsIdenticalAcrossPaths: identical,
    errors: Object.fromEntries(Object.entries(errors).filter(([, e]) => e.length)),
  };
  if (Object.values(errors).some((e) => e.length)) throw new Error(`network bench: failed requests ${JSON.stringify(errors)}`);
} finally {
  await Promise.all(agents.map((a) => a.kill()));
  await Promise.all(Object.values(procs).map((p) => stopProc(p)));
  net.down();
  rmSync(work, { recursive: true, force: true });
}

const out = {
  bench: "network",
  when: new Date().toISOString(),
  machine: { cpus: cpus().length, loadAvgStart: loadStart.map(r1), loadAvgEnd: loadavg().map(r1) },
  network:
    "namespace network (test/network/netns.ts): public hosts each on their own /24 behind a core router, homes behind nftables masquerade (cone) or masquerade fully-random (symmetric); no latency emulated (no netem in this kernel)",
  durationSec: Math.round((Date.now() - started) / 1000),
  ...result,
};
mkdirSync(join(root, "bench/results"), { recursive: true });
writeFileSync(join(root, "bench/results/network.json"), `${JSON.stringify(out, null, 2)}\n`);
log(`wrote bench/results/network.json (${out.durationSec} s)`);
