// Cut planner on synthetic costs, and liveness through If subgraph captures on a model built here.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import {
  planCuts,
  analyse,
  crossing,
  encodeModel,
  ModelToolkit,
  DataType,
  AttributeType,
  type ModelProto,
} from "../../../node/src/onnx/index.ts";
import { randomTensor } from "../../../node/src/tensor/index.ts";
import { chainedVsWhole, tempDir } from "./helpers.ts";
import { writeFileSync } from "node:fs";
import { join } from "node:path";

describe("cut planner", () => {
  const cost = Array.from({ length: 10 }, () => 1);
  it("balances cost", () => {
    const p = planCuts({ cost, crossBytes: Array(11).fill(100), stages: 2, slack: 0 });
    assert.deepEqual(p.cuts, [5]);
    assert.deepEqual(p.stageCost, [5, 5]);
  });
  it("trades balance for fewer crossing bytes within the slack, and never uses a forbidden cut", () => {
    const cross = Array(11).fill(100);
    cross[6] = 10;
    cross[5] = Infinity;
    const p = planCuts({ cost, crossBytes: cross, stages: 2, slack: 0.25 });
    assert.deepEqual(p.cuts, [6]);
    const tight = planCuts({
      cost,
      crossBytes: Array(11)
        .fill(100)
        .map((v, i) => (i === 6 ? 10 : v)),
      stages: 2,
      slack: 0,
    });
    assert.deepEqual(tight.cuts, [5]);
  });
  it("gives a faster provider a bigger stage", () => {
    const p = planCuts({ cost, crossBytes: Array(11).fill(1), stages: 2, speeds: [1, 4], slack: 0 });
    assert.deepEqual(p.cuts, [2]);
    assert.ok(p.stageCost[1] > p.stageCost[0] * 3);
  });
  it("names bad requests", () => {
    assert.throws(() => planCuts({ cost, crossBytes: Array(11).fill(1), stages: 11 }), { name: "SplitError" });
    assert.throws(() => planCuts({ cost, crossBytes: Array(11).fill(1), stages: 2, speeds: [1] }), { name: "SplitError" });
  });
});

/** y = Relu(x); s = ReduceSum(x); c = s > 0; out = If(c) { y + y } else { y * y } (If captures y). */
function ifModel(): ModelProto {
  const vi = (name: string, dims: number[], elemType: number = DataType.FLOAT) => ({
    name,
    type: { tensorType: { elemType, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
  });
  const branch = (op: string) => ({
    name: op,
    node: [{ opType: op, input: ["y", "y"], output: [`z_${op}`] }],
    output: [vi(`z_${op}`, [4])],
  });
  return {
    irVersion: 8,
    opsetImport: [{ domain: "", version: 13 }],
    graph: {
      name: "if_capture",
      input: [vi("x", [4])],
      output: [vi("out", [4]), vi("s", [])],
      initializer: [{ name: "zero", dims: [], dataType: DataType.FLOAT, rawData: new Uint8Array(4) }],
      node: [
        { opType: "Relu", input: ["x"], output: ["y"] },
        { opType: "ReduceSum", input: ["x"], output: ["s"], attribute: [{ name: "keepdims", type: AttributeType.INT, i: 0 }] },
        { opType: "Greater", input: ["s", "zero"], output: ["c"] },
        {
          opType: "If",
          input: ["c"],
          output: ["out"],
          attribute: [
            { name: "then_branch", type: AttributeType.GRAPH, g: branch("Add") },
            { name: "else_branch", type: AttributeType.GRAPH, g: branch("Mul") },
          ],
        },
      ],
    },
  };
}

describe("If/Loop subgraph captures", () => {
  it("a tensor captured only by an If body crosses every cut before it, and splits run exactly", async () => {
    const file = join(tempDir("if"), "if.onnx");
    writeFileSync(file, encodeModel(ifModel()));
    const tk = await ModelToolkit.load(file);
    const a = analyse(tk.model);
    assert.equal(a.lastUse.get("y"), 3);
    assert.deepEqual(crossing(a, 3).sort(), ["c", "s", "y"]);
    for (const cuts of [[1], [2], [3], [1, 2, 3]]) {
      for (const x of [randomTensor([4], 1, -1, 0.5), randomTensor([4], 2, -2, -1)]) {
        const r = await chainedVsWhole(tk, file, cuts, { x }, "disabled");
        assert.equal(r.diff, 0, `cuts ${cuts}`);
      }
    }
  });
});

describe("latency-balanced planning", () => {
  it("profiles per-node latency with onnxruntime and plans valid exact cuts from it", async () => {
    const { toolkit, MODELS } = await import("./helpers.ts");
    const tk = await toolkit("cls");
    assert.throws(() => tk.plan({ stages: 2, cost: "latency" }), { name: "SplitError" });
    const lat = await tk.measureLatency(2);
    assert.equal(lat.length, tk.nodeCount);
    assert.ok(lat.every((v) => v >= 0) && lat.reduce((a, b) => a + b, 0) > 0);
    const plan = tk.plan({ stages: 3, cost: "latency" });
    assert.equal(plan.cuts.length, 2);
    const r = await chainedVsWhole(tk, MODELS.cls.file, plan.cuts, { x: randomTensor(MODELS.cls.dims, 9) }, "disabled");
    assert.equal(r.diff, 0);
  });
});
