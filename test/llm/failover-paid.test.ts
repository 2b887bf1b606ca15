// A paid generation whose stage provider dies mid-generation is still served, billed, and every
// receipt of it stays valid (real onnxruntime stages of the tiny decoder split in 3, real libp2p
// on 127.0.0.1, real hand-off signatures and buyer JobRequest checks, the gateway's OpenAI route
// with job admission). The replacement replays the history in one prefill step; on another
// machine (other CPU kernels, another onnxruntime build) its outputs differ by float rounding
// from what the dead provider had sent on. Here every provider runs on one CPU, where this
// decoder's prefill and incremental steps happen to be bit-identical, so the spares stand for
// that other machine: their stage graph ends in a multiplication by 1 + 2⁻²³ (each output off by
// an ulp or two, well within the spot check's tolerance), and they record what they compute and
// return like any honest provider. The gateway re-runs every later stage from the replacement's
// outputs (llm/generate.ts), so each stage's record input is its upstream's record output and
// the hand-offs verify. On the old node a failover before the last stage was 502
// SessionHandOffError (the next stage refused the replacement's hand-off), and one at the last
// stage billed a response hash no provider recorded (its receipt leaf refused).
//
// Greedy text: the tokens chosen before the failure are the uninterrupted run's (asserted as a
// text prefix); after it, one stage's prefill-vs-incremental rounding may in principle change a
// later token, so full equality is not asserted.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Address } from "viem";
import { createMeshNode, type MeshNode } from "../../node/src/mesh/node.ts";
import {
  DecoderGateway,
  DecoderStageRunner,
  keepSessionRecords,
  RemoteStageLink,
  SessionClient,
  SessionServer,
  sessionSeal,
  sessionStageKey,
  type LlmService,
  type StageLink,
} from "../../node/src/llm/index.ts";
import { handleOpenAi } from "../../node/src/gateway/openai.ts";
import type { PaidGeneration } from "../../node/src/gateway/api.ts";
import { JobAdmission, parseJobId } from "../../node/src/jobs/admission.ts";
import { signGenerationRequest } from "../../node/src/jobs/session.ts";
import { revealLeaf } from "../../node/src/jobs/parts.ts";
import type { JobsContext } from "../../node/src/jobs/context.ts";
import { HandOffs, handOffSigner } from "../../node/src/pipeline/handoff.ts";
import { JobRequestCheck } from "../../node/src/pipeline/jobrequest.ts";
import { shardMeshDomain } from "../../node/src/receipts/eip712.ts";
import { encodeBuyerLeaves } from "../../node/src/receipts/leaves.ts";
import { TraceStore } from "../../node/src/trace/store.ts";
import { fromWireBag, type Tensor } from "../../node/src/tensor/index.ts";
import { decodeModel, encodeModel, DataType } from "../../node/src/onnx/model.ts";
import { loadStageFile } from "../../node/src/inference/manifest.ts";
import { cat, tinySplit } from "./helpers.ts";

const MODEL = "tiny-llama";
const STAGES = 3;
const PROMPT = "Call me Ishmael. Some years ago, never mind how long precisely";
const MAX_TOKENS = 16;
/** The dying provider's step call that meets a stopped node (1 = the prefill): a decode step. */
const DIE_AT_STEP = 6;

interface Provider {
  stage: number;
  node: MeshNode;
  account: ReturnType<typeof privateKeyToAccount>;
  store: TraceStore;
  runner: DecoderStageRunner;
  server: SessionServer;
}

describe("a paid generation survives a stage provider's death: re-run downstream, billed, receipts valid", { timeout: 300_000 }, () => {
  const domain = shardMeshDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  const session = privateKeyToAccount(generatePrivateKey());
  let gw: DecoderGateway;
  let gatewayNode: MeshNode;
  let client: SessionClient;
  let store: TraceStore;
  let admission: JobAdmission;
  let server: Server;
  let url: string;
  /** Three providers per stage: [stage][0] and [stage][2] first choices, [stage][1] the spare (other rounding). */
  const providers: Provider[][] = [];
  /** How the next generation picks its links and replaces a failed one. */
  let plan: { links: StageLink[]; replace: (stage: number) => StageLink | null; replaced: number[] };
  let reference: number[];

  const quoted = async (jobId: string, stage: number): Promise<Set<Address>> =>
    new Set(["42", "43", "44", "45", "46"].includes(jobId) ? providers[stage].map((p) => p.account.address) : []);

  before(async () => {
    const split = await tinySplit([1, 2, 1], false); // optimisation on: a one-shot replay is not bit-identical
    gw = await DecoderGateway.open(split.path);
    gatewayNode = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    const jobRequests = new JobRequestCheck({
      domain,
      sessionKey: async (id) => ((await quoted(id, 0)).size ? session.address : undefined),
    });
    for (let s = 0; s < STAGES; s++) {
      providers.push([]);
      for (let k = 0; k < 3; k++) {
        const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
        const account = privateKeyToAccount(generatePrivateKey());
        const pstore = new TraceStore({ path: ":memory:" });
        const handOffs = new HandOffs({ domain, signer: account, quoted, stageCount: () => STAGES });
        const o = { seal: sessionSeal(handOffs, MODEL, s), onTrace: keepSessionRecords(pstore, MODEL, s) };
        const runner =
          k !== 1
            ? await DecoderStageRunner.fromManifest(gw.manifest, s, o)
            : await DecoderStageRunner.create(await otherRounding(s), {
                cache: split.manifest.stages[s].cache!,
                inputs: split.manifest.stages[s].inputs,
                maxPositions: gw.config.maxPositions,
                graphOptimizationLevel: split.manifest.runtime.graphOptimizationLevel,
                ...o,
              });
        const srv = new SessionServer(node, { stages: new Map([[sessionStageKey(MODEL, s), runner]]), jobRequests });
        await srv.start();
        await gatewayNode.dial(node.getMultiaddrs()[0]);
        providers[s].push({ stage: s, node, account, store: pstore, runner, server: srv });
      }
    }
    client = new SessionClient(gatewayNode);
    store = new TraceStore({ path: ":memory:" });
    admission = new JobAdmission({ store, maxUnits: async () => 400 });
    const peerOf = (l: StageLink) => (l as RemoteStageLink).peer;
    const service: LlmService = {
      models: () => [{ id: MODEL, created: 1_700_000_000 }],
      model: (id) =>
        id === MODEL
          ? {
              gateway: gw,
              links: async () => ({
                links: plan.links,
                replace: async (stage) => {
                  plan.replaced.push(stage);
                  return plan.replace(stage);
                },
                peerOf,
              }),
            }
          : undefined,
    };
    server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      void handleOpenAi(req, res, path, service, {
        admit: async (r, _body, units) => {
          const job = r.headers["x-shardmesh-job"];
          const nonce = r.headers["x-shardmesh-nonce"];
          return typeof job === "string" ? admission.admit(parseJobId(job), units, Number(nonce)) : undefined;
        },
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/completions`;
    // The uninterrupted run's greedy tokens (local runners of the same split).
    const local = await Promise.all([0, 1, 2].map((s) => DecoderStageRunner.fromManifest(gw.manifest, s)));
    try {
      reference = (await gw.generate(local, gw.tokenizer.encode(PROMPT), { maxTokens: MAX_TOKENS, temperature: 0 })).tokens;
    } finally {
      await Promise.all(local.map((r) => r.close()));
    }
  });

  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    client.close();
    for (const p of providers.flat()) {
      await p.server.stop().catch(() => {});
      await p.node.stop();
      await p.runner.close();
      p.store.close();
    }
    await Promise.all([gatewayNode.stop(), gw.close()]);
    store.close();
  });

  /**
   * Stage `s`'s graph with its hidden output multiplied by 1 + 2⁻²³ (the next float after 1): the
   * same function, rounded otherwise, as another machine's kernels would.
   */
  async function otherRounding(s: number): Promise<Uint8Array> {
    const m = decodeModel(await loadStageFile(gw.manifest.manifest, gw.manifest.dir, s));
    const out = gw.hiddenOut[s];
    const pre = `${out}_other_rounding`;
    const producer = m.graph!.node!.find((n) => n.output?.includes(out))!;
    producer.output = producer.output!.map((x) => (x === out ? pre : x));
    m.graph!.initializer!.push({
      name: `${pre}_scale`,
      dataType: DataType.FLOAT,
      dims: [],
      rawData: new Uint8Array(Float32Array.of(1 + 2 ** -23).buffer),
    });
    m.graph!.node!.push({ name: `${pre}_mul`, opType: "Mul", input: [pre, `${pre}_scale`], output: [out] });
    return encodeModel(m);
  }

  const link = (p: Provider) => new RemoteStageLink(client, p.node.peerId.toString(), MODEL, p.stage);

  /** `p`'s link, whose provider's node stops at its DIE_AT_STEP-th step call; what it returned before is kept. */
  function dying(p: Provider): { link: StageLink; sent: Tensor[] } {
    const inner = link(p);
    const sent: Tensor[] = [];
    let calls = 0;
    return {
      sent,
      link: {
        open: inner.open.bind(inner),
        closeSession: inner.closeSession.bind(inner),
        endSession: inner.endSession.bind(inner),
        step: async (id, input, o) => {
          if (++calls === DIE_AT_STEP) await p.node.stop();
          const r = await inner.step(id, input, o);
          sent.push(Object.values(r.bag)[0]);
          return r;
        },
      },
    };
  }

  /** A paid completion under `jobId`, nonce 0, signed by the job's session key. */
  async function paidCompletion(jobId: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const body = JSON.stringify({ model: MODEL, prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 0 });
    const signature = await signGenerationRequest(session, domain, BigInt(jobId), 0, body);
    const res = await fetch(url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "x-shardmesh-job": jobId,
        "x-shardmesh-nonce": "0",
        "x-shardmesh-signature": signature,
      },
      body,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  }

  /** The request is billed, and the route's records chain with signed hand-offs into receipts every provider reveals. */
  async function assertBilledAndChained(jobId: string, route: Provider[], text: string) {
    const [req] = store.requests(jobId);
    assert.ok(req, "the request is recorded (billed)");
    assert.equal(store.unitsUsed(jobId), req.units);
    assert.equal(admission.inFlight(BigInt(jobId)), 0);
    assert.deepEqual(
      req.stages.map((s) => s.peerId),
      route.map((p) => p.node.peerId.toString()),
      "the receipt names the providers that served each stage to the end",
    );
    const recs = route.map((p, s) => p.store.get(jobId, req.traceIndex, s));
    for (let s = 0; s < STAGES; s++) {
      const rec = recs[s];
      assert.ok(rec, `stage ${s} kept its record`);
      assert.equal(rec.peerId, gatewayNode.peerId.toString());
      assert.equal(rec.units, req.units, `stage ${s} counts the request's units`);
      assert.deepEqual(
        [rec.inputHash, rec.outputHash],
        [req.stages[s].inputHash, req.stages[s].outputHash],
        `stage ${s}: the gateway's hashes`,
      );
      if (s === 0) {
        assert.equal(rec.inputHash, req.requestHash);
        assert.equal(rec.handOff, undefined);
        continue;
      }
      assert.equal(rec.inputHash, recs[s - 1]!.outputHash, `stage ${s}'s input is stage ${s - 1}'s output`);
      assert.equal(rec.handOffSigner, route[s - 1].account.address);
      assert.equal(
        await handOffSigner(domain, { jobId, index: req.traceIndex, boundary: s, hash: rec.inputHash }, rec.handOff!),
        route[s - 1].account.address,
        `stage ${s} keeps stage ${s - 1}'s signature over its input`,
      );
    }
    assert.equal(recs[STAGES - 1]!.outputHash, req.responseHash);
    // Every provider of the route reveals its leaf of the receipt the buyer would sign.
    const buyer = encodeBuyerLeaves([
      {
        index: 0,
        nonce: BigInt(req.traceIndex),
        units: req.units,
        requestHash: req.requestHash,
        responseHash: req.responseHash,
        route: route.map((p) => p.account.address),
      },
    ]);
    for (const [s, p] of route.entries()) {
      const ctx = { trace: p.store, peerId: p.node.peerId.toString(), chain: { account: { address: p.account.address }, pc: {} } };
      const { leaf } = revealLeaf(
        ctx as unknown as JobsContext,
        { op: "reveal", jobId, stage: s, buyer, index: 0 },
        gatewayNode.peerId.toString(),
      );
      assert.deepEqual([leaf.inputHash, leaf.outputHash], [recs[s]!.inputHash, recs[s]!.outputHash]);
    }
    // Greedy output stays sane: the tokens chosen before the failure are the uninterrupted run's.
    const before = gw.tokenizer.decode(reference.slice(0, DIE_AT_STEP - 1));
    assert.ok(text.startsWith(before), `${JSON.stringify(text)} starts with ${JSON.stringify(before)}`);
  }

  /** The replacement's replayed outputs are not bit-identical to what the dead provider sent on (the case this is about). */
  function assertReplayDiffers(jobId: string, spare: Provider, sent: Tensor[]) {
    const kept = Object.values(fromWireBag(spare.store.tensors(jobId, 0, spare.stage, "output")))[0];
    const old = cat(sent);
    const d = gw.config.hiddenSize;
    assert.ok(old.dims[1] > 0 && kept.dims[1] > old.dims[1]);
    const replayed = (kept.data as Float32Array).subarray(0, old.dims[1] * d);
    assert.ok(
      replayed.some((v, i) => v !== (old.data as Float32Array)[i]),
      "the replay's outputs differ from the incremental ones (else this test shows nothing)",
    );
  }

  it("stage 1 of 3 dies mid-generation: the spare replays, stage 2 is re-run from its outputs; the request is billed and every record chains", async () => {
    const [a, b, c] = [providers[0][0], providers[1][0], providers[2][0]];
    const spare = providers[1][1];
    const d = dying(b);
    plan = { links: [link(a), d.link, link(c)], replace: (s) => (s === 1 ? link(spare) : null), replaced: [] };
    const r = await paidCompletion("42");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(plan.replaced, [1]);
    const paid = r.body.shardmesh as PaidGeneration;
    const usage = r.body.usage as { prompt_tokens: number; completion_tokens: number };
    const finish = (r.body.choices as Array<{ finish_reason: string }>)[0].finish_reason;
    // Every forward pass ends in one sampled token; an end-of-text token is sampled but not text.
    assert.equal(paid.units, usage.prompt_tokens + usage.completion_tokens + (finish === "length" ? 0 : 1));
    assertReplayDiffers("42", spare, d.sent);
    assert.equal(b.store.get("42", 0, 1), undefined, "the dead provider kept nothing");
    const text = (r.body.choices as Array<{ text: string }>)[0].text;
    await assertBilledAndChained("42", [a, spare, c], text);
  });

  it("stage 0 dies: stages 1 and 2 are both re-run from the spare's outputs", async () => {
    const [a, b, c] = [providers[0][0], providers[1][1], providers[2][0]];
    const spare = providers[0][1];
    const d = dying(a);
    plan = { links: [d.link, link(b), link(c)], replace: (s) => (s === 0 ? link(spare) : null), replaced: [] };
    const r = await paidCompletion("43");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(plan.replaced, [0]);
    assertReplayDiffers("43", spare, d.sent);
    await assertBilledAndChained("43", [spare, b, c], (r.body.choices as Array<{ text: string }>)[0].text);
  });

  it("the last stage dies: the receipt's response hash is the spare's recorded output, not what the dead provider sent", async () => {
    const [a, b, c] = [providers[0][1], providers[1][1], providers[2][0]];
    const spare = providers[2][1];
    const d = dying(c);
    plan = { links: [link(a), link(b), d.link], replace: (s) => (s === 2 ? link(spare) : null), replaced: [] };
    const r = await paidCompletion("44");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(plan.replaced, [2]);
    assertReplayDiffers("44", spare, d.sent);
    await assertBilledAndChained("44", [a, b, spare], (r.body.choices as Array<{ text: string }>)[0].text);
  });

  it("stage 0 dies, then stage 1 dies while it is re-run: both are replaced and replayed, and the records still chain", async () => {
    const [a, b, c] = [providers[0][2], providers[1][2], providers[2][1]];
    const spares = [providers[0][1], providers[1][1]];
    // Both die at their 6th step call: stage 0's is a decode step, stage 1's the re-run at position 0.
    const [da, db] = [dying(a), dying(b)];
    plan = { links: [da.link, db.link, link(c)], replace: (s) => (s < 2 ? link(spares[s]) : null), replaced: [] };
    const r = await paidCompletion("46");
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.deepEqual(plan.replaced, [0, 1]);
    assert.equal(db.sent.length, DIE_AT_STEP - 1, "stage 1 died at its re-run, before the failed step reached it");
    await assertBilledAndChained("46", [spares[0], spares[1], c], (r.body.choices as Array<{ text: string }>)[0].text);
  });

  it("a failover with no replacement is a failed request, not billed", async () => {
    const [a, c] = [providers[0][1], providers[2][1]];
    const b = providers[1][1];
    const d = dying(b);
    plan = { links: [link(a), d.link, link(c)], replace: () => null, replaced: [] };
    const r = await paidCompletion("45");
    assert.ok(r.status >= 500, `status ${r.status}`);
    assert.equal(store.unitsUsed("45"), 0);
    assert.equal(admission.inFlight(45n), 0);
  });
});
