// `npm run bench -- llm`: the project's GPT-2-small-shaped decoder (random weights) whole in one
// process against its 2 block stages in 2 provider processes (`shardmesh provider start`, the
// session protocol over libp2p on 127.0.0.1), with this process as the gateway (embeddings,
// head, sampling). Rounds of both configurations are interleaved so background load hits them
// alike. Measures time to first token, decode tokens/s at 1 and 4 concurrent sessions, bytes per
// token per hop, KV-cache bytes per session per stage, and the resume time after kill -9 of a
// stage provider mid-generation. Writes bench/results/llm.json.
//   options: --preset gpt2-small|tiny (default gpt2-small)  --rounds N (default 3)
//            --prompt N tokens (default 64)  --tokens N generated (default 64)
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { loadManifest } from "../../node/src/inference/manifest.ts";
import {
  argmax,
  buildRandomDecoder,
  DECODER_NAMES,
  DecoderGateway,
  DecoderStageRunner,
  encodeMessage,
  RemoteStageLink,
  SessionClient,
  SessionFrameKind,
  splitDecoder,
  type DecoderPreset,
  type GenerateResult,
  type StageLink,
} from "../../node/src/llm/index.ts";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import { writeBenchResult } from "../lib/bench.ts";
import { percentile } from "../../node/src/util/index.ts";

const root = new URL("../../", import.meta.url).pathname;
const { values } = parseArgs({
  options: { preset: { type: "string" }, rounds: { type: "string" }, prompt: { type: "string" }, tokens: { type: "string" } },
});
const PRESET = (values.preset ?? "gpt2-small") as DecoderPreset;
const ROUNDS = Number(values.rounds ?? 3);
const PROMPT = Number(values.prompt ?? 64);
const TOKENS = Number(values.tokens ?? 64);
const CONCURRENT = 4;
const GOAL_DECODE_RATIO = 0.85;
const GOAL_RESUME_OVERHEAD_MS = 1000;
const MODEL = `bench-${PRESET}`;
const say = (s: string) => process.stderr.write(`${s}\n`);
const load0 = loadavg();
say(`llm bench: ${PRESET}, prompt ${PROMPT}, ${TOKENS} tokens, ${ROUNDS} rounds, load ${load0.map((l) => l.toFixed(2)).join(" ")}`);

// ---- model: build once (cached in bench/tmp), split in 2 block stages ----
const dir = join(root, "bench/tmp", `llm-${PRESET}`);
if (!existsSync(join(dir, "onnx/model.onnx"))) {
  say(`building ${PRESET} into ${dir} …`);
  await buildRandomDecoder(dir, PRESET, { seed: 1 });
}
const splitDir = `${dir}.2stages`;
const split = existsSync(join(splitDir, "manifest.json"))
  ? { path: join(splitDir, "manifest.json") }
  : await splitDecoder(dir, splitDir, { stages: 2, onProgress: (e) => e.done === e.total && say(`${e.phase} ${e.detail ?? ""}`) });
const lm = await loadManifest(split.path);
const dec = lm.manifest.decoder!;
const cfg = dec.config;
const gw = await DecoderGateway.open(lm, { intraOpThreads: 2 });
const prompt = Array.from({ length: PROMPT }, (_, i) => (i * 7919 + 13) % (cfg.vocabSize - 3));

// ---- whole model: one with-past graph in one worker, all cores ----
const N = DECODER_NAMES;
const cacheAll = Array.from({ length: cfg.layers }, (_, i) => [
  { past: N.pastKey(i), present: N.presentKey(i), kvHeads: cfg.kvHeads, headDim: cfg.headDim },
  { past: N.pastValue(i), present: N.presentValue(i), kvHeads: cfg.kvHeads, headDim: cfg.headDim },
]).flat();
const whole = await DecoderStageRunner.create(join(dir, "onnx/model.onnx"), {
  cache: cacheAll,
  maxPositions: cfg.maxPositions,
  intraOpThreads: 2,
  kvBudgetBytes: 2 ** 31,
});
let sessionNo = 0;
async function wholeGenerate(): Promise<{ ttftMs: number; decodeMs: number[] }> {
  const id = `w${sessionNo++}`;
  await whole.open(id, { maxLength: PROMPT + TOKENS });
  const ids = (xs: number[]) => ({ dtype: "int64" as const, dims: [1, xs.length], data: BigInt64Array.from(xs, (x) => BigInt(x)) });
  const t0 = performance.now();
  let out = await whole.step(id, { stepId: 0, position: 0, bag: { input_ids: ids(prompt) } });
  const V = cfg.vocabSize;
  const last = () => {
    const l = out.bag.logits.data as Float32Array;
    return argmax(l.subarray(l.length - V));
  };
  let next = last();
  const ttftMs = performance.now() - t0;
  const decodeMs: number[] = [];
  for (let k = 1; k < TOKENS; k++) {
    const t = performance.now();
    out = await whole.step(id, { stepId: k, position: PROMPT + k - 1, bag: { input_ids: ids([next]) } });
    next = last();
    decodeMs.push(performance.now() - t);
  }
  await whole.closeSession(id);
  return { ttftMs, decodeMs };
}

// ---- 2 stages in 2 provider processes; this process is the gateway ----
interface Proc {
  child: ChildProcess;
  peerId: string;
  addr: string;
  exited: Promise<unknown>;
}
const BIN = join(root, "node/bin/shardmesh.js");
const procs: Proc[] = [];
async function provider(stage: number, bootstrap?: string): Promise<Proc> {
  const data = join(root, "bench/tmp", `llm-provider-${procs.length}`);
  mkdirSync(data, { recursive: true });
  const args = [
    "provider",
    "start",
    "--model",
    `${MODEL}=${split.path}:${stage}:1000`,
    "--data-dir",
    data,
    "--key-file",
    join(data, "node.key"),
    "--no-dht",
    "--no-gateway",
    "--intra-op-threads",
    "2",
    "--json",
  ];
  if (bootstrap) args.push("--bootstrap", bootstrap);
  const child = spawn(process.execPath, [BIN, ...args], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  const exited = new Promise((r) => child.once("exit", r));
  const p = await new Promise<Proc>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("provider not ready in 120 s")), 120_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      try {
        const e = JSON.parse(line) as { event?: string; peerId?: string; addrs?: string[] };
        if (e.event === "ready") {
          clearTimeout(timer);
          resolve({ child, peerId: String(e.peerId), addr: e.addrs![0], exited });
        }
      } catch {}
    });
    void exited.then((code) => reject(new Error(`provider exited (${code})`)));
  });
  procs.push(p);
  return p;
}
const cleanup = () => {
  for (const p of procs) if (p.child.exitCode === null) p.child.kill("SIGKILL");
};
process.on("exit", cleanup);
const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
const client = new SessionClient(node);
const p0 = await provider(0);
const p1 = await provider(1, p0.addr);
for (const p of procs) await node.dial((await import("@multiformats/multiaddr")).multiaddr(p.addr));
const links = (): StageLink[] => [new RemoteStageLink(client, p0.peerId, MODEL, 0), new RemoteStageLink(client, p1.peerId, MODEL, 1)];
const meshGenerate = (l: StageLink[] = links(), o: Partial<Parameters<DecoderGateway["generate"]>[2]> = {}): Promise<GenerateResult> =>
  gw.generate(l, prompt, { maxTokens: TOKENS, ...o });

// warm-up
await wholeGenerate();
await meshGenerate();

// ---- interleaved rounds ----
const rows: Record<string, { ttft: number[]; decodeTps: number[]; concurrentTps: number[] }> = {
  whole: { ttft: [], decodeTps: [], concurrentTps: [] },
  stages2: { ttft: [], decodeTps: [], concurrentTps: [] },
};
const tps = (ms: number[]) => (1000 * ms.length) / ms.reduce((a, b) => a + b, 0);
let hopBytes: number[] = [];
for (let r = 0; r < ROUNDS; r++) {
  const w = await wholeGenerate();
  rows.whole.ttft.push(w.ttftMs);
  rows.whole.decodeTps.push(tps(w.decodeMs));
  const m = await meshGenerate();
  rows.stages2.ttft.push(m.ttftMs);
  rows.stages2.decodeTps.push(tps(m.decodeMs));
  hopBytes = m.hopBytes;
  let t = performance.now();
  await Promise.all(Array.from({ length: CONCURRENT }, () => wholeGenerate()));
  rows.whole.concurrentTps.push((CONCURRENT * (TOKENS - 1) * 1000) / (performance.now() - t));
  t = performance.now();
  await Promise.all(Array.from({ length: CONCURRENT }, () => meshGenerate()));
  rows.stages2.concurrentTps.push((CONCURRENT * (TOKENS - 1) * 1000) / (performance.now() - t));
  say(
    `round ${r + 1}: whole ttft ${w.ttftMs.toFixed(0)} ms, ${tps(w.decodeMs).toFixed(1)} tok/s; 2 stages ttft ${m.ttftMs.toFixed(0)} ms, ${tps(m.decodeMs).toFixed(1)} tok/s; ×${CONCURRENT}: ${rows.whole.concurrentTps.at(-1)!.toFixed(1)} vs ${rows.stages2.concurrentTps.at(-1)!.toFixed(1)} tok/s`,
  );
}

// ---- failover: kill -9 of stage 1's provider mid-generation, a spare takes over ----
const spare = await provider(1, p0.addr);
await node.dial((await import("@multiformats/multiaddr")).multiaddr(spare.addr));
const reference = await meshGenerate();
let steps = 0;
const [l0, l1] = links();
const dying: StageLink = {
  open: (id, o, x) => l1.open(id, o, x),
  closeSession: (id) => l1.closeSession(id),
  step: async (id, input, o) => {
    if (++steps === 1 + TOKENS / 2) {
      p1.child.kill("SIGKILL");
      await p1.exited;
    }
    return l1.step(id, input, o);
  },
};
let replayComputeMs = 0;
const spareLink = new RemoteStageLink(client, spare.peerId, MODEL, 1);
const measuredSpare: StageLink = {
  open: (id, o, x) => spareLink.open(id, o, x),
  closeSession: (id) => spareLink.closeSession(id),
  step: async (id, input, o) => {
    const r = await spareLink.step(id, input, o);
    if (input.position === 0) replayComputeMs = r.computeMs;
    return r;
  },
};
const failed = await meshGenerate([l0, dying], { replace: async () => measuredSpare });
const fo = failed.failovers[0];

// ---- figures ----
const med = (xs: number[]) => percentile(xs, 50);
const stepMessageBytes = encodeMessage(
  {
    kind: SessionFrameKind.STEP,
    requestId: 1n,
    modelId: MODEL,
    stage: 1,
    sessionId: "0123456789abcdef0123456789abcdef0123",
    stepId: 100n,
    position: 100,
    timeoutMs: 30_000,
  },
  { [gw.hiddenIn[1]]: { dtype: "float32", dims: [1, 1, cfg.hiddenSize], data: new Float32Array(cfg.hiddenSize) } },
).byteLength;
const positions = PROMPT + TOKENS;
const decodeRatio = med(rows.stages2.decodeTps) / med(rows.whole.decodeTps);
const result = {
  bench: "llm",
  date: new Date().toISOString(),
  model: {
    preset: PRESET,
    layers: cfg.layers,
    hiddenSize: cfg.hiddenSize,
    heads: cfg.heads,
    kvHeads: cfg.kvHeads,
    vocab: cfg.vocabSize,
    manifestHash: lm.hash,
    stageLayers: dec.layers,
  },
  settings: {
    promptTokens: PROMPT,
    generatedTokens: TOKENS,
    rounds: ROUNDS,
    concurrentSessions: CONCURRENT,
    graphOptimizationLevel: lm.manifest.runtime.graphOptimizationLevel,
    wholeIntraOpThreads: 2,
    stageIntraOpThreads: 2,
    spinning: false,
    transport: "libp2p TCP+noise+yamux on 127.0.0.1, /shardmesh/session/1.0.0, gateway in this process, one provider process per stage",
  },
  timeToFirstTokenMs: { whole: med(rows.whole.ttft), stages2: med(rows.stages2.ttft) },
  decodeTokensPerSecond: {
    batch1: { whole: med(rows.whole.decodeTps), stages2: med(rows.stages2.decodeTps), ratio: Number(decodeRatio.toFixed(3)) },
    [`concurrent${CONCURRENT}`]: {
      whole: med(rows.whole.concurrentTps),
      stages2: med(rows.stages2.concurrentTps),
      ratio: Number((med(rows.stages2.concurrentTps) / med(rows.whole.concurrentTps)).toFixed(3)),
    },
  },
  perRound: rows,
  bytesPerTokenPerHop: {
    hiddenStateBytes: cfg.hiddenSize * 4,
    measuredPerDecodedPosition: hopBytes.map((b) => b / (PROMPT + TOKENS - 1)),
    stepMessageBytes,
    note: "a decode step sends one hidden state [1,1,d] float32 per hop (attention_mask and position_ids are implied by the position); the message adds the protobuf header",
  },
  kvCacheBytesPerSessionPerStage: {
    perPosition: dec.kvBytesPerToken,
    atEndOfGeneration: dec.kvBytesPerToken.map((b) => b * positions),
    positions,
  },
  failover: {
    killedAtPosition: fo?.positions ?? null,
    resumeMs: fo?.ms ?? null,
    replayComputeMs,
    resumeOverheadMs: fo ? fo.ms - replayComputeMs : null,
    textIdentical: failed.text === reference.text,
  },
  goals: {
    decodeRatioAtLeast: GOAL_DECODE_RATIO,
    decodeGoalMet: decodeRatio >= GOAL_DECODE_RATIO,
    bytesPerTokenPerHopIsOneHiddenState: hopBytes.every((b) => b / (PROMPT + TOKENS - 1) === cfg.hiddenSize * 4),
    resumeOverheadUnderMs: GOAL_RESUME_OVERHEAD_MS,
    resumeGoalMet: fo !== undefined && fo.ms - replayComputeMs < GOAL_RESUME_OVERHEAD_MS && failed.text === reference.text,
  },
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGiB: Math.round(totalmem() / 2 ** 30),
    loadStart: load0,
    loadEnd: loadavg(),
  },
};
if (!fo) throw new Error("the failover did not happen: no figures written");
writeBenchResult("llm", result, {
  ttft: result.timeToFirstTokenMs,
  decode: result.decodeTokensPerSecond,
  bytes: result.bytesPerTokenPerHop,
  resumeMs: result.failover.resumeMs,
});
say(
  JSON.stringify(
    { ttft: result.timeToFirstTokenMs, decode: result.decodeTokensPerSecond, failover: result.failover, goals: result.goals },
    null,
    1,
  ),
);
client.close();
await node.stop();
await Promise.all([whole.close(), gw.close()]);
cleanup();
process.exit(0);
