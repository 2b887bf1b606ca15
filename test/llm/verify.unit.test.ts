// Spot checks of a decoder stage: a session served token by token (prefill, then one decode step
// per token) is re-executed in one prefill pass and passes within the tolerance (the replay need
// not be bit-identical); an output changed at one position fails at that position.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { DecoderGateway, DecoderStageRunner, verifyDecoderStage, type DecoderSplitResult } from "../../node/src/llm/index.ts";
import type { Tensor } from "../../node/src/tensor/index.ts";
import { cat, tinySplit } from "./helpers.ts";

describe("decoder stage spot check", () => {
  let split: DecoderSplitResult;
  let gw: DecoderGateway;
  let served: DecoderStageRunner;
  let verifier: DecoderStageRunner;
  before(async () => {
    split = await tinySplit([2, 2], false); // graph optimisation on: replay is not bit-exact
    gw = await DecoderGateway.open(split.path);
    served = await DecoderStageRunner.fromManifest(gw.manifest, 1);
    verifier = await DecoderStageRunner.fromManifest(gw.manifest, 1);
  });
  after(() => Promise.all([served.close(), verifier.close(), gw.close()]));

  it("an honest incremental session passes a one-shot replay within tolerance; a changed position fails there", async () => {
    const inName = gw.hiddenIn[1];
    const outName = gw.hiddenOut[1];
    const prompt = gw.tokenizer.encode("Call me Ishmael. Some years ago");
    const ins: Tensor[] = [];
    const outs: Tensor[] = [];
    await served.open("s", { maxLength: prompt.length + 24 });
    // Stage 1's inputs: the embeddings run through stage 0 would do; any hidden states will, as the check is per stage.
    let position = 0;
    let tokens = prompt;
    for (let step = 0; step <= 24; step++) {
      const h = await gw.embed(tokens);
      const r = await served.step("s", { stepId: step, position, bag: { [inName]: h } });
      ins.push(h);
      outs.push(r.bag[outName]);
      position += tokens.length;
      tokens = [(step * 31 + 7) % 700];
    }
    const tol = split.manifest.runtime.tolerance;
    const v = await verifyDecoderStage(verifier, inName, outName, cat(ins), cat(outs), tol);
    assert.equal(v.ok, true, `max diff ${v.maxAbsDiff}`);
    assert.equal(v.positions, prompt.length + 24);
    assert.ok(v.maxAbsDiff < tol);
    // A provider that returned something else at one decode position is caught there.
    const bad = cat(outs);
    const d = bad.dims[2];
    const at = prompt.length + 10;
    (bad.data as Float32Array)[at * d + 3] += 0.05;
    const w = await verifyDecoderStage(verifier, inName, outName, cat(ins), bad, tol);
    assert.equal(w.ok, false);
    assert.equal(w.firstBadPosition, at);
    assert.equal(verifier.stats().sessions, 0);
  });
});
