// `node scripts/economics.ts [--write] [--json]`: the economics conditions (a)–(c) of
// docs/PROTOCOL.md at the parameters a fresh deployment starts with (scripts/lib/deploy.ts) and
// the demo model's price and sampling rate. Prints the README's "Economics" block; --write puts
// it into README.md between its markers; --json prints the figures. Exits 1 when a condition fails.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { DEMO_MODEL, MIN_SAMPLING_RATE_PPM, protocolParamsFromJson } from "../node/src/chain/params.ts";
import { economicsMarkdown, economicsReport, withReadmeBlock } from "../node/src/trust/report.ts";
import type { EconomicsReport } from "../node/src/trust/report.ts";
import { DEFAULT_PARAMETERS } from "./lib/deploy.ts";

/** The example job the README's collateral figure is for (the demo buyer's jobs are smaller). */
export const EXAMPLE_JOB_UNITS = 1_000;

export const TRUST_RESULT = new URL("../bench/results/trust.json", import.meta.url).pathname;
export const BENCH_BEGIN = "<!-- trust-bench:begin (node scripts/economics.ts --write) -->";
export const BENCH_END = "<!-- trust-bench:end -->";

/** `lie-hash-stage<s>`: the real router facing a provider that claims the honest hash and sends zeros. */
interface LieHash {
  requests: number;
  requestsTheLiarWasAsked: number;
  refusedByGatewayHashCheck: number;
  requestsInARouteOfTheLiar: number;
  buyerAnswersCorrect: number;
}

interface Scenario {
  cheaterStage: number | null;
  variant: string;
  fakedShare: number;
  trials: number;
  receipts: number;
  samplesPerReceipt: number;
  trialsSlashed: number;
  detectionPerReceiptMeasured: number;
  detectionPerReceipt95CI: [number, number];
  detectionPerReceiptExpected: number;
  chainSecondsReceiptToSlashMean: number | null;
  cheaterEvPerTrialTokens: number | null;
}

/** The README's block of measured figures from bench/results/trust.json. */
export function trustBenchMarkdown(r: {
  measuredAt: string;
  wallMinutes: number;
  setup: { requestsPerReceipt: number; samplesPerReceipt: number; toleranceFromManifest: number };
  scenarios: Record<string, Scenario | LieHash | Record<string, unknown>>;
  headline: Record<string, unknown> & {
    honestPartiesSlashed: number;
    shareOfSamplesCheckedByDrawnVerifierExceptWithheld: number;
    largestHonestDifference: number;
    challengerMeanGainTokensBeforeGas: number;
    challengerMeanGasUnits: number;
    challengerBreakEvenTokensPerGas: number | null;
  };
  gasByFunction: Record<string, { calls: number; mean: number }>;
}): string {
  const p = (x: number) => x.toFixed(2);
  const rows = Object.entries(r.scenarios)
    .filter((e): e is [string, Scenario] => typeof (e[1] as Scenario).receipts === "number" && (e[1] as Scenario).cheaterStage !== null)
    .map(([name, s]) => {
      const ci = s.detectionPerReceipt95CI;
      const h = s.chainSecondsReceiptToSlashMean === null ? "—" : `${(s.chainSecondsReceiptToSlashMean / 3600).toFixed(2)} h`;
      return `| ${name} | ${s.trialsSlashed}/${s.trials} | ${s.receipts} | ${p(s.detectionPerReceiptMeasured)} [${p(ci[0])}, ${p(ci[1])}] | ${p(s.detectionPerReceiptExpected)} | ${h} | ${(s.cheaterEvPerTrialTokens ?? 0).toFixed(2)} SHARD |`;
    });
  // Pooled over variants and stages per f (each trial stops at its slash: the per-row intervals
  // are wide with few trials; pooling is the better test of 1 − (1 − f)^k).
  const wilson = (x: number, n: number): [number, number] => {
    const z = 1.96;
    const q = x / n;
    const c = (q + (z * z) / (2 * n)) / (1 + (z * z) / n);
    const w = (z * Math.sqrt((q * (1 - q)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
    return [Math.max(0, c - w), Math.min(1, c + w)];
  };
  const cheats = Object.values(r.scenarios).filter(
    (s): s is Scenario =>
      typeof (s as Scenario).receipts === "number" && (s as Scenario).cheaterStage !== null && (s as Scenario).variant !== "withhold",
  );
  for (const f of [...new Set(cheats.map((s) => s.fakedShare))]) {
    const group = cheats.filter((s) => s.fakedShare === f);
    const x = group.reduce((a, s) => a + s.trialsSlashed, 0);
    const n = group.reduce((a, s) => a + s.receipts, 0);
    const [lo, hi] = wilson(x, n);
    rows.push(
      `| **all variants and stages, f = ${f}** | ${x}/${group.reduce((a, s) => a + s.trials, 0)} | ${n} | **${p(x / n)}** [${p(lo)}, ${p(hi)}] | ${p(group[0].detectionPerReceiptExpected)} | | |`,
    );
  }
  const honest = Object.values(r.scenarios).filter((s) => (s as Scenario).variant === "honest") as Scenario[];
  const g = r.gasByFunction;
  const gas = [
    "challenge",
    "drawCommittee",
    "commitVote",
    "revealVote",
    "closeRound",
    "finalize",
    "claimJurorReward",
    "reportMissing",
    "presentHandOff",
    "attest",
    "submitReceipt",
    "drawSamples",
    "settle",
  ]
    .filter((k) => g[k])
    .map((k) => `${k} ${g[k].mean.toLocaleString("en-US")}`)
    .join(", ");
  const h = r.headline;
  const lie = [0, 1].map((stage) => r.scenarios[`lie-hash-stage${stage}`] as LieHash | undefined);
  const lieLine = lie.every((x) => typeof x?.refusedByGatewayHashCheck === "number")
    ? [
        "",
        "`signed-zeros`: stage 0 sends zeros and signs its `HandOff` over what it sent, but records and reveals the honest output's hash; the",
        "sampled broken hand-off is settled on chain by the signature the downstream kept (`presentHandOff`), no verifier or dispute needed.",
        `A provider that records and claims the honest hash but sends zeros, through the real gateway router with hand-offs on: refused`,
        `${lie[0]!.refusedByGatewayHashCheck} of the ${lie[0]!.requestsTheLiarWasAsked} times it was asked at stage 0 and ${lie[1]!.refusedByGatewayHashCheck} of ${lie[1]!.requestsTheLiarWasAsked} at stage 1 (failed over); in a route (so payable) ${lie[0]!.requestsInARouteOfTheLiar + lie[1]!.requestsInARouteOfTheLiar} times;`,
        `the buyer got the right answer ${lie[0]!.buyerAnswersCorrect + lie[1]!.buyerAnswersCorrect} of ${lie[0]!.requests + lie[1]!.requests} times.`,
      ]
    : [];
  return [
    `Measured by \`npm run bench -- trust\` (bench/results/trust.json, ${r.measuredAt.slice(0, 10)}, ${r.wallMinutes.toFixed(0)} min): the real contracts`,
    `at the defaults above, the recogniser's 2 stages in onnxruntime, providers, gateway, buyer and verifiers acting in-process by`,
    `the protocol; receipts of ${r.setup.requestsPerReceipt} requests (k = ${r.setup.samplesPerReceipt}); each trial a job run until its cheater is slashed.`,
    "",
    "| cheater (variant, stage, f) | trials slashed | receipts | caught per receipt [95 % CI] | 1 − (1 − f)^k | receipt → slash (chain time) | cheater EV per trial |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    ...rows,
    ...lieLine,
    "",
    "The cheater loses its whole collateral (50 SHARD) when slashed: here the challenger and jurors are not its sybils (with them it",
    "would recover σ + γ = 40 % of it, still losing 30 SHARD against at most 0.4 SHARD of saved compute per trial).",
    "",
    `Honest parties slashed: **${h.honestPartiesSlashed}** (every cheat run, and ${honest.reduce((a, s) => a + s.receipts, 0)} receipts of honest-only control runs with`,
    `providers at 1 and 2 onnxruntime threads against verifiers at 1: largest difference ${h.largestHonestDifference} against a tolerance of`,
    `${r.setup.toleranceFromManifest}). Samples checked by their drawn verifier: ${(h.shareOfSamplesCheckedByDrawnVerifierExceptWithheld * 100).toFixed(0)} % (every registered verifier runs here; withheld leaves excepted: nobody can check`,
    `them; the chain faults their owner). The challenger's measured gain per upheld dispute: ${h.challengerMeanGainTokensBeforeGas.toFixed(2)} SHARD for`,
    `${Math.round(h.challengerMeanGasUnits).toLocaleString("en-US")} gas of its own transactions — positive while gas costs less than ${h.challengerBreakEvenTokensPerGas?.toExponential(2)} SHARD per unit.`,
    `Gas per call (mean): ${gas}.`,
  ].join("\n");
}

/** The report at the deployed defaults. */
export function deployedEconomics(): EconomicsReport {
  return economicsReport({
    params: protocolParamsFromJson(DEFAULT_PARAMETERS.protocol),
    minVerifierStake: BigInt(DEFAULT_PARAMETERS.minVerifierStake),
    price: DEMO_MODEL.stagePrice,
    samplingRatePpm: DEMO_MODEL.samplingRatePpm,
    maxUnits: EXAMPLE_JOB_UNITS,
    minSamplingRatePpm: MIN_SAMPLING_RATE_PPM,
  });
}

if (import.meta.main) {
  const args = process.argv.slice(2);
  if (args.includes("--help") || args.includes("-h")) {
    console.log("usage: node scripts/economics.ts [--write] [--json]\n  prints the README's economics block at the deployed defaults;");
    console.log("  --write replaces it in README.md, --json prints the figures; exit 1 if a condition (a)–(c) fails");
    process.exit(0);
  }
  const unknown = args.filter((a) => a !== "--write" && a !== "--json");
  if (unknown.length > 0) {
    console.error(`unknown option ${unknown[0]} (see --help)`);
    process.exit(2);
  }
  const report = deployedEconomics();
  const block = economicsMarkdown(report);
  if (args.includes("--json")) console.log(JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2));
  else console.log(block);
  if (args.includes("--write")) {
    const path = new URL("../README.md", import.meta.url).pathname;
    let readme = withReadmeBlock(readFileSync(path, "utf8"), block);
    if (existsSync(TRUST_RESULT))
      readme = withReadmeBlock(readme, trustBenchMarkdown(JSON.parse(readFileSync(TRUST_RESULT, "utf8"))), BENCH_BEGIN, BENCH_END);
    writeFileSync(path, readme);
    console.error(`wrote the economics blocks into ${path}`);
  }
  const failed = Object.entries(report.holds).filter(([, ok]) => !ok);
  if (failed.length > 0) {
    console.error(`conditions failing at the defaults: ${failed.map(([k]) => k).join(", ")}`);
    process.exit(1);
  }
}
