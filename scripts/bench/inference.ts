// `npm run bench -- inference`: the PP-OCRv4 recogniser whole (S=1, one session) against its
// chained stages (S=2, S=4, one worker-thread session per stage, one process). Rounds of all
// configurations are interleaved so background load from other jobs hits them alike.
// Writes bench/results/inference.json.
//   options: --rounds N (default 16)  --requests N per round and mode (default 6)
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { parseArgs } from "node:util";
import { ModelToolkit } from "../../node/src/onnx/index.ts";
import { ChainedPipeline, StageRunner, loadManifest } from "../../node/src/inference/index.ts";
import { randomTensor, type TensorBag } from "../../node/src/tensor/index.ts";
import { OCR_MODELS } from "../../node/src/ocr/index.ts";
import { percentile } from "../../node/src/util/index.ts";
import { writeBenchResult } from "../lib/bench.ts";

const root = new URL("../../", import.meta.url).pathname;
const { values } = parseArgs({ options: { rounds: { type: "string" }, requests: { type: "string" } } });
const ROUNDS = Number(values.rounds ?? 16);
const REQUESTS = Number(values.requests ?? 6);
const INFLIGHT = 4;
const DIMS = [1, 3, 48, 320];
const GOAL_RATIO = 0.97;
const GOAL_LAG_MS = 10;

interface Config {
  key: string;
  stages: number;
  run(bag: TensorBag): Promise<number[]>; // per-stage compute ms
  cutBytes: number[];
  close(): Promise<void>;
}

const say = (s: string) => process.stderr.write(`${s}\n`);
const loadStart = loadavg();
say(
  `inference bench: PP-OCRv4 rec ${DIMS.join("x")}, ${ROUNDS} rounds × ${REQUESTS} requests, load ${loadStart.map((l) => l.toFixed(2)).join(" ")}`,
);

const tk = await ModelToolkit.load(OCR_MODELS.rec, { probeInputs: { x: DIMS } });
const configs: Config[] = [];
const whole = await StageRunner.create(OCR_MODELS.rec, { label: "whole" });
configs.push({
  key: "S1_whole",
  stages: 1,
  run: async (bag) => [(await whole.runDetailed(bag)).computeMs],
  cutBytes: [],
  close: () => whole.close(),
});
const splits: Record<string, unknown> = {};
for (const S of [2, 4]) {
  const plan = tk.plan({ stages: S });
  const res = tk.split(plan.cuts);
  const dir = join(root, "bench/tmp", `rec-${S}`);
  const loaded = await loadManifest(await tk.write(dir, res));
  splits[`S${S}`] = { cuts: plan.cuts, flopShare: res.manifest.stages.map((s) => s.costShare), manifestHash: res.hash };
  // co-located: all stages in one worker, run back to back (the cost of splitting itself)
  const coloc = await ChainedPipeline.open(loaded, { colocate: true });
  configs.push({
    key: `S${S}_chained_colocated`,
    stages: S,
    run: async (bag) => (await coloc.run(bag)).stages.map((s) => s.computeMs),
    cutBytes: res.manifest.hops.map((h) => h.bytes),
    close: () => coloc.close(),
  });
  // one worker per stage, hops handed between threads (as stages on separate providers)
  const pipe = await ChainedPipeline.open(loaded);
  configs.push({
    key: `S${S}_chained_worker_per_stage`,
    stages: S,
    run: async (bag) => (await pipe.run(bag)).stages.map((s) => s.computeMs),
    cutBytes: res.manifest.hops.map((h) => h.bytes),
    close: () => pipe.close(),
  });
}
const rssAfterSetupMiB = Number((process.memoryUsage().rss / 1024 / 1024).toFixed(1));
const inputs = Array.from({ length: 4 }, (_, i) => ({ x: randomTensor(DIMS, i + 1) }));
for (const c of configs) for (const b of inputs) await c.run(b); // warm up

const seq = new Map<string, { lat: number[]; wall: number; stageMs: number[][] }>();
const par = new Map<string, { lat: number[]; wall: number }>();
for (const c of configs) {
  seq.set(c.key, { lat: [], wall: 0, stageMs: [] });
  par.set(c.key, { lat: [], wall: 0 });
}
// per-round throughput of each config and mode, to form per-round ratios (cancels load drift)
const roundTput: Record<string, { sequential: number[]; pipelined: number[] }> = {};
for (const c of configs) roundTput[c.key] = { sequential: [], pipelined: [] };
const lag = monitorEventLoopDelay({ resolution: 1 });
lag.enable();
for (let r = 0; r < ROUNDS; r++) {
  const order = configs.map((_, i) => configs[(i + r) % configs.length]);
  for (const c of order) {
    // sequential: one request at a time (pure cost of splitting)
    const s = seq.get(c.key)!;
    const t0 = performance.now();
    for (let i = 0; i < REQUESTS; i++) {
      const t = performance.now();
      s.stageMs.push(await c.run(inputs[i % inputs.length]));
      s.lat.push(performance.now() - t);
    }
    s.wall += performance.now() - t0;
    roundTput[c.key].sequential.push((1000 * REQUESTS) / (performance.now() - t0));
    // pipelined: INFLIGHT requests in flight (stages of different requests overlap)
    const p = par.get(c.key)!;
    const t1 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: INFLIGHT }, async () => {
        while (next < REQUESTS) {
          const i = next++;
          const t = performance.now();
          await c.run(inputs[i % inputs.length]);
          p.lat.push(performance.now() - t);
        }
      }),
    );
    p.wall += performance.now() - t1;
    roundTput[c.key].pipelined.push((1000 * REQUESTS) / (performance.now() - t1));
  }
  say(
    `round ${r + 1}/${ROUNDS}: ${configs.map((c) => `${c.key} ${((1000 * seq.get(c.key)!.lat.length) / seq.get(c.key)!.wall).toFixed(1)}/s`).join(", ")}`,
  );
}
lag.disable();
for (const c of configs) await c.close();

const stats = (lat: number[], wall: number) => ({
  throughputPerSec: Number(((1000 * lat.length) / wall).toFixed(2)),
  p50Ms: Number(percentile(lat, 50).toFixed(2)),
  p99Ms: Number(percentile(lat, 99).toFixed(2)),
  minMs: Number(Math.min(...lat).toFixed(2)),
  requests: lat.length,
});
const results: Record<string, unknown> = {};
for (const c of configs) {
  const s = seq.get(c.key)!;
  results[c.key] = {
    stages: c.stages,
    sequential: stats(s.lat, s.wall),
    [`inflight${INFLIGHT}`]: stats(par.get(c.key)!.lat, par.get(c.key)!.wall),
    perStageComputeMsMedian: Array.from({ length: c.stages }, (_, k) =>
      Number(
        percentile(
          s.stageMs.map((x) => x[k]),
          50,
        ).toFixed(2),
      ),
    ),
    bytesCrossingEachCut: c.cutBytes,
  };
}
const tput = (k: string, mode: string) => (results[k] as Record<string, { throughputPerSec: number }>)[mode].throughputPerSec;
// Ratio per round (same minute, same background load), then the median over rounds; the
// ratio of pooled totals is reported alongside.
const medianRatio = (k: string, mode: "sequential" | "pipelined") =>
  Number(
    percentile(
      roundTput[k][mode].map((v, r) => v / roundTput.S1_whole[mode][r]),
      50,
    ).toFixed(3),
  );
const ratios: Record<string, Record<string, number>> = {};
for (const c of configs.slice(1)) {
  ratios[`${c.key}_vs_whole`] = {
    sequential: medianRatio(c.key, "sequential"),
    [`inflight${INFLIGHT}`]: medianRatio(c.key, "pipelined"),
    // uncontended capacity: whole min latency / chained min latency (least affected by others' load)
    minLatencyCapacity: Number((Math.min(...seq.get("S1_whole")!.lat) / Math.min(...seq.get(c.key)!.lat)).toFixed(3)),
    sequentialPooled: Number((tput(c.key, "sequential") / tput("S1_whole", "sequential")).toFixed(3)),
    [`inflight${INFLIGHT}Pooled`]: Number((tput(c.key, `inflight${INFLIGHT}`) / tput("S1_whole", `inflight${INFLIGHT}`)).toFixed(3)),
  };
}
const lagMs = {
  maxMs: Number((lag.max / 1e6).toFixed(2)),
  p99Ms: Number((lag.percentile(99) / 1e6).toFixed(2)),
  meanMs: Number((lag.mean / 1e6).toFixed(2)),
};
const colocRatios = Object.entries(ratios)
  .filter(([k]) => k.includes("colocated"))
  .map(([, r]) => r);
const workerRatios = Object.entries(ratios)
  .filter(([k]) => k.includes("worker_per_stage"))
  .map(([, r]) => r);
const colocatedRatio = Math.min(...colocRatios.flatMap((r) => [r.sequential, r[`inflight${INFLIGHT}`]]));
const pipelinedRatio = Math.min(...workerRatios.map((r) => r[`inflight${INFLIGHT}`]));
const sequentialRatio = Math.min(...workerRatios.map((r) => r.sequential));
const out = {
  bench: "inference",
  date: new Date().toISOString(),
  model: { file: "ch_PP-OCRv4_rec_infer.onnx", input: DIMS, gflopsPerInference: Number((tk.totalFlops / 1e9).toFixed(3)) },
  settings: {
    graphOptimizationLevel: "all",
    intraOpThreads: 1,
    spinning: false,
    cpuMemArena: false,
    workersPerStage: 1,
    rounds: ROUNDS,
    requestsPerRoundPerMode: REQUESTS,
    interleaved: true,
  },
  splits,
  results,
  throughputRatioChainedVsWhole: ratios,
  eventLoopLagDuringInference: lagMs,
  memory: {
    peakRssMiB: Number((process.resourceUsage().maxRSS / 1024).toFixed(1)),
    rssAfterSetupMiB,
    rssEndMiB: Number((process.memoryUsage().rss / 1024 / 1024).toFixed(1)),
    note: "one process holding 13 sessions in 7 worker threads (whole; S2 and S4 colocated; S2 and S4 one worker per stage), each worker with its own V8 isolate; the peak includes the profiling run that materialises every intermediate tensor",
  },
  goals: {
    chainedThroughputAtLeast: GOAL_RATIO,
    worstMinLatencyCapacityColocated: Math.min(...colocRatios.map((r) => r.minLatencyCapacity)),
    capacityGoalMetColocated: Math.min(...colocRatios.map((r) => r.minLatencyCapacity)) >= GOAL_RATIO,
    worstMinLatencyCapacityWorkerPerStage: Math.min(...workerRatios.map((r) => r.minLatencyCapacity)),
    worstRatioColocated: colocatedRatio,
    throughputGoalMetColocated: colocatedRatio >= GOAL_RATIO,
    worstRatioWorkerPerStagePipelined: pipelinedRatio,
    throughputGoalMetWorkerPerStagePipelined: pipelinedRatio >= GOAL_RATIO,
    worstRatioWorkerPerStageOneAtATime: sequentialRatio,
    throughputGoalMetWorkerPerStageOneAtATime: sequentialRatio >= GOAL_RATIO,
    ratioMethod: "median over rounds of (chained / whole) measured in the same round",
    throughputNote: `Medians of per-round ratios are at the mercy of other jobs on the 2 shared cores (load 4-9 during runs); minLatencyCapacity (whole min latency / chained min latency) is the uncontended cost of the split. Worker-per-stage chains pay one thread wake-up per hop, which on an overloaded box costs milliseconds; with ${INFLIGHT} requests in flight those hand-offs overlap with compute.`,
    eventLoopLagUnderMs: GOAL_LAG_MS,
    lagGoalMetAtP99: lagMs.p99Ms < GOAL_LAG_MS,
    lagGoalMetAtMax: lagMs.maxMs < GOAL_LAG_MS,
    lagNote:
      "inference never runs on the main thread; its own GC pauses stay under ~5 ms (--trace-gc), so the max reflects OS scheduling of the 13 session threads (and other engineers' jobs) on 2 shared cores",
  },
  machine: {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGiB: Number((totalmem() / 1024 ** 3).toFixed(1)),
    node: process.version,
    loadavgStart: loadStart.map((l) => Number(l.toFixed(2))),
    loadavgEnd: loadavg().map((l) => Number(l.toFixed(2))),
    note: "2 cores shared with other engineers' jobs; rounds interleaved to spread background load. 'colocated' = all stages in one worker thread run back to back (isolates the cost of the split itself); 'worker_per_stage' = one worker thread per stage with hops handed between threads (what stages on different providers pay locally, without the network); with several requests in flight those stages overlap. The whole model runs in one worker.",
  },
};
writeBenchResult("inference", out, { results, ratios });
say(JSON.stringify({ ratios, lag: lagMs, goals: out.goals }, null, 2));
