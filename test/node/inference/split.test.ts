// Chained stages equal the whole model for the real PP-OCR models at S = 2, 3, 4 (bit-exact with
// graph optimisation disabled, within tolerance with it on), at seeded random cut positions, and
// across the detector's multi-tensor (FPN skip) cuts.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { mulberry32, randomTensor, bagHash } from "../../../node/src/tensor/index.ts";
import { MODELS, chainedVsWhole, toolkit } from "./helpers.ts";

const TOLERANCE = 1e-4;

for (const key of ["cls", "rec", "det"] as const) {
  describe(`split ${key}`, () => {
    for (const S of [2, 3, 4]) {
      it(`S=${S}: chained == whole (bit-exact disabled, ≤${TOLERANCE} all)`, async () => {
        const tk = await toolkit(key);
        const plan = tk.plan({ stages: S });
        assert.equal(plan.cuts.length, S - 1);
        const share = plan.stageCost.map((c) => c / tk.totalFlops);
        assert.ok(Math.min(...share) > 0.05, `degenerate stage in ${share}`);
        const input = { x: randomTensor(MODELS[key].dims, 11 + S) };
        const exact = await chainedVsWhole(tk, MODELS[key].file, plan.cuts, input, "disabled");
        assert.equal(exact.diff, 0);
        assert.equal(exact.manifest.stages.length, S);
        // hand-off consistency: stage s output hash == stage s+1 input hash; ends are request/response hashes
        const st = exact.trace.stages;
        for (let s = 0; s + 1 < S; s++) assert.equal(st[s].outputHash, st[s + 1].inputHash);
        assert.equal(st[0].inputHash, bagHash(input));
        assert.equal(st[S - 1].outputHash, bagHash(exact.whole));
        const fused = await chainedVsWhole(tk, MODELS[key].file, plan.cuts, input, "all");
        assert.ok(fused.diff <= TOLERANCE, `diff ${fused.diff}`);
      });
    }

    it("seeded random cut positions are bit-exact", async () => {
      const tk = await toolkit(key);
      const rnd = mulberry32(key.length * 97 + 5);
      for (let trial = 0; trial < 3; trial++) {
        const S = 2 + Math.floor(rnd() * 4);
        const set = new Set<number>();
        while (set.size < S - 1) set.add(1 + Math.floor(rnd() * (tk.nodeCount - 1)));
        const cuts = [...set].sort((a, b) => a - b);
        const r = await chainedVsWhole(tk, MODELS[key].file, cuts, { x: randomTensor(MODELS[key].dims, trial + 1) }, "disabled");
        assert.equal(r.diff, 0, `cuts [${cuts}]`);
      }
    });
  });
}

describe("detector multi-tensor cuts", () => {
  it("FPN skips cross cuts as several tensors, forwarded ones included, and chain exactly", async () => {
    const tk = await toolkit("det");
    const plan = tk.plan({ stages: 3 });
    const split = tk.split(plan.cuts);
    assert.ok(
      split.manifest.hops.every((h) => h.tensors.length > 1),
      "every det cut carries several tensors",
    );
    // a cut inside the FPN where a backbone tensor is forwarded past a whole stage
    let found: number[] | undefined;
    for (let a = 150; a < tk.nodeCount - 20 && !found; a += 7) {
      const m = tk.split([a, a + 12]).manifest;
      if (m.stages[1].forward.length > 0) found = [a, a + 12];
    }
    assert.ok(found, "a cut pair with forwarded tensors exists");
    const r = await chainedVsWhole(tk, MODELS.det.file, found, { x: randomTensor(MODELS.det.dims, 3) }, "disabled");
    assert.ok(r.manifest.stages[1].forward.length > 0);
    assert.equal(r.diff, 0);
  });
});

describe("co-located stages", () => {
  it("consecutive stages in one worker (forwarded FPN tensors included) equal the whole model", async () => {
    const { ChainedPipeline, StageRunner, loadManifest } = await import("../../../node/src/inference/index.ts");
    const { tempDir } = await import("./helpers.ts");
    const tk = await toolkit("det");
    const res = tk.split(tk.plan({ stages: 4 }).cuts, { runtime: { graphOptimizationLevel: "disabled" } });
    const m = await loadManifest(await tk.write(tempDir("coloc"), res));
    const input = { x: randomTensor(MODELS.det.dims, 5) };
    const whole = await StageRunner.create(MODELS.det.file, { graphOptimizationLevel: "disabled" });
    const pipe = await ChainedPipeline.open(m, { colocate: true });
    // stages 1..2 co-located, fed by stage 0, feeding stage 3
    const s0 = await StageRunner.fromManifest(m, 0);
    const mid = await StageRunner.fromManifestRange(m, 1, 2);
    const s3 = await StageRunner.fromManifest(m, 3);
    try {
      const want = await whole.run(input);
      const got = await pipe.run(input, { hashes: true });
      assert.equal(pipe.runners.length, 1);
      assert.equal(got.stages.length, 4);
      assert.equal(bagHash(got.outputs), bagHash(want));
      const out = await s3.run(await mid.run(await s0.run(input)));
      assert.equal(bagHash(out), bagHash(want));
    } finally {
      await Promise.all([whole.close(), pipe.close(), s0.close(), mid.close(), s3.close()]);
    }
  });
});
