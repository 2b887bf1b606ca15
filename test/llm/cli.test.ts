// `shardmesh model build-llm | split <folder> | import`, `shardmesh generate | chat --manifest`:
// the commands a person runs, as child processes; exit codes and what they print.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { tempDir } from "./helpers.ts";

const BIN = new URL("../../node/bin/shardmesh.js", import.meta.url).pathname;
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, NODE_NO_WARNINGS: "1" } });

describe("language-model CLI", () => {
  it("builds the tiny decoder, splits it, generates from the split (same seed → same text), imports it", () => {
    const dir = tempDir("cli");
    const b = cli("model", "build-llm", "--preset", "tiny", "--out", join(dir, "tiny"));
    assert.equal(b.status, 0, b.stderr);
    assert.match(b.stdout, /tiny: 4 layers/);
    const s = cli("model", "split", join(dir, "tiny"), "--layers", "2,2", "--exact", "--out", join(dir, "split"));
    assert.equal(s.status, 0, s.stderr);
    assert.match(s.stdout, /manifest hash 0x[0-9a-f]{64}/);
    for (const f of ["embed.onnx", "stage0.onnx", "stage1.onnx", "head.onnx", "tokenizer.json", "manifest.json"])
      assert.ok(existsSync(join(dir, "split", f)), f);
    const args = [
      "--manifest",
      join(dir, "split", "manifest.json"),
      "--max-tokens",
      "12",
      "--temperature",
      "0.9",
      "--seed",
      "5",
      "--stats",
    ];
    const g1 = cli("generate", ...args, "Call me Ishmael.");
    const g2 = cli("generate", ...args, "Call me Ishmael.");
    assert.equal(g1.status, 0, g1.stderr);
    assert.ok(g1.stdout.length > 1);
    assert.equal(g1.stdout, g2.stdout);
    assert.match(g1.stderr, /time to first token [\d.]+ ms; decode [\d.]+ tokens\/s/);
    const c = cli("chat", "--manifest", join(dir, "split", "manifest.json"), "--max-tokens", "4", "Hello");
    assert.equal(c.status, 0, c.stderr);
    const i = cli("model", "import", join(dir, "tiny"), "--out", join(dir, "imported"));
    assert.equal(i.status, 0, i.stderr);
    assert.ok(existsSync(join(dir, "imported", "import.json")));
  });

  it("bad usage exits 2; a bad value exits 1 with the error's name; --help works", () => {
    assert.equal(cli("generate", "--manifest").status, 2);
    const bad = cli("generate", "--manifest", "/nonexistent/manifest.json", "hi");
    assert.equal(bad.status, 1);
    assert.match(bad.stderr, /ManifestError/);
    assert.equal(cli("model", "build-llm", "--preset", "huge", "--out", tempDir("x")).status, 2);
    assert.equal(cli("chat", "--help").status, 0);
    assert.equal(cli("model", "build-llm", "--help").status, 0);
  });
});
