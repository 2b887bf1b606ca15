// `shardmesh model inspect|split|run` in process: exit codes, files written, errors named.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { run } from "../../../node/src/cli/model.ts";
import { loadManifest } from "../../../node/src/inference/index.ts";
import { MODELS, tempDir } from "./helpers.ts";

async function capture(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  const write = process.stderr.write.bind(process.stderr);
  console.log = (...a: unknown[]) => void out.push(a.join(" "));
  console.error = (...a: unknown[]) => void err.push(a.join(" "));
  process.stderr.write = ((s: string) => {
    err.push(String(s));
    return true;
  }) as typeof process.stderr.write;
  try {
    return { code: await run(argv), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
    process.stderr.write = write;
  }
}

describe("shardmesh model CLI", () => {
  it("inspect prints inputs, params and FLOPs", async () => {
    const r = await capture(["inspect", MODELS.cls.file, "--shape", "x=1,3,48,192", "--json"]);
    assert.equal(r.code, 0);
    const info = JSON.parse(r.out);
    assert.equal(info.inputs[0].name, "x");
    assert.ok(info.flops > 1e6 && info.params > 1e5);
  });

  it("split writes stage files and a manifest whose hash it prints; run chains them", async () => {
    const dir = tempDir("cli");
    const r = await capture(["split", MODELS.cls.file, "--stages", "3", "--exact", "--shape", "x=1,3,48,192", "--out", dir]);
    assert.equal(r.code, 0, r.err);
    const m = await loadManifest(join(dir, "manifest.json"));
    assert.ok(r.out.includes(m.hash));
    assert.equal(m.manifest.stages.length, 3);
    assert.equal(m.manifest.runtime.graphOptimizationLevel, "disabled");
    for (const s of m.manifest.stages) assert.ok(existsSync(join(dir, s.file)));
    assert.match(r.err, /write/);
    const ran = await capture(["run", join(dir, "manifest.json"), "--random"]);
    assert.equal(ran.code, 0, ran.err);
    assert.match(ran.out, /output softmax_0\.tmp_0: float32\[1,2\]/);
    const explicit = await capture(["split", MODELS.cls.file, "--cuts", "50,120", "--out", tempDir("cli2")]);
    assert.equal(explicit.code, 0, explicit.err);
    assert.match(explicit.out, /^0\s+0\.\.50 /m);
    assert.ok(readFileSync(join(dir, "manifest.json"), "utf8").includes('"format": "shardmesh/manifest@1"'));
  });

  it("ocr renders text and reads it back through a sharded recogniser", async () => {
    const dir = tempDir("cli-ocr");
    assert.equal((await capture(["split", MODELS.rec.file, "--stages", "2", "--shape", "x=1,3,48,320", "--out", dir])).code, 0);
    const r = await capture(["ocr", "--text", "sharded words 77\\nsecond line", "--rec", join(dir, "manifest.json"), "--no-cls"]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^"sharded words 77" \(confidence/m);
    assert.match(r.out, /^"second line" \(confidence/m);
    assert.equal((await capture(["ocr"])).code, 2);
  });

  it("split declares request bounds: derived, declared with --dim-range, refused where the model does not run", async () => {
    const dir = tempDir("cli-bounds");
    const ok = await capture([
      "split",
      MODELS.cls.file,
      "--stages",
      "2",
      "--shape",
      "x=1,3,48,192",
      "--dim-range",
      "x:3=48..384/8",
      "--out",
      dir,
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, /^request x: \[1, 3, 10\.\.240, 48\.\.384\/8\]$/m);
    assert.deepEqual((await loadManifest(join(dir, "manifest.json"))).manifest.model.inputBounds?.x[3], [48, 384, 8]);
    // The detector's default range (96/5..96×5) includes sides that are no multiple of 32.
    const det = await capture(["split", MODELS.det.file, "--stages", "2", "--shape", "x=1,3,96,96", "--out", tempDir("cli-det")]);
    assert.equal(det.code, 2);
    assert.match(det.err, /does not run at input dims[\s\S]*--dim-range/);
    const bad = await capture(["split", MODELS.cls.file, "--dim-range", "x:3=9..3", "--out", tempDir("cli-bad")]);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /ManifestError/);
  });

  it("bad usage exits 2, bad input exits 1 with the error's name", async () => {
    assert.equal((await capture(["split"])).code, 2);
    assert.equal((await capture(["frobnicate"])).code, 2);
    assert.equal((await capture(["split", MODELS.cls.file, "--stages", "x"])).code, 2);
    const missing = await capture(["inspect", "/nonexistent/model.onnx"]);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /OnnxModelError/);
    const badCuts = await capture(["split", MODELS.cls.file, "--cuts", "9,3", "--out", tempDir("cli3")]);
    assert.equal(badCuts.code, 1);
    assert.match(badCuts.err, /SplitError/);
  });
});
