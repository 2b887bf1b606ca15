// The gateway records the hashes of the tensors it actually sent and received at every hop, never
// a provider's claim (issue 10 item 16): a stage that records honest hashes (so its reveal would
// pass) but sends other tensors is refused by name and failed over, so the buyer never gets those
// tensors under the honest hash and the next stage never works on them; the SDK checks the
// answer's hashes against the output it got. The old router took the claimed outputHash: the
// buyer got zeros under the honest responseHash and nothing was ever caught.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Router } from "../../../node/src/router/router.ts";
import type { Directory, StageProvider } from "../../../node/src/mesh/directory.ts";
import type { PipelineClient } from "../../../node/src/pipeline/client.ts";
import type { Hop, HopRequest } from "../../../node/src/pipeline/hop.ts";
import { bagHash } from "../../../node/src/tensor/hash.ts";
import { formatJsonBag } from "../../../node/src/tensor/codec.ts";
import type { WireBag } from "../../../node/src/tensor/tensor.ts";
import { checkInferResponse } from "../../../node/src/sdk/index.ts";

const bag = (fill: number): WireBag => ({ y: { dtype: 1, dims: [1, 4], data: new Uint8Array(16).fill(fill) } });
/** The honest stage: adds 1 to every byte. */
const honest = (input: WireBag): WireBag => ({ y: { ...input.y, data: input.y.data.map((b) => b + 1) } });

function mesh(
  stages: Record<number, Record<string, (req: HopRequest) => { bag: WireBag; inputHash?: `0x${string}`; outputHash?: `0x${string}` }>>,
) {
  const provider = (peerId: string): StageProvider => ({ peerId, price: 1n, load: 0, capacity: 4, latencyMs: 1 });
  const directory = {
    stageCount: () => Object.keys(stages).length,
    providers: (_m: string, stage: number) => Object.keys(stages[stage]).map(provider),
  } as unknown as Directory;
  const calls: string[] = [];
  const client = {
    hop: (peerId: string): Hop => ({
      call: async (req) => {
        calls.push(peerId);
        const fn = Object.values(stages).find((s) => s[peerId])![peerId];
        return { ...fn(req), computeMs: 1, ms: 1 };
      },
    }),
  } as unknown as PipelineClient;
  // The liar is tried first (lowest random draw picks the first candidate).
  return { router: new Router(directory, client, { random: () => 0 }), calls };
}

/** A stage that records (and claims) the honest hashes but sends zeros. */
const liar = (req: HopRequest) => ({ bag: bag(0), inputHash: bagHash(req.bag), outputHash: bagHash(honest(req.bag)) });
const good = (req: HopRequest) => ({ bag: honest(req.bag), inputHash: bagHash(req.bag), outputHash: bagHash(honest(req.bag)) });

describe("router: hashes of what the gateway sent and received", () => {
  it("fails over from a last stage that claims the honest hash but sends other tensors; the answer's hashes are the bytes'", async () => {
    const { router, calls } = mesh({ 0: { a: good }, 1: { liar, honest: good } });
    const r = await router.run("m", bag(5), { jobId: "1", index: 0 });
    assert.deepEqual(calls, ["a", "liar", "honest"]);
    assert.equal(r.stages[1].peerId, "honest");
    assert.deepEqual(r.output.y.data, bag(7).y.data);
    assert.equal(r.responseHash, bagHash(r.output));
    assert.equal(r.stages[1].outputHash, bagHash(r.output));
    checkInferResponse({ input: {} }, { output: formatJsonBag(r.output), requestHash: r.requestHash, responseHash: r.responseHash });
  });

  it("the same lie on stage 0 never reaches stage 1 (whose honest provider would be blamed at the hand-off)", async () => {
    const seen: string[] = [];
    const next = (req: HopRequest) => {
      seen.push(bagHash(req.bag));
      return good(req);
    };
    const { router } = mesh({ 0: { liar, honest: good }, 1: { b: next } });
    const r = await router.run("m", bag(5), { jobId: "1", index: 0 });
    assert.deepEqual(seen, [bagHash(bag(6))]);
    assert.equal(r.stages[0].peerId, "honest");
    assert.equal(r.stages[0].outputHash, r.stages[1].inputHash);
  });

  it("with only the liar the request fails by name (RouterHashMismatchError as the last error), nothing answered", async () => {
    const { router } = mesh({ 0: { liar } });
    await assert.rejects(router.run("m", bag(5), { jobId: "1", index: 0 }), (err: Error) => {
      assert.equal(err.name, "RouterNoProviderError");
      assert.match(err.message, /RouterHashMismatchError/);
      return true;
    });
  });

  it("the SDK refuses an answer whose responseHash or requestHash is not the hash of the tensors (InferHashMismatchError)", () => {
    const output = formatJsonBag(bag(0));
    const claimed = bagHash(bag(1));
    assert.throws(() => checkInferResponse({ input: {} }, { output, requestHash: claimed, responseHash: claimed }), {
      name: "InferHashMismatchError",
    });
    const sent = formatJsonBag(bag(2));
    assert.throws(() => checkInferResponse({ input: { tensors: sent } }, { output, requestHash: claimed, responseHash: bagHash(bag(0)) }), {
      name: "InferHashMismatchError",
    });
    checkInferResponse({ input: { tensors: sent } }, { output, requestHash: bagHash(bag(2)), responseHash: bagHash(bag(0)) });
  });
});
