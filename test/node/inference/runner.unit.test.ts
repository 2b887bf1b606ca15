// Stage runner behaviour (worker threads, batching, limits, timeouts, cancellation), bad input
// with named errors while the process keeps serving, manifest hashing and hash checks, and the
// verifier's re-execution check.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync, copyFileSync } from "node:fs";
import { join } from "node:path";
import {
  ChainedPipeline,
  StageRunner,
  canonicalJson,
  loadManifest,
  manifestHash,
  validateManifest,
  verifyStage,
} from "../../../node/src/inference/index.ts";
import { maxAbsDiff, randomTensor, type Tensor, type TensorBag } from "../../../node/src/tensor/index.ts";
import { ModelToolkit } from "../../../node/src/onnx/index.ts";
import { MODELS, tempDir, toolkit } from "./helpers.ts";

const named = (name: string) => (e: Error) => e.name === name;
const OUT = "softmax_0.tmp_0";

describe("stage runner", () => {
  let runner: StageRunner;
  before(async () => {
    runner = await StageRunner.create(MODELS.cls.file, { maxBatch: 4, limits: { maxBytes: 1 << 20 } });
  });
  after(() => runner.close());

  it("reports the session's ports and detects the batch dim", () => {
    assert.deepEqual(
      runner.inputs.map((t) => t.name),
      ["x"],
    );
    assert.deepEqual(
      runner.outputs.map((t) => t.name),
      [OUT],
    );
    assert.equal(runner.batching, true);
  });

  it("micro-batches queued requests and returns each request its own rows", async () => {
    const xs = Array.from({ length: 4 }, (_, i) => ({ x: randomTensor(MODELS.cls.dims, 100 + i) }));
    const single: TensorBag[] = [];
    for (const b of xs) single.push(await runner.run(b));
    const batched = await Promise.all(xs.map((b) => runner.runDetailed(b)));
    assert.deepEqual(
      batched.map((r) => r.batchSize),
      [1, 3, 3, 3],
    );
    batched.forEach((r, i) => {
      assert.deepEqual(r.bag[OUT].dims, [1, 2]);
      assert.ok(maxAbsDiff(r.bag[OUT], single[i][OUT]) <= 1e-6);
    });
    // inputs are copied to the worker, never detached from the caller
    assert.equal(xs[0].x.data.length, 3 * 48 * 192);
  });

  it("bad input gets a named error and the runner keeps serving", async () => {
    const x = randomTensor(MODELS.cls.dims, 5);
    const cases: Array<[Record<string, Tensor>, string]> = [
      [{ x: randomTensor([1, 4, 48, 192], 1) }, "TensorShapeError"],
      [{ x: randomTensor([1, 3, 48], 1) }, "TensorShapeError"],
      [{ x: { dtype: "int32", dims: [...MODELS.cls.dims], data: new Int32Array(3 * 48 * 192) } }, "TensorDtypeError"],
      [{ x: randomTensor([1, 3, 48, 2000], 1) }, "TensorTooLargeError"],
      [{ x: { ...x, data: Float32Array.from(x.data as Float32Array, (v, i) => (i === 77 ? NaN : v)) } }, "TensorNotFiniteError"],
      [{ x: { ...x, data: Float32Array.from(x.data as Float32Array, (v, i) => (i === 9 ? Infinity : v)) } }, "TensorNotFiniteError"],
      [{}, "BagMismatchError"],
      [{ x, extra: x }, "BagMismatchError"],
    ];
    for (const [bag, name] of cases) await assert.rejects(runner.run(bag), named(name), name);
    const ok = await runner.run({ x });
    assert.deepEqual(ok[OUT].dims, [1, 2]);
  });

  it("cancels with an AbortSignal and bounds the queue", async () => {
    const ctl = new AbortController();
    ctl.abort();
    await assert.rejects(runner.run({ x: randomTensor(MODELS.cls.dims, 1) }, { signal: ctl.signal }), named("InferenceAbortedError"));
    const small = await StageRunner.create(MODELS.cls.file, { maxQueue: 1 });
    try {
      const first = small.run({ x: randomTensor(MODELS.cls.dims, 1) });
      await assert.rejects(small.run({ x: randomTensor(MODELS.cls.dims, 2) }), named("RunnerBusyError"));
      await first;
      const late = new AbortController();
      const running = small.run({ x: randomTensor(MODELS.cls.dims, 3) }, { signal: late.signal });
      late.abort();
      await assert.rejects(running, named("InferenceAbortedError"));
      assert.deepEqual((await small.run({ x: randomTensor(MODELS.cls.dims, 4) }))[OUT].dims, [1, 2]);
    } finally {
      await small.close();
    }
    await assert.rejects(small.run({ x: randomTensor(MODELS.cls.dims, 1) }), named("RunnerClosedError"));
  });

  // Regression: terminating a worker inside onnxruntime's run aborted the whole process
  // ("terminate called after throwing an instance of 'Napi::Error'"); timeouts and close() now
  // let the run return before the worker is terminated.
  it("closing a runner during a run rejects the request and the process survives", async () => {
    const rec = await StageRunner.create(MODELS.rec.file);
    const running = assert.rejects(rec.run({ x: randomTensor([1, 3, 48, 1280], 2) }), named("RunnerClosedError"));
    await rec.close();
    await running;
  });

  it("a request past its timeout fails with InferenceTimeoutError and the worker is replaced", async () => {
    const rec = await StageRunner.create(MODELS.rec.file);
    try {
      await assert.rejects(rec.run({ x: randomTensor([1, 3, 48, 1280], 1) }, { timeoutMs: 1 }), named("InferenceTimeoutError"));
      const out = await rec.run({ x: randomTensor([1, 3, 48, 64], 1) });
      assert.deepEqual(out["softmax_11.tmp_0"].dims, [1, 8, 6625]);
      assert.equal(rec.stats().respawns, 1);
    } finally {
      await rec.close();
    }
  });
});

describe("corrupt models and manifests", () => {
  it("corrupt or truncated ONNX gets OnnxModelError / SessionError", async () => {
    const bytes = readFileSync(MODELS.cls.file);
    const dir = tempDir("bad");
    const truncated = join(dir, "truncated.onnx");
    writeFileSync(truncated, bytes.subarray(0, bytes.length >> 1));
    await assert.rejects(ModelToolkit.load(truncated), named("OnnxModelError"));
    const garbage = join(dir, "garbage.onnx");
    writeFileSync(garbage, Buffer.from("this is not a protobuf model at all"));
    await assert.rejects(ModelToolkit.load(garbage), named("OnnxModelError"));
    await assert.rejects(ModelToolkit.load(join(dir, "missing.onnx")), named("OnnxModelError"));
    await assert.rejects(StageRunner.create(new Uint8Array(bytes.subarray(0, 1000))), named("SessionError"));
  });

  it("a stage file whose hash differs from the manifest gets ShardHashMismatchError", async () => {
    const tk = await toolkit("cls");
    const res = tk.split(tk.plan({ stages: 2 }).cuts);
    const dir = tempDir("hash");
    const path = await tk.write(dir, res);
    const loaded = await loadManifest(path);
    assert.equal(loaded.hash, res.hash);
    // swap stage 1's file for stage 0's: a valid ONNX model, but not the one the manifest names
    copyFileSync(join(dir, res.manifest.stages[0].file), join(dir, res.manifest.stages[1].file));
    await assert.rejects(ChainedPipeline.open(loaded), named("ShardHashMismatchError"));
  });

  it("manifestHash is the keccak of canonical JSON, independent of key order; broken manifests are named", async () => {
    const tk = await toolkit("cls");
    const { manifest, hash } = tk.split(tk.plan({ stages: 3 }).cuts);
    const reverseKeys = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reverseKeys)
        : v && typeof v === "object"
          ? Object.fromEntries(
              Object.entries(v)
                .reverse()
                .map(([k, x]) => [k, reverseKeys(x)]),
            )
          : v;
    const shuffled = reverseKeys(manifest) as typeof manifest;
    assert.notEqual(JSON.stringify(shuffled), JSON.stringify(manifest));
    assert.equal(manifestHash(shuffled), hash);
    assert.equal(canonicalJson({ b: 1, a: [1, { d: undefined, c: "x" }] }), '{"a":[1,{"c":"x"}],"b":1}');
    const changed = structuredClone(manifest);
    changed.stages[1].sha256 = "0".repeat(64);
    assert.notEqual(manifestHash(changed), hash);
    const broken = structuredClone(manifest);
    broken.hops[0].tensors[0].name = "nope";
    assert.throws(() => validateManifest(broken), named("ManifestError"));
    assert.throws(() => validateManifest({ ...manifest, stages: [] }), named("ManifestError"));
  });
});

describe("re-execution check", () => {
  it("accepts an honest output and pins the tampered tensor of a dishonest one", async () => {
    const tk = await toolkit("cls");
    const res = tk.split(tk.plan({ stages: 2 }).cuts, { runtime: { graphOptimizationLevel: "disabled", tolerance: 1e-5 } });
    const loaded = await loadManifest(await tk.write(tempDir("verify"), res));
    const pipe = await ChainedPipeline.open(loaded);
    try {
      const input = { x: randomTensor(MODELS.cls.dims, 42) };
      const hop = await pipe.runners[0].run(input);
      const stage1 = pipe.runners[1];
      const honest = await verifyStage(stage1, hop, await stage1.run(hop), 1e-5);
      assert.equal(honest.ok, true);
      assert.equal(honest.exact, true);
      assert.equal(honest.maxAbsDiff, 0);
      const claimed = await stage1.run(hop);
      const cheat = Float32Array.from(claimed[OUT].data as Float32Array);
      cheat[0] += 0.01;
      const v = await verifyStage(stage1, hop, { [OUT]: { ...claimed[OUT], data: cheat } }, 1e-5);
      assert.equal(v.ok, false);
      assert.equal(v.exact, false);
      assert.equal(v.tensors[0].reason, "tolerance");
      assert.notEqual(v.claimedOutputHash, v.recomputedOutputHash);
      const wrongShape = await verifyStage(stage1, hop, { [OUT]: { dtype: "float32", dims: [2, 1], data: claimed[OUT].data } }, 1e-5);
      assert.equal(wrongShape.tensors[0].reason, "shape");
      await assert.rejects(verifyStage(stage1, { x: input.x }, claimed, 1e-5), named("BagMismatchError"));
    } finally {
      await pipe.close();
    }
  });
});

describe("several sessions", () => {
  it("a runner with 2 workers serves concurrent requests, each getting its own result", async () => {
    const r = await StageRunner.create(MODELS.cls.file, { workers: 2, graphOptimizationLevel: "disabled" });
    try {
      const xs = Array.from({ length: 6 }, (_, i) => ({ x: randomTensor(MODELS.cls.dims, 500 + i) }));
      const want: TensorBag[] = [];
      for (const b of xs) want.push(await r.run(b));
      const got = await Promise.all(xs.map((b) => r.run(b)));
      for (const [i, g] of got.entries()) assert.equal(maxAbsDiff(g[OUT], want[i][OUT]), 0);
      assert.equal(r.stats().runs, 12);
    } finally {
      await r.close();
    }
  });
});
