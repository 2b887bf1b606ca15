// `node scripts/economics.ts [--write] [--json]`: the economics conditions (a)–(c) of
// docs/PROTOCOL.md at the parameters a fresh deployment starts with (scripts/lib/deploy.ts) and
// the demo model's price and sampling rate. Prints the README's "Economics" block; --write puts
// it into README.md between its markers; --json prints the figures. Exits 1 when a condition fails.
import { readFileSync, writeFileSync } from "node:fs";
import { DEMO_MODEL, MIN_SAMPLING_RATE_PPM, protocolParamsFromJson } from "../node/src/chain/params.ts";
import { economicsMarkdown, economicsReport, withReadmeEconomics } from "../node/src/trust/report.ts";
import type { EconomicsReport } from "../node/src/trust/report.ts";
import { DEFAULT_PARAMETERS } from "./lib/deploy.ts";

/** The example job the README's collateral figure is for (the demo buyer's jobs are smaller). */
export const EXAMPLE_JOB_UNITS = 1_000;

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
    writeFileSync(path, withReadmeEconomics(readFileSync(path, "utf8"), block));
    console.error(`wrote the economics block into ${path}`);
  }
  const failed = Object.entries(report.holds).filter(([, ok]) => !ok);
  if (failed.length > 0) {
    console.error(`conditions failing at the defaults: ${failed.map(([k]) => k).join(", ")}`);
    process.exit(1);
  }
}
