// `--help` on every command: each script under scripts/ answers --help with its usage and exit 0
// before doing any work (the demo once started a chain and trained a model instead).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const root = new URL("../..", import.meta.url).pathname;
const scripts = readdirSync(join(root, "scripts")).filter((f) => f.endsWith(".ts"));

describe("scripts answer --help", () => {
  it("lists the scripts it checks", () => {
    for (const s of ["demo.ts", "bench.ts", "deploy.ts", "test.ts", "lint.ts", "generate-abis.ts", "build-circuits.ts"]) {
      assert.ok(scripts.includes(s), s);
    }
  });
  for (const script of scripts) {
    it(`${script} --help prints its usage and exits 0, starting nothing`, () => {
      const r = spawnSync(process.execPath, [join(root, "scripts", script), "--help"], {
        cwd: root,
        encoding: "utf8",
        timeout: 30_000,
        // Nothing may be built or started: a demo that ignored --help would be killed here.
        env: { ...process.env, DEMO_NO_WEB: "1", DEMO_LLM: "tiny", RPC_URL: "http://127.0.0.1:9" },
      });
      assert.equal(r.status, 0, `${script}: exit ${r.status} ${r.signal ?? ""}\n${r.stderr}`);
      assert.match(r.stdout, /^usage: /, `${script} prints a usage line first`);
    });
  }
  it("bench.ts <area> --help is help too, running no benchmark", () => {
    const r = spawnSync(process.execPath, [join(root, "scripts/bench.ts"), "zk", "--help"], {
      cwd: root,
      encoding: "utf8",
      timeout: 30_000,
    });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^usage: npm run bench/);
  });
});
