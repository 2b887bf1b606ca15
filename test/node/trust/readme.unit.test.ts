// The README's "Economics" block is what node/src/trust/report.ts computes at the parameters a
// fresh deployment starts with (scripts/lib/deploy.ts) and the demo model's price and rate: it
// cannot drift from the code. Conditions (a)–(c) hold there, and the report can tell when not.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { DEFAULT_PROTOCOL_PARAMS, protocolParamsFromJson } from "../../../node/src/chain/params.ts";
import { economicsMarkdown, economicsReport, readmeEconomicsBlock } from "../../../node/src/trust/report.ts";
import {
  BENCH_BEGIN,
  BENCH_END,
  EXAMPLE_JOB_UNITS,
  TRUST_RESULT,
  deployedEconomics,
  trustBenchMarkdown,
} from "../../../scripts/economics.ts";
import { DEFAULT_PARAMETERS } from "../../../scripts/lib/deploy.ts";

const readme = readFileSync(new URL("../../../README.md", import.meta.url), "utf8");

describe("README economics", () => {
  it("the README block equals the report at the deployed defaults (regenerate: node scripts/economics.ts --write)", () => {
    assert.equal(readmeEconomicsBlock(readme), economicsMarkdown(deployedEconomics()));
  });

  it("the README's measured figures are bench/results/trust.json's, and they show no honest slash and a losing cheater", () => {
    const result = JSON.parse(readFileSync(TRUST_RESULT, "utf8"));
    assert.equal(readmeEconomicsBlock(readme, BENCH_BEGIN, BENCH_END), trustBenchMarkdown(result));
    assert.equal(result.headline.honestPartiesSlashed, 0);
    assert.ok(result.headline.cheaterEvWorstTokens < 0, `cheater EV ${result.headline.cheaterEvWorstTokens}`);
    assert.ok(result.headline.challengerMeanGainTokensBeforeGas > 0);
  });

  it("(a), (b), (b′) and (c) hold at the deployed defaults; N = 9,000 requests at 1 %, 90,000 at the lowest rate", () => {
    const r = deployedEconomics();
    assert.deepEqual(protocolParamsFromJson(DEFAULT_PARAMETERS.protocol), DEFAULT_PROTOCOL_PARAMS);
    assert.deepEqual(r.holds, { a: true, b: true, bPrime: true, c: true });
    for (const row of r.cheat) assert.ok(row.ev < 0, `f ${row.share}, n ${row.requests}: EV ${row.ev}`);
    assert.ok(r.worstCheat.ev < 0);
    assert.ok(r.challengerBeforeGas > 14e18, `challenger ${r.challengerBeforeGas}`);
    assert.equal(r.catch.honest.requests, 9_000);
    assert.equal(r.catch.atMinRate, 90_000);
  });

  it("the report fails (a) when κ is below κ_min, and (b′) when the bond is nothing", () => {
    const base = deployedEconomics().input;
    const low = economicsReport({ ...base, params: { ...base.params, collateralMultipleBps: 24_000, minCollateral: 0n } });
    assert.equal(low.holds.a, false, "κ = 2.4 < 2.5: one fake in a long job pays");
    const free = economicsReport({ ...base, params: { ...base.params, challengeBond: 0n, challengeBondBps: 0 } });
    assert.equal(free.holds.bPrime, false);
    assert.equal(base.maxUnits, EXAMPLE_JOB_UNITS);
  });
});
