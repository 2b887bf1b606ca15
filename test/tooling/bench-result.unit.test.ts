// scripts/lib/bench.ts: a benchmark result is written only with its figures (issue 11: the zk
// bench once wrote bench/results/zk.json with none, over the committed one), atomically.
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { writeBenchResult } from "../../scripts/lib/bench.ts";

const dir = mkdtempSync(join(tmpdir(), "shardmesh-bench-result-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const committed = `${JSON.stringify({ results: [{ proofMs: 900 }] })}\n`;

describe("writeBenchResult", () => {
  it("writes a result holding figures", () => {
    const path = writeBenchResult("ok", { machine: { cpus: 2 }, results: [{ proofMs: 812.5 }] }, [{ proofMs: 812.5 }], dir);
    assert.deepEqual(JSON.parse(readFileSync(path, "utf8")).results, [{ proofMs: 812.5 }]);
    assert.deepEqual(readdirSync(dir), ["ok.json"], "no temporary file left");
  });

  for (const [what, figures] of [
    ["no figures (everything skipped)", []],
    ["figures with no number in them", [{ instance: "digits-head", verifiedOnChain: true }]],
    ["a NaN figure", [{ proofMs: Number.NaN }]],
    ["an infinite figure", { ratio: Number.POSITIVE_INFINITY }],
  ] as const) {
    it(`refuses ${what} and leaves the committed result as it was`, () => {
      writeFileSync(join(dir, "zk.json"), committed);
      // The machine description holds numbers too: they are not figures.
      assert.throws(() => writeBenchResult("zk", { machine: { cpus: 2 }, results: figures }, figures, dir), {
        name: "BenchResultEmptyError",
      });
      assert.equal(readFileSync(join(dir, "zk.json"), "utf8"), committed);
      assert.equal(existsSync(join(dir, "zk.json.tmp")), false);
    });
  }
});
