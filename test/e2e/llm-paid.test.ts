// Paid per token end to end with real parts: a hardhat node with every contract (the demo's short
// windows), the tiny decoder split in 2 block stages and published, 2 provider processes that
// stake and bind themselves (provider 1: stage 0 and the gateway with embed/head/sampling;
// provider 2: stage 1), libp2p over TCP, onnxruntime. A buyer opens a job on the language model's
// quotes (units are tokens), streams two chat turns signed by its session key, and the receipt —
// its units the tokens used — is submitted with both providers' parts, sampled, revealed (hand-offs
// checked by SpotCheck) and settled: each provider earns units × price. A verifier on the mesh then
// spot-checks both stages of a generation by fetching their traces and re-running each in one
// prefill pass (match within tolerance, never by hash); a forged request signature is refused.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { multiaddr } from "@multiformats/multiaddr";
import type { GatewayApiError } from "../../node/src/sdk/index.ts";
import { createMeshNode, type MeshNode } from "../../node/src/mesh/node.ts";
import { ModelCatalog } from "../../node/src/verifier/models.ts";
import { checkRevealedStage } from "../../node/src/verifier/check.ts";
import { readOnlyContracts } from "../../node/src/chain/contracts.ts";
import { signGenerationRequest } from "../../node/src/jobs/session.ts";
import { signJobDetails } from "../../node/src/jobs/details.ts";
import type { DemoChain } from "../../scripts/lib/demo.ts";
import { STAGE_PRICE } from "../../scripts/demo/market.ts";
import { paidGeneration } from "../../scripts/demo/llm.ts";
import type { ProviderProc } from "../node/mesh/procs.ts";
import { llmBuyer, startLlmMarket, stopLlmMarket, type LlmMarket } from "./llm-market.ts";

const quiet = (): void => {};

describe("paid per token on chain (real processes)", { timeout: 300_000 }, () => {
  let market: LlmMarket;
  let demo: DemoChain;
  let llmId: bigint;
  let manifest: string;
  let verifier: MeshNode;
  let procs: ProviderProc[];

  before(async () => {
    market = await startLlmMarket("shardmesh-llm-paid-");
    ({ demo, llmId, manifest, procs } = market);
    verifier = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
  });

  after(async () => {
    await verifier?.stop();
    await stopLlmMarket(market);
  });

  it("a streamed generation paid per token: receipt units = tokens, sampled and revealed on chain, settled at units × price; a verifier's re-execution matches", async () => {
    const o = llmBuyer(market, 7);
    const gateway = o.gateway;
    const gen = await paidGeneration(o, quiet);
    const units = gen.turns.map((t) => t.paid!.units);
    for (const t of gen.turns) {
      assert.ok(t.text.length > 0, "text streamed");
      assert.ok(t.paid!.units >= t.usage.prompt_tokens + t.usage.completion_tokens, "prompt + sampled tokens");
      assert.ok(t.paid!.units <= t.paid!.reserved);
    }
    assert.deepEqual(
      gen.turns.map((t) => t.paid!.index),
      [0, 1],
    );
    assert.equal(gen.receipt.count, 2);
    assert.equal(
      gen.receipt.units,
      units.reduce((a, b) => a + b, 0),
      "the receipt's units are the tokens used",
    );
    assert.ok(gen.receipt.samples >= 1);
    const read = readOnlyContracts(demo.deployment, demo.publicClient);
    const check = await read.spotCheck.read.receiptCheck([gen.jobId, BigInt(gen.receipt.receiptId)]);
    assert.equal(check.resolved, check.samples, "every sample resolved clean on chain");
    for (const c of gen.receipt.credits)
      assert.equal(c.amount, BigInt(gen.receipt.units) * STAGE_PRICE, `${c.address} earned units × price`);
    const onChain = await read.market.read.receipt([gen.jobId, BigInt(gen.receipt.receiptId)]);
    assert.equal(onChain.status, 2, "settled");

    // A verifier spot-checks both stages of the first generation from the providers' traces.
    for (const p of procs) await verifier.dial(multiaddr(p.addr));
    const models = new ModelCatalog([{ modelId: llmId.toString(), manifest }]);
    try {
      // Per-request details are the session key's to read.
      const expires = Math.floor(Date.now() / 1000) + 120;
      const details = { expires, signature: await signJobDetails(gen.session, gen.jobId.toString(), expires) };
      const [req] = (await gateway.job(gen.jobId.toString(), { details })).requests ?? [];
      assert.ok(req, "the session key reads its job's requests");
      for (const s of req.stages) {
        const v = await checkRevealedStage(verifier, models, {
          jobId: gen.jobId.toString(),
          modelId: llmId.toString(),
          index: req.traceIndex,
          stage: s.stage,
          inputHash: s.inputHash as `0x${string}`,
          outputHash: s.outputHash as `0x${string}`,
          peerId: s.peerId,
        });
        assert.equal(v.outcome, "match", `stage ${s.stage}: ${v.detail}`);
        assert.equal(v.fraud, false);
      }
    } finally {
      await models.close();
    }

    // A request signed by another key is refused by name, and nothing is reserved for it.
    const stranger = privateKeyToAccount(generatePrivateKey());
    const domain = { name: "ShardMesh", version: "1", chainId: 31337, verifyingContract: demo.deployment.contracts.JobMarket.address };
    const forged = await gateway
      .chat(
        { model: llmId.toString(), messages: [{ role: "user", content: "free tokens?" }], max_tokens: 4 },
        {
          job: {
            jobId: gen.jobId.toString(),
            nonce: 2,
            sign: (body, nonce) => signGenerationRequest(stranger, domain, gen.jobId, nonce, body),
          },
        },
      )
      .then(
        () => assert.fail("a forged signature was accepted"),
        (e: GatewayApiError) => e,
      );
    assert.equal(forged.status, 401);
    assert.equal(forged.errorName, "GatewayUnauthorizedError");

    // The session key's own signature for a nonce the job already answered (the demo's first
    // turn, nonce 0): one signed nonce buys one request, so a replay is refused and not billed.
    const unitsBefore = (await gateway.receipt(gen.jobId.toString()).catch(() => ({ units: 0 }))).units;
    const replay = await gateway
      .chat(
        { model: llmId.toString(), messages: [{ role: "user", content: "again?" }], max_tokens: 4 },
        {
          job: {
            jobId: gen.jobId.toString(),
            nonce: 0,
            sign: (body, nonce) => signGenerationRequest(gen.session, domain, gen.jobId, nonce, body),
          },
        },
      )
      .then(
        () => assert.fail("a generation under an answered nonce was served"),
        (e: GatewayApiError) => e,
      );
    assert.equal(replay.status, 409);
    assert.equal(replay.errorName, "JobsNonceReusedError");
    assert.equal((await gateway.receipt(gen.jobId.toString()).catch(() => ({ units: 0 }))).units, unitsBefore, "nothing billed");
  });
});
