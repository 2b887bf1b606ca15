// One re-execution check, no chain: a stage provider (real libp2p node + trace store) serves its
// kept tensors; the verifier fetches them, checks their hashes against the leaf and re-runs the
// real PP-OCR classifier stage. Every outcome: match, mismatch, hash-mismatch, unavailable (never
// kept, or the provider gone), inconclusive (no manifest for the model).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import type { MeshNode } from "../../node/src/mesh/node.ts";
import { ModelCatalog } from "../../node/src/verifier/models.ts";
import { checkRevealedStage } from "../../node/src/verifier/check.ts";
import type { RevealedStage } from "../../node/src/verifier/check.ts";
import { hashOf, serveRequest, splitCls, startStageProvider, swapped } from "./fixture.ts";
import type { Served, StageProvider } from "./fixture.ts";

describe("re-execution check of a revealed stage leaf", { timeout: 60_000 }, () => {
  let provider: StageProvider;
  let verifier: MeshNode;
  let catalog: ModelCatalog;
  let served: Served;
  const opts = { attempts: 2, retryMs: 20 };

  before(async () => {
    const manifest = await splitCls();
    served = await serveRequest(manifest, 7);
    catalog = new ModelCatalog([{ modelId: "1", manifest }]);
    provider = await startStageProvider();
    verifier = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    await verifier.dial(provider.node.getMultiaddrs()[0]);
    const rec = (jobId: string, stage: number, input: typeof served.input, output: typeof served.output, keep = true) =>
      provider.trace.record(
        { jobId, index: 0, modelId: "1", stage, inputHash: hashOf(input), outputHash: hashOf(output), peerId: "x" },
        keep ? { input, output } : undefined,
      );
    rec("1", 0, served.input, served.hop); // honest stage 0
    rec("1", 1, served.hop, served.output); // honest stage 1
    rec("2", 1, served.hop, swapped(served.output)); // wrong stage-1 output
    rec("3", 1, served.hop, served.output, false); // traced, tensors not kept
    // A record claiming the wrong output while the tensors it kept are the honest ones.
    provider.trace.record(
      {
        jobId: "4",
        index: 0,
        modelId: "1",
        stage: 1,
        inputHash: hashOf(served.hop),
        outputHash: hashOf(swapped(served.output)),
        peerId: "x",
      },
      { input: served.hop, output: served.output },
    );
  });

  after(async () => {
    await catalog?.close();
    await verifier?.stop();
    await provider?.stop();
  });

  const leaf = (over: Partial<RevealedStage>): RevealedStage => ({
    jobId: "1",
    modelId: "1",
    index: 0,
    stage: 1,
    inputHash: hashOf(served.hop),
    outputHash: hashOf(served.output),
    peerId: provider.node.peerId.toString(),
    ...over,
  });

  it("matches an honest provider's leaves at both stages (bit-exact with optimisation off)", async () => {
    const s0 = await checkRevealedStage(
      verifier,
      catalog,
      leaf({ stage: 0, inputHash: hashOf(served.input), outputHash: hashOf(served.hop) }),
      opts,
    );
    // Index 5 is the receipt's leaf index; the provider traced the request as 0: found by hash.
    const s1 = await checkRevealedStage(verifier, catalog, leaf({ index: 5 }), opts);
    for (const c of [s0, s1]) {
      assert.equal(c.outcome, "match", c.detail);
      assert.equal(c.fraud, false);
      assert.equal(c.maxAbsDiff, 0);
      assert.equal(c.verdict?.exact, true);
    }
  });

  it("convicts a wrong output (mismatch beyond the manifest's tolerance)", async () => {
    const c = await checkRevealedStage(verifier, catalog, leaf({ jobId: "2", outputHash: hashOf(swapped(served.output)) }), opts);
    assert.equal(c.outcome, "mismatch", c.detail);
    assert.equal(c.fraud, true);
    assert.ok(c.maxAbsDiff! > (await catalog.tolerance("1")));
    assert.equal(c.verdict?.recomputedOutputHash, hashOf(served.output));
  });

  it("convicts tensors that do not hash to the revealed leaf (hash-mismatch)", async () => {
    // The leaf (and the provider's record) claims the wrong output, but the kept tensors are the honest ones.
    const c = await checkRevealedStage(verifier, catalog, leaf({ jobId: "4", outputHash: hashOf(swapped(served.output)) }), opts);
    assert.equal(c.outcome, "hash-mismatch");
    assert.equal(c.fraud, true);
    assert.match(c.detail, /revealed leaf says/);
  });

  it("convicts a provider that cannot deliver a revealed tensor (not kept, none with the leaf's hash, or unreachable)", async () => {
    const notKept = await checkRevealedStage(verifier, catalog, leaf({ jobId: "3" }), opts);
    const noSuchHash = await checkRevealedStage(verifier, catalog, leaf({ outputHash: hashOf(swapped(served.output)) }), opts);
    assert.equal(noSuchHash.outcome, "unavailable");
    assert.match(noSuchHash.detail, /^TensorNotFoundError/);
    assert.equal(notKept.outcome, "unavailable");
    assert.equal(notKept.fraud, true);
    assert.match(notKept.detail, /^TensorNotFoundError/);
    const stranger = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    const gone = stranger.peerId.toString();
    await stranger.stop();
    const unreachable = await checkRevealedStage(verifier, catalog, leaf({ peerId: gone }), opts);
    assert.equal(unreachable.outcome, "unavailable");
    assert.equal(unreachable.fraud, true);
  });

  it("reaches a provider it is not connected to through its announced addresses (peerAddrs)", async () => {
    const far = await startStageProvider();
    try {
      far.trace.record(
        { jobId: "1", index: 0, modelId: "1", stage: 1, inputHash: hashOf(served.hop), outputHash: hashOf(served.output), peerId: "x" },
        { input: served.hop, output: served.output },
      );
      const peerId = far.node.peerId.toString();
      const blind = await checkRevealedStage(verifier, catalog, leaf({ peerId }), opts);
      assert.equal(blind.outcome, "unavailable", "no address known: cannot be reached");
      const announced = far.node.getMultiaddrs().map(String);
      const c = await checkRevealedStage(verifier, catalog, leaf({ peerId }), {
        ...opts,
        peerAddrs: (id) => (id === peerId ? announced : []),
      });
      assert.equal(c.outcome, "match", c.detail);
    } finally {
      await far.stop();
    }
  });

  it("never accuses when it cannot decide (inconclusive: no manifest for the model)", async () => {
    const c = await checkRevealedStage(verifier, catalog, leaf({ modelId: "99" }), opts);
    assert.equal(c.outcome, "inconclusive");
    assert.equal(c.fraud, undefined);
    await assert.rejects(catalog.runner("99", 0), (err: Error) => err.name === "VerifierUnknownModelError");
    await assert.rejects(catalog.runner("1", 5), (err: Error) => err.name === "VerifierUnknownModelError");
  });
});
