// `npm run bench -- abuse`: what each hostile-client attack of issue 12 costs honest buyers →
// bench/results/abuse.json. One live local market (test/abuse/harness.ts: hardhat chain, the
// 2-stage recogniser, four staked provider processes, the gateway on provider 1). Honest buyers
// (each from its own loopback address) send requests through the gateway, first with nothing
// else going on (the quiet baseline, measured before and after the attacks, in the same run),
// then while each attack runs from the attacker's address. Per attack: the honest p50/p99
// latency and error count during it, against the baseline, and the attacked process's peak RSS.
// Goal (issue 12): zero honest errors, honest p99 under 2× the baseline.
//
//   npm run bench -- abuse [--window-ms 10000] [--clients 4]
import { cpus, loadavg } from "node:os";
import { parseArgs } from "node:util";
import {
  announce,
  connectionFlood,
  deepJson,
  imageBomb,
  manyKeysBody,
  manyTensorsBody,
  offerFlood,
  pipelineRequest,
  postInfer,
  slowBody,
  startAttacker,
  tensorBody,
  unpaidFlood,
} from "../../test/abuse/attacks.ts";
import { honestLoad, MiB, rssOf, startMarket, stopMarket, watchRss, type Market } from "../../test/abuse/harness.ts";
import { parseJsonBag } from "../../node/src/tensor/index.ts";
import { writeBenchResult } from "../lib/bench.ts";

const { values: args } = parseArgs({
  options: {
    "window-ms": { type: "string", default: "10000" },
    clients: { type: "string", default: "4" },
    help: { type: "boolean", short: "h" },
  },
});
if (args.help) {
  console.log(`npm run bench -- abuse [--window-ms <ms>] [--clients <n>]
  --window-ms  shortest time honest buyers are measured per attack and per baseline (default 10000)
  --clients    honest buyers, each from its own loopback address (default 4)`);
  process.exit(0);
}
const WINDOW_MS = Number(args["window-ms"]);
const CLIENTS = Number(args.clients);
/** The bench market's gateway closes a request not received whole within this (default 30 s). */
const REQUEST_TIMEOUT_MS = 4_000;

const log = (m: string) => console.log(`[bench abuse] ${m}`);
const r1 = (x: number) => Math.round(x * 10) / 10;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Window {
  honest: { requests: number; errors: number; p50Ms: number; p99Ms: number; errorSamples: string[] };
  attackedPeakRssMiB: number;
  attackedRssBeforeMiB: number;
  ms: number;
}

/** Runs `attack` (on repeat until the window is over) while honest buyers load the gateway. */
async function measure(m: Market, pid: number, attack: (() => Promise<unknown>) | undefined, name: string): Promise<Window> {
  const before = rssOf(pid);
  const watch = watchRss(pid);
  const load = honestLoad(m, { clients: CLIENTS });
  const started = performance.now();
  let runs = 0;
  do {
    if (attack) await attack();
    else await sleep(250);
    runs++;
  } while (performance.now() - started < WINDOW_MS);
  const ms = performance.now() - started;
  const honest = await load.stop();
  const rss = watch.stop();
  const w: Window = {
    honest: {
      requests: honest.latencies.length + honest.errors.length,
      errors: honest.errors.length,
      p50Ms: r1(honest.p50),
      p99Ms: r1(honest.p99),
      errorSamples: honest.errors.slice(0, 3),
    },
    attackedPeakRssMiB: r1(rss.peak / MiB),
    attackedRssBeforeMiB: r1(before / MiB),
    ms: Math.round(ms),
  };
  log(
    `${name}: ${attack ? `${runs} attack round(s), ` : ""}honest ${w.honest.requests} requests, ${w.honest.errors} errors, p50 ${w.honest.p50Ms} ms, p99 ${w.honest.p99Ms} ms; peak RSS ${w.attackedPeakRssMiB} MiB`,
  );
  if (w.honest.requests === 0) throw new Error(`${name}: no honest request finished in ${WINDOW_MS} ms`);
  return w;
}

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  log("starting the market (chain, contracts, 4 providers, gateway)…");
  const m = await startMarket({ gatewayLimits: { requestTimeoutMs: REQUEST_TIMEOUT_MS } });
  const attacker = await startAttacker([m.gateway.addr]);
  try {
    const gatewayPid = m.gateway.child.pid!;
    // A stage-0 provider that is not the gateway: the target of the hostile peer's pipeline requests.
    const stage0 = m.providers[2];
    const honestBag = parseJsonBag((JSON.parse(m.honestBody) as { input: { tensors: Record<string, never> } }).input.tensors);
    // Warm up (first runs of each stage load their sessions), then the baseline.
    await measure(m, gatewayPid, undefined, "warm-up");
    const quietBefore = await measure(m, gatewayPid, undefined, "quiet baseline (before)");

    const attacks: { name: string; what: string; pid: number; run: () => Promise<unknown> }[] = [
      {
        name: "imageBombs",
        what: "PNGs of 72 bytes declaring 6000×6000 and 12000×12000 pixels, one after another",
        pid: gatewayPid,
        run: async () => {
          await imageBomb(m.url, m.modelId, 6000, 6000);
          await imageBomb(m.url, m.modelId, 12000, 12000);
        },
      },
      {
        name: "manyKeysBodies",
        what: "bodies of 2,000,000 and 400,000 JSON keys (24.9 MB and ~5 MB)",
        pid: gatewayPid,
        run: async () => {
          await postInfer(m.url, manyKeysBody(m.modelId, 2_000_000));
          await postInfer(m.url, manyKeysBody(m.modelId, 400_000));
        },
      },
      {
        name: "oversizedTensors",
        what: "a [1,3,48,16000] and a [1,3,48,2000] tensor (width past the model's bound), a batch of 8",
        pid: gatewayPid,
        run: async () => {
          await postInfer(m.url, tensorBody(m.modelId, [1, 3, 48, 16000]));
          await postInfer(m.url, tensorBody(m.modelId, [1, 3, 48, 2000]));
          await postInfer(m.url, tensorBody(m.modelId, [8, 3, 48, 320]));
        },
      },
      {
        name: "manyTensors",
        what: "requests with 5,000 and 100 tensors",
        pid: gatewayPid,
        run: async () => {
          await postInfer(m.url, manyTensorsBody(m.modelId, 5000));
          await postInfer(m.url, manyTensorsBody(m.modelId, 100));
        },
      },
      {
        name: "deepJson",
        what: "a receipt body nested 1,000,000 arrays deep",
        pid: gatewayPid,
        run: () => postInfer(m.url, deepJson(1_000_000)),
      },
      {
        name: "slowBodies",
        what: `20 connections sending a body one byte per 500 ms (cut at the gateway's ${REQUEST_TIMEOUT_MS} ms request deadline)`,
        pid: gatewayPid,
        run: () => Promise.all(Array.from({ length: 20 }, () => slowBody(m.url, { everyMs: 500, maxMs: REQUEST_TIMEOUT_MS + 10_000 }))),
      },
      {
        name: "connectionFlood",
        what: "300 idle connections from one client held 2 s",
        pid: gatewayPid,
        run: async () => (await connectionFlood(m.url, 300, 2_000)).close(),
      },
      {
        name: "unpaidFlood",
        what: "200 unpaid honest-looking requests from one client, 16 at a time",
        pid: gatewayPid,
        run: () => unpaidFlood(m.url, m.honestBody, 200),
      },
      {
        name: "freePipelineCompute",
        what: "an unstaked peer asking a stage-0 provider to run the model under made-up job ids and outside any job, 8 at a time",
        pid: stage0.child.pid!,
        run: () =>
          Promise.all(
            Array.from({ length: 8 }, (_, i) =>
              pipelineRequest(attacker, stage0.peerId, {
                modelId: m.modelId,
                stage: 0,
                bag: honestBag,
                ...(i % 2 ? { jobId: String(1000 + Math.floor(Math.random() * 1e9)), index: i } : {}),
              }),
            ),
          ),
      },
      {
        name: "dataPlaneOfferFlood",
        what: "20,000 DATA_PLANE_REQUEST frames on one pipeline stream to the gateway's node",
        pid: gatewayPid,
        run: () => offerFlood(attacker, m.gateway.peerId, 20_000, 20_000),
      },
      {
        name: "forgedAnnouncements",
        what: "an unstaked key announcing price 0, capacity 1e9, a timestamp 10 years ahead, every 50 ms",
        pid: gatewayPid,
        run: async () => {
          const stop = announce(
            attacker,
            {
              models: [
                {
                  modelId: m.modelId,
                  name: "<b>x</b>",
                  stageCount: 2,
                  stages: [
                    { stage: 0, price: "0" },
                    { stage: 1, price: "0" },
                  ],
                },
              ],
              capacity: 1e9,
              load: 0,
              latencyMs: 1,
              ts: Date.now() + 10 * 365 * 24 * 3600 * 1000,
            },
            50,
          );
          await sleep(2_000);
          stop();
        },
      },
    ];

    const results: Record<string, Window & { what: string; p99VsBaseline: number; goalMet: boolean }> = {};
    for (const a of attacks) {
      const w = await measure(m, a.pid, a.run, a.name);
      results[a.name] = { what: a.what, ...w, p99VsBaseline: 0, goalMet: false };
      await sleep(1_000);
    }
    const quietAfter = await measure(m, gatewayPid, undefined, "quiet baseline (after)");
    const baselineP99 = (quietBefore.honest.p99Ms + quietAfter.honest.p99Ms) / 2;
    for (const r of Object.values(results)) {
      r.p99VsBaseline = Math.round((r.honest.p99Ms / baselineP99) * 100) / 100;
      r.goalMet = r.honest.errors === 0 && r.p99VsBaseline < 2;
    }
    const result = {
      area: "abuse",
      date: new Date().toISOString(),
      machine: {
        cpus: cpus().length,
        model: cpus()[0]?.model,
        node: process.version,
        loadavgAtStart: loadAtStart.map((x) => r1(x)),
        loadavgAtEnd: loadavg().map((x) => r1(x)),
      },
      method: `One live market on 127.0.0.1 (hardhat chain, 2-stage PP-OCRv4 recogniser, 4 staked provider processes; gateway on provider 1). ${CLIENTS} honest buyers, each from its own loopback address, send the same pre-processed line image to /v1/infer one at a time with 700 ms pauses (under the gateway's unpaid share of 2/s per client); a request counts as an error unless it answers 200 with the right text. Each window lasts at least ${WINDOW_MS} ms; the attack repeats until the window is over. The baseline is the mean of quiet windows before and after the attacks. Peak RSS sampled every 25 ms from /proc of the attacked process (the gateway's, or the stage-0 provider's for pipeline requests). 2 shared cores: other engineers' jobs may run at the same time (loadavg).`,
      goal: "zero honest errors and honest p99 < 2× the quiet baseline during every attack",
      baseline: { before: quietBefore, after: quietAfter, p99Ms: r1(baselineP99) },
      attacks: results,
      summary: {
        attacks: attacks.length,
        goalMet: Object.values(results).filter((r) => r.goalMet).length,
        honestErrorsTotal: Object.values(results).reduce((n, r) => n + r.honest.errors, 0),
        worstP99VsBaseline: Math.max(...Object.values(results).map((r) => r.p99VsBaseline)),
      },
    };
    const path = writeBenchResult("abuse", result, { baseline: result.baseline, attacks: result.attacks });
    log(
      `wrote ${path}: goal met in ${result.summary.goalMet} of ${attacks.length} attacks; honest errors ${result.summary.honestErrorsTotal}`,
    );
  } finally {
    await attacker.stop().catch(() => {});
    await stopMarket(m);
  }
}

await main();
process.exit(0);
