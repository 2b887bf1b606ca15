// The verifier service on a language model's sample (issue 10 item 18: drawn verification runs on
// every kind of stage). Real EVM (the contract tests' fixture, a 2-stage model), the tiny decoder
// split into two block stages in onnxruntime, stage providers keeping a served session's trace
// (hidden states in and out, [1, P, d] each, as node/src/llm/trace.ts keeps them) and serving it
// over libp2p, and two VerifierService instances. The session is served token by token (a prefill,
// then decode steps); the verifier re-runs each stage's trace in one prefill pass.
// - Honest: the drawn verifier finds both stages within tolerance and attests; nothing challenged.
// - Stage 1 returned a changed hidden state at one decode position (its trace and hashes
//   consistent with what it sent): the drawn verifier finds the mismatch at that position and
//   challenges; the committee member re-runs the trace, votes fraud, and the provider is slashed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { toHex } from "viem";
import { DecoderGateway, DecoderStageRunner } from "../../node/src/llm/index.ts";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import type { MeshNode } from "../../node/src/mesh/node.ts";
import type { Tensor } from "../../node/src/tensor/index.ts";
import { toWireBag } from "../../node/src/tensor/index.ts";
import type { WireBag } from "../../node/src/tensor/index.ts";
import { ModelCatalog } from "../../node/src/verifier/models.ts";
import type { VerifierEvent, VerifierService } from "../../node/src/verifier/service.ts";
import { ROLE, addr, as, devAccount, fixtureWith, openJob } from "../contracts/helpers.ts";
import type { Fixture } from "../contracts/helpers.ts";
import { STATUS } from "../contracts/disputes-helpers.ts";
import { cat, tinySplit } from "../llm/helpers.ts";
import { buildRealReceipt, hashOf, startStageProvider } from "./fixture.ts";
import type { StageProvider } from "./fixture.ts";
import { drawnVerifiers, eventsOf, submitAndReveal, tickUntil, verifierOn } from "./market.ts";

const WINDOWS = { reveal: 600, challenge: 600, handOff: 300, answer: 60, commit: 60, voteReveal: 60, appeal: 60 };
const VERIFIERS = [ROLE.v1, ROLE.v2];
/** Decode steps after the prompt's prefill. */
const DECODE_STEPS = 6;

let f: Fixture;
let gw: DecoderGateway;
let catalog: ModelCatalog;
const providers: StageProvider[] = [];
const nodes: MeshNode[] = [];
const services: VerifierService[] = [];
const events: VerifierEvent[] = [];

/** One session served through both block stages step by step: each stage's trace, [1, P, d] per side. */
async function serveSession(prompt: string): Promise<{ input: WireBag; output: WireBag }[]> {
  const runners = await Promise.all([0, 1].map((s) => DecoderStageRunner.fromManifest(gw.manifest, s)));
  const ids = gw.tokenizer.encode(prompt);
  const ins: Tensor[][] = [[], []];
  const outs: Tensor[][] = [[], []];
  try {
    for (const r of runners) await r.open("s", { maxLength: ids.length + DECODE_STEPS + 1 });
    let position = 0;
    let tokens = ids;
    for (let step = 0; step <= DECODE_STEPS; step++) {
      let h = await gw.embed(tokens);
      for (const s of [0, 1]) {
        ins[s].push(h);
        h = (await runners[s].step("s", { stepId: step, position, bag: { [gw.hiddenIn[s]]: h } })).bag[gw.hiddenOut[s]];
        outs[s].push(h);
      }
      position += tokens.length;
      tokens = [(step * 37 + 11) % 500];
    }
  } finally {
    for (const r of runners) await r.close();
  }
  return [0, 1].map((s) => ({
    input: toWireBag({ [gw.hiddenIn[s]]: cat(ins[s]) }),
    output: toWireBag({ [gw.hiddenOut[s]]: cat(outs[s]) }),
  }));
}

/** The stage-1 output with one value changed at `position`. */
function changedAt(bag: WireBag, position: number): WireBag {
  const [[name, t]] = Object.entries(bag);
  const data = new Float32Array(t.data.slice().buffer);
  data[position * t.dims[2] + 3] += 0.5;
  return { [name]: { dtype: t.dtype, dims: [...t.dims], data: new Uint8Array(data.buffer) } };
}

/** A job of one request: the providers keep `trace`, the receipt is submitted and its sample revealed. */
async function runJob(trace: { input: WireBag; output: WireBag }[]) {
  const job = await openJob(
    f,
    [
      [0, ROLE.p1],
      [1, ROLE.p2],
    ],
    10,
  );
  for (const s of [0, 1])
    providers[s].trace.record(
      {
        jobId: job.jobId.toString(),
        index: 0,
        modelId: "1",
        stage: s,
        inputHash: hashOf(trace[s].input),
        outputHash: hashOf(trace[s].output),
        peerId: "gateway",
      },
      trace[s],
    );
  const who = [ROLE.p1, ROLE.p2];
  const r = await buildRealReceipt(f.domain, job.jobId, job.session, [
    [0, 1].map((s) => ({ stage: s, provider: addr(who[s]), signer: devAccount(who[s]), ...trace[s] })),
  ]);
  const receiptId = await submitAndReveal(f, job, r);
  const [drawn] = await drawnVerifiers(f, job.jobId, receiptId);
  assert.ok(
    VERIFIERS.some((v) => addr(v) === drawn),
    `a running verifier was drawn (${drawn})`,
  );
  return { job, receiptId, drawn };
}

describe("verifier service on a decoder (LLM) sample", { timeout: 300_000 }, () => {
  before(async () => {
    f = await fixtureWith({ stages: 2, protocol: WINDOWS })();
    const split = await tinySplit([2, 2]);
    gw = await DecoderGateway.open(split.path);
    catalog = new ModelCatalog([{ modelId: "1", manifest: split.path }]);
    for (const who of [ROLE.p1, ROLE.p2]) {
      const p = await startStageProvider();
      providers.push(p);
      await f.staking.write.bindPeer([toHex(p.node.peerId.toMultihash().bytes), "test://provider"], as(who));
    }
    // Only the running verifiers are drawn.
    for (const who of [ROLE.p3, ROLE.p4, ROLE.v3]) await f.staking.write.deregisterVerifier(as(who));
    for (const who of VERIFIERS) {
      const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
      for (const p of providers) await node.dial(p.node.getMultiaddrs()[0]);
      nodes.push(node);
      services.push(verifierOn(f, who, node, catalog, events));
    }
  });

  after(async () => {
    for (const s of services) await s.stop();
    await catalog?.close();
    await gw?.close();
    for (const n of nodes) await n.stop();
    for (const p of providers) await p.stop();
  });

  it("an honest session: the drawn verifier re-runs both stages' traces in one prefill pass each, finds them within tolerance and attests", async () => {
    const trace = await serveSession("Call me Ishmael.");
    const { job, receiptId } = await runJob(trace);
    await tickUntil(services, async () => (await f.spotCheck.read.sample([job.jobId, receiptId, 0n])).attested, { what: "attested" });
    const checked = eventsOf([events], "checked").filter((e) => e.jobId === job.jobId.toString());
    assert.deepEqual(checked.map((e) => [e.stage, e.reason, e.check.outcome, e.provider]).sort(), [
      [0, "assigned", "match", addr(ROLE.p1)],
      [1, "assigned", "match", addr(ROLE.p2)],
    ]);
    for (const e of checked) assert.match(e.check.detail, /positions within tolerance/);
    assert.equal(eventsOf([events], "challenged").length, 0);
    assert.deepEqual(eventsOf([events], "error"), []);
  });

  it("a stage that changed one decode position is found at that position, challenged, and slashed by a committee that re-ran the trace", async () => {
    const honest = await serveSession("It was the best of times.");
    const positions = honest[1].output[gw.hiddenOut[1]].dims[1];
    const bad = positions - 2; // a decode step, not the prompt
    const trace = [honest[0], { input: honest[1].input, output: changedAt(honest[1].output, bad) }];
    const { job } = await runJob(trace);
    const disputes = await f.disputes.read.disputeCount();
    await tickUntil(services, () => f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), { what: "p2 faulted" });
    const checked = eventsOf([events], "checked").filter((e) => e.jobId === job.jobId.toString());
    const assigned = checked.filter((e) => e.reason === "assigned");
    assert.deepEqual(assigned.map((e) => [e.stage, e.check.outcome]).sort(), [
      [0, "match"],
      [1, "mismatch"],
    ]);
    assert.match(assigned.find((e) => e.stage === 1)!.check.detail, new RegExp(`from position ${bad} of ${positions}`));
    const votes = checked.filter((e) => e.reason === "committee");
    assert.deepEqual(
      votes.map((e) => [e.stage, e.check.outcome]),
      [[1, "mismatch"]],
      "the committee member re-ran the same trace",
    );
    const challenged = eventsOf([events], "challenged").filter((e) => e.jobId === job.jobId.toString());
    assert.equal(challenged.length, 1);
    assert.equal(challenged[0].stage, 1);
    assert.equal((await f.disputes.read.dispute([disputes])).status, STATUS.Upheld);
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p1)]), false, "the honest stage 0 is untouched");
    assert.deepEqual(eventsOf([events], "error"), []);
  });
});
