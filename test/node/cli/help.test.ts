// `--help` on every command and sub-command prints its usage and exits 0 (issue 11: `shardmesh
// provider start --help` was `ProviderConfigError: --help needs a value`), and a bad flag is a
// one-line named mistake with exit 2, not a stack trace.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

const bin = new URL("../../../node/bin/shardmesh.js", import.meta.url).pathname;
const cli = (args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", env: { ...process.env, NODE_NO_WARNINGS: "1" } });

const COMMANDS = [
  [],
  ["model"],
  ["model", "inspect"],
  ["model", "split"],
  ["model", "run"],
  ["model", "ocr"],
  ["model", "build-llm"],
  ["model", "import"],
  ["provider"],
  ["provider", "start"],
  ["mesh"],
  ["mesh", "status"],
  ["verifier"],
  ["verifier", "start"],
  ["generate"],
  ["chat"],
];

describe("shardmesh --help", () => {
  for (const cmd of COMMANDS) {
    it(`${["shardmesh", ...cmd].join(" ")} --help`, () => {
      for (const flag of ["--help", "-h"]) {
        const r = cli([...cmd, flag]);
        assert.equal(r.status, 0, `${flag}: ${r.stderr}`);
        assert.match(r.stdout, /usage/i);
      }
    });
  }

  it("names a bad flag in one line and exits 2", () => {
    for (const cmd of [
      ["provider", "start", "--bogus", "1"],
      ["verifier", "start", "--bogus", "1"],
      ["mesh", "status", "--bogus"],
    ]) {
      const r = cli(cmd);
      assert.equal(r.status, 2, `${cmd.join(" ")}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /bogus/);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "no stack trace");
    }
  });
});
