// The project's own int8 model (node/src/models/digits.ts): chained stages equal the whole model
// at S = 2, 3, 4, and the cut before "features" isolates the int8 dense head as the zk stage,
// whose onnxruntime output equals the TypeScript reference bit for bit.
import { describe, it, before } from "node:test";
import assert from "node:assert/strict";
import { writeDigitsModel, DIGITS_NAMES } from "../../../node/src/models/digits.ts";
import { digitSet } from "../../../node/src/models/digits-data.ts";
import { int8DenseReference } from "../../../node/src/models/int8.ts";
import { ModelToolkit } from "../../../node/src/onnx/index.ts";
import { ChainedPipeline, StageRunner, loadManifest, validateManifest, manifestHash } from "../../../node/src/inference/index.ts";
import { bagHash, type Tensor } from "../../../node/src/tensor/index.ts";
import { chainedVsWhole, tempDir } from "./helpers.ts";

describe("digits int8 model", () => {
  let file: string;
  let tk: ModelToolkit;
  let head: ReturnType<typeof writeDigitsModel>["head"];
  const images = digitSet(77, 2);
  const image = (k: number): Tensor => ({ dtype: "float32", dims: [1, 256], data: images.images.slice(k * 256, (k + 1) * 256) });

  before(async () => {
    const w = writeDigitsModel();
    file = w.path;
    head = w.head;
    tk = await ModelToolkit.load(file);
  });

  for (const S of [2, 3, 4]) {
    it(`S=${S}: chained == whole, bit-exact at both optimisation levels`, async () => {
      const plan = tk.plan({ stages: S });
      for (const level of ["disabled", "all"] as const) {
        const more = [7, 13].map((k) => ({ [DIGITS_NAMES.input]: image(k) }));
        const r = await chainedVsWhole(tk, file, plan.cuts, { [DIGITS_NAMES.input]: image(0) }, level, more);
        assert.equal(r.diff, 0);
        assert.equal(r.trace.stages[S - 1].outputHash, bagHash(r.whole));
      }
    });
  }

  it("the cut before features makes the int8 head its own zk stage, equal to the reference", async () => {
    const cut = tk.cutAt(DIGITS_NAMES.features);
    const zk = {
      stage: 1,
      kind: "int8-dense" as const,
      inputs: head.inputs,
      outputs: head.outputs,
      mult: head.mult,
      shift: head.shift,
      zeroPoint: head.zeroPoint,
    };
    const res = tk.split([cut], { zk, runtime: { graphOptimizationLevel: "all", tolerance: 0 } });
    const m = res.manifest;
    assert.deepEqual(m.stages[1].inputs, [{ name: DIGITS_NAMES.features, dtype: "int8", shape: [1, head.inputs] }]);
    assert.deepEqual(m.stages[1].outputs, [{ name: DIGITS_NAMES.output, dtype: "int8", shape: [1, head.outputs] }]);
    assert.deepEqual(validateManifest(m).zk, zk);
    assert.notEqual(manifestHash({ ...m, zk: undefined }), res.hash);
    const loaded = await loadManifest(await tk.write(tempDir("digits"), res));
    const pipe = await ChainedPipeline.open(loaded);
    const headRunner = await StageRunner.fromManifest(loaded, 1);
    try {
      let correct = 0;
      for (let k = 0; k < images.count; k++) {
        const hop = await pipe.runners[0].run({ [DIGITS_NAMES.input]: image(k) });
        const x = hop[DIGITS_NAMES.features].data as Int8Array;
        const y = (await headRunner.run(hop))[DIGITS_NAMES.output];
        assert.deepEqual(Array.from(y.data as Int8Array), Array.from(int8DenseReference(head, x)));
        const logits = Array.from(y.data as Int8Array);
        if (logits.indexOf(Math.max(...logits)) === images.labels[k]) correct++;
      }
      assert.ok(correct >= images.count - 2, `${correct}/${images.count} digits recognised`);
    } finally {
      await pipe.close();
      await headRunner.close();
    }
  });
});
