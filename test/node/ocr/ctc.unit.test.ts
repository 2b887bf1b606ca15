// Greedy CTC decoding of the recogniser's output (node/src/ocr/rec.ts) on hand-made class scores.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ctcDecode, loadCharset } from "../../../node/src/ocr/index.ts";

/** Class scores with one hot class per time step (0 is the CTC blank). */
function oneHot(cs: readonly string[], classes: number[]): { dtype: "float32"; dims: number[]; data: Float32Array } {
  const data = new Float32Array(classes.length * cs.length);
  for (const [t, c] of classes.entries()) data[t * cs.length + c] = 1;
  return { dtype: "float32", dims: [1, classes.length, cs.length], data };
}

describe("ctcDecode", () => {
  const cs = loadCharset();
  const space = cs.indexOf(" ");
  const a = cs.indexOf("a");
  const b = cs.indexOf("b");

  it("trims the spaces the recogniser emits on the padding either side of a line, keeps inner ones", () => {
    const [r] = ctcDecode(oneHot(cs, [space, 0, space, a, space, b, 0, space]));
    assert.equal(r.text, "a b");
    assert.ok(r.confidence > 0 && r.confidence <= 1);
  });

  it("a line of only spaces reads as empty", () => {
    assert.equal(ctcDecode(oneHot(cs, [space, 0, space]))[0].text, "");
  });

  it("merges repeats unless a blank separates them", () => {
    assert.equal(ctcDecode(oneHot(cs, [a, a, 0, a]))[0].text, "aa");
  });
});
