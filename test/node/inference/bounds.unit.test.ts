// Request bounds from the manifest (node/src/inference/bounds.ts): derived defaults, declared
// ranges, manifest validation, the check a gateway runs before any hop, and `model split`
// refusing bounds the model cannot run.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  checkRequest,
  deriveInputBounds,
  DYNAMIC_DIM_HEADROOM,
  hopMaxBytes,
  parseDimRange,
  requestBounds,
  validateManifest,
  type Manifest,
} from "../../../node/src/inference/index.ts";
import { toolkit } from "./helpers.ts";

const REC_INPUT = { name: "x", dtype: "float32" as const, shape: ["batch", 3, 48, "width"] };

function recManifest(inputBounds?: Manifest["model"]["inputBounds"]): Manifest {
  const t = (name: string, shape: (number | string)[] | null) => ({ name, dtype: "float32" as const, shape });
  return {
    format: "shardmesh/manifest@1",
    model: {
      name: "rec",
      sha256: "a".repeat(64),
      bytes: 1,
      inputs: [REC_INPUT],
      outputs: [t("y", ["batch", "t", 6625])],
      profileInputs: { x: [1, 3, 48, 320] },
      ...(inputBounds ? { inputBounds } : {}),
      flops: 1,
    },
    runtime: { graphOptimizationLevel: "all", tolerance: 1e-4 },
    stages: [
      {
        index: 0,
        file: "s0",
        sha256: "b".repeat(64),
        bytes: 1,
        nodes: [0, 1],
        inputs: [REC_INPUT],
        outputs: [t("h", null)],
        forward: [],
        flops: 1,
        costShare: 0.5,
        crossingBytes: 460800,
      },
      {
        index: 1,
        file: "s1",
        sha256: "c".repeat(64),
        bytes: 1,
        nodes: [1, 2],
        inputs: [t("h", null)],
        outputs: [t("y", null)],
        forward: [],
        flops: 1,
        costShare: 0.5,
        crossingBytes: 0,
      },
    ],
    hops: [{ index: 0, cut: 1, tensors: [{ ...t("h", null), bytes: 460800, producedBy: 0 }], bytes: 460800 }],
  };
}

const tensor = (dims: number[], dtype: number | string = 1, bytes = dims.reduce((a, b) => a * b, 1) * 4) => ({
  dtype,
  dims,
  data: { byteLength: bytes },
});

describe("request bounds", () => {
  it("derives fixed dims exactly, the batch dim up to its profile, other dynamic dims within ×/÷ the headroom", () => {
    assert.equal(DYNAMIC_DIM_HEADROOM, 5);
    assert.deepEqual(deriveInputBounds([REC_INPUT], { x: [1, 3, 48, 320] }), {
      x: [
        [1, 1],
        [3, 3],
        [48, 48],
        [64, 1600],
      ],
    });
    assert.deepEqual(deriveInputBounds([{ name: "z", dtype: "int64", shape: null }], { z: [2, 7] }), {
      z: [
        [2, 2],
        [7, 7],
      ],
    });
    const b = requestBounds(recManifest());
    assert.deepEqual(b.inputs.x.dims, [
      [1, 1],
      [3, 3],
      [48, 48],
      [64, 1600],
    ]);
    assert.equal(b.maxBytes, 3 * 48 * 1600 * 4);
    // hop 0 at most 5× its profiled size (the width scales it)
    assert.equal(hopMaxBytes(recManifest(), b, 0), 460800 * 5);
    assert.throws(() => hopMaxBytes(recManifest(), b, 1), { name: "ManifestError" });
  });

  it("takes declared ranges (with a step) and refuses ranges on fixed dims or unknown inputs", () => {
    assert.deepEqual(parseDimRange("x:3=8..960/8"), { input: "x", axis: 3, min: 8, max: 960, step: 8 });
    const declared = deriveInputBounds([REC_INPUT], { x: [1, 3, 48, 320] }, [parseDimRange("x:3=32..800/32"), parseDimRange("x:0=1..4")]);
    assert.deepEqual(declared.x, [
      [1, 4],
      [3, 3],
      [48, 48],
      [32, 800, 32],
    ]);
    for (const bad of ["x:3=9..3", "x3=1..2", "x:3=7..960/8", "x:3=1..99999999999"])
      assert.throws(() => parseDimRange(bad), { name: "ManifestError" });
    assert.throws(() => deriveInputBounds([REC_INPUT], { x: [1, 3, 48, 320] }, [parseDimRange("x:2=1..96")]), /fixed at 48/);
    assert.throws(() => deriveInputBounds([REC_INPUT], { x: [1, 3, 48, 320] }, [parseDimRange("y:2=1..96")]), /no such input/);
  });

  it("validates a manifest's inputBounds", () => {
    assert.ok(
      validateManifest(
        recManifest({
          x: [
            [1, 1],
            [3, 3],
            [48, 48],
            [64, 1600],
          ],
        }),
      ),
    );
    for (const bad of [
      {
        x: [
          [1, 1],
          [3, 3],
          [48, 48],
        ],
      },
      {
        x: [
          [1, 1],
          [3, 3],
          [40, 48],
          [64, 1600],
        ],
      },
      {
        x: [
          [1, 1],
          [3, 3],
          [48, 48],
          [1600, 64],
        ],
      },
      {
        x: [
          [1, 1],
          [3, 3],
          [48, 48],
          [63, 1600, 8],
        ],
      },
      {
        x: [
          [1, 1],
          [3, 3],
          [48, 48],
          [64, 1600],
        ],
        y: [[1, 1]],
      },
      { y: [[1, 1]] },
    ]) {
      assert.throws(() => validateManifest(recManifest(bad as never)), { name: "ManifestError" }, JSON.stringify(bad));
    }
  });

  it("checks a request: names and count, dtype, rank, each dim's range and step, data size", () => {
    const b = requestBounds(
      recManifest({
        x: [
          [1, 1],
          [3, 3],
          [48, 48],
          [64, 1600, 8],
        ],
      }),
    );
    checkRequest(b, { x: tensor([1, 3, 48, 320]) });
    checkRequest(b, { x: tensor([1, 3, 48, 1600], "float32") });
    const reject = (bag: Record<string, ReturnType<typeof tensor>>, name: string) => assert.throws(() => checkRequest(b, bag), { name });
    reject({}, "InputMismatchError");
    reject({ y: tensor([1, 3, 48, 320]) }, "InputMismatchError");
    reject({ x: tensor([1, 3, 48, 320]), extra: tensor([1]) }, "InputMismatchError");
    reject(Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`t${i}`, tensor([1])])), "InputMismatchError");
    reject({ x: tensor([1, 3, 48, 320], 11) }, "InputMismatchError");
    reject({ x: tensor([1, 3, 48, 320], "float64") }, "InputMismatchError");
    reject({ x: tensor([1, 3, 48]) }, "InputMismatchError");
    reject({ x: tensor([1, 3, 48, 16000]) }, "InputOutOfBoundsError");
    reject({ x: tensor([1, 3, 48, 324]) }, "InputOutOfBoundsError");
    reject({ x: tensor([2, 3, 48, 320]) }, "InputOutOfBoundsError");
    reject({ x: tensor([1, 3, 48, 320.5]) }, "InputOutOfBoundsError");
    reject({ x: tensor([1, 3, 48, 320], 1, 100) }, "InputMismatchError");
  });

  it("split writes bounds the model runs at, and refuses bounds it cannot run", async () => {
    const cls = await toolkit("cls");
    const m = cls.split(cls.plan({ stages: 2 }).cuts, { dimRanges: [parseDimRange("x:3=96..384")] }).manifest;
    assert.deepEqual(m.model.inputBounds!.x[3], [96, 384]);
    await cls.checkBounds(m.model.inputBounds!);
    // The detector's FPN adds maps of halved sides: a side that is no multiple of 32 does not run.
    const det = await toolkit("det");
    await assert.rejects(
      det.checkBounds({
        x: [
          [1, 1],
          [3, 3],
          [40, 96],
          [40, 96],
        ],
      }),
      { name: "OnnxModelError" },
    );
    await det.checkBounds({
      x: [
        [1, 1],
        [3, 3],
        [32, 96, 32],
        [32, 96, 32],
      ],
    });
  });
});
