// Paid per token (docs/PROTOCOL.md, "Paid per token"), through the OpenAI routes with the official
// client: a generation under a job reserves prompt + max_tokens units, is recorded with prompt +
// sampled tokens and gives the rest back; every block stage traces its session (hidden states in
// and out per position) under (job, trace index), owned by the gateway that opened it; the buyer
// leaf's hashes are stage 0's input and the last stage's output; a request over the job's budget
// is a named 4xx. Spot checks re-run a stage's trace in one prefill pass: honest stages (graph
// optimisation on, so the replay is not bit-identical) always pass, a stage that faked one decode
// step — keeping its trace consistent with what it sent on, as a cheater must — is caught at that
// position. A stranger opening a session under the same job and index changes nothing.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { handleOpenAi } from "../../node/src/gateway/openai.ts";
import type { PaidGeneration } from "../../node/src/gateway/api.ts";
import {
  DecoderGateway,
  DecoderStageRunner,
  SessionTrace,
  traceHash,
  verifyDecoderTrace,
  type LlmService,
  type OpenOptions,
  type SessionTraceRecord,
  type StageLink,
  type StepInput,
} from "../../node/src/llm/index.ts";
import { JobAdmission, parseJobId } from "../../node/src/jobs/admission.ts";
import { revealLeaf } from "../../node/src/jobs/parts.ts";
import { encodeBuyerLeaves } from "../../node/src/receipts/leaves.ts";
import type { JobsContext } from "../../node/src/jobs/context.ts";
import { TraceStore } from "../../node/src/trace/store.ts";
import { bagHash, fromWireBag, toWireBag, type Tensor } from "../../node/src/tensor/index.ts";
import { tinySplit } from "./helpers.ts";

const OWNER = "12D3KooWGatewayOwner";
const STRANGER = "12D3KooWStranger";
const MODEL = "tiny-llama";

/** A stage provider that returns a changed hidden state at one decode step and traces what it returned. */
class CheatingStage implements StageLink {
  readonly inner: DecoderStageRunner;
  readonly cheatStep: number;
  readonly write: (rec: SessionTraceRecord) => void;
  private trace?: SessionTrace;
  private steps = 0;
  cheatedAt = -1;
  constructor(inner: DecoderStageRunner, cheatStep: number, write: (rec: SessionTraceRecord) => void) {
    this.inner = inner;
    this.cheatStep = cheatStep;
    this.write = write;
  }
  async open(id: string, o: OpenOptions) {
    if (o.trace) this.trace = new SessionTrace({ ...o.trace, owner: OWNER }, o.maxLength);
    return this.inner.open(id, { maxLength: o.maxLength });
  }
  async step(id: string, input: StepInput, opts?: { signal?: AbortSignal; timeoutMs?: number }) {
    const r = await this.inner.step(id, input, opts);
    const [outName, out] = Object.entries(r.bag)[0];
    const [inName, inp] = Object.entries(input.bag)[0];
    let sent = out;
    if (this.steps++ === this.cheatStep) {
      const data = Float32Array.from(out.data as Float32Array);
      data[5] += 0.05; // a plausible, finite, slightly wrong hidden state
      sent = { ...out, data };
      this.cheatedAt = input.position;
    }
    this.trace?.step(input.position, { name: inName, t: inp }, { name: outName, t: sent });
    return { ...r, bag: { [outName]: sent } };
  }
  async closeSession(id: string) {
    const rec = this.trace?.finish();
    if (rec) this.write(rec);
    this.trace = undefined;
    return this.inner.closeSession(id);
  }
}

describe("paid per token: units, traces and spot checks", () => {
  let server: Server;
  let client: OpenAI;
  let gw: DecoderGateway;
  let stages: DecoderStageRunner[];
  let verifiers: DecoderStageRunner[];
  let spare: DecoderStageRunner;
  let store: TraceStore;
  let admission: JobAdmission;
  let tolerance: number;
  /** The stage links the next generation uses (a test may swap in a cheater). */
  let links: StageLink[];

  const keep = (stage: number) => (rec: SessionTraceRecord) =>
    store.recordOwned(
      {
        jobId: rec.jobId,
        index: rec.index,
        modelId: MODEL,
        stage,
        inputHash: rec.inputHash,
        outputHash: rec.outputHash,
        peerId: rec.owner,
        units: rec.units,
      },
      { input: toWireBag({ [rec.inputName]: rec.input }), output: toWireBag({ [rec.outputName]: rec.output }) },
    );

  before(async () => {
    const split = await tinySplit([2, 2], false); // optimisation on: a one-shot replay is not bit-identical
    tolerance = split.manifest.runtime.tolerance;
    gw = await DecoderGateway.open(split.path);
    store = new TraceStore({ path: ":memory:" });
    stages = await Promise.all(
      split.manifest.stages.map((_, s) => DecoderStageRunner.fromManifest(gw.manifest, s, { selfId: OWNER, onTrace: keep(s) })),
    );
    spare = await DecoderStageRunner.fromManifest(gw.manifest, 1);
    verifiers = await Promise.all(split.manifest.stages.map((_, s) => DecoderStageRunner.fromManifest(gw.manifest, s)));
    links = [...stages];
    admission = new JobAdmission({ store, maxUnits: async (id) => (id === 8n ? 24 : 400) });
    const service: LlmService = {
      models: () => [{ id: MODEL, created: 1_700_000_000 }],
      model: (id) =>
        id === MODEL ? { gateway: gw, links: async () => ({ links: [...links], peerOf: (l) => `peer-${links.indexOf(l)}` }) } : undefined,
    };
    server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      void handleOpenAi(req, res, path, service, {
        admit: async (r, _body, units) => {
          const job = r.headers["x-shardmesh-job"];
          return typeof job === "string" ? admission.admit(parseJobId(job), units) : undefined;
        },
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    client = new OpenAI({
      baseURL: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
      apiKey: "unused",
      maxRetries: 0,
      timeout: 30_000,
    });
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await Promise.all([...stages, ...verifiers, spare].map((s) => s.close()));
    await gw.close();
    store.close();
  });

  const job = (id: string) => ({ headers: { "x-shardmesh-job": id } });
  const chat = (content: string, max: number, seed = 1) => ({
    model: MODEL,
    messages: [{ role: "user" as const, content }],
    max_tokens: max,
    temperature: 0.9,
    seed,
  });

  /** Re-runs one stage's kept trace of a request in one prefill pass. */
  const spotCheck = async (jobId: string, traceIndex: number, stage: number) => {
    const rec = store.get(jobId, traceIndex, stage)!;
    const input = fromWireBag(store.tensors(jobId, traceIndex, stage, "input"));
    const output = fromWireBag(store.tensors(jobId, traceIndex, stage, "output"));
    assert.equal(bagHash(input), rec.inputHash, "the kept input hashes to the leaf");
    assert.equal(bagHash(output), rec.outputHash, "the kept output hashes to the leaf");
    return verifyDecoderTrace(verifiers[stage], input, output, tolerance);
  };

  it("a paid chat completion reserves prompt + max_tokens, records prompt + sampled tokens and gives the rest back", async () => {
    const r = await client.chat.completions.create(chat("Tell me about whales.", 12), job("7"));
    const paid = (r as unknown as { shardmesh: PaidGeneration }).shardmesh;
    const u = r.usage!;
    // Every forward pass ends in one sampled token; an end-of-text token is sampled but not text.
    const sampled = u.completion_tokens + (r.choices[0].finish_reason === "length" ? 0 : 1);
    assert.equal(paid.units, u.prompt_tokens + sampled);
    assert.equal(paid.reserved, u.prompt_tokens + 12);
    assert.equal(paid.jobId, "7");
    assert.equal(paid.index, 0);
    assert.equal(admission.inFlight(7n), 0, "the unused reservation went back");
    assert.equal(store.unitsUsed("7"), paid.units);
    const [req] = store.requests("7");
    assert.equal(req.units, paid.units);
    assert.equal(req.requestHash, paid.requestHash);
    assert.equal(req.responseHash, paid.responseHash);
    assert.deepEqual(
      req.stages.map((s) => s.peerId),
      ["peer-0", "peer-1"],
    );
    // Every stage traced its session under (job, trace index), owned by the gateway.
    const [s0, s1] = [0, 1].map((s) => store.get("7", req.traceIndex, s)!);
    for (const s of [s0, s1]) {
      assert.equal(s.owned, true);
      assert.equal(s.peerId, OWNER);
      assert.equal(s.units, paid.units, "each stage counts the same units");
    }
    assert.equal(s0.inputHash, req.requestHash, "stage 0's input is the buyer leaf's request");
    assert.equal(s1.outputHash, req.responseHash, "the last stage's output is the buyer leaf's response");
    assert.equal(s0.outputHash, s1.inputHash, "the hand-off across the cut is one hash");
    assert.deepEqual(
      req.stages.map((s) => [s.inputHash, s.outputHash]),
      [
        [s0.inputHash, s0.outputHash],
        [s1.inputHash, s1.outputHash],
      ],
    );
    const kept = fromWireBag(store.tensors("7", req.traceIndex, 1, "output"));
    assert.deepEqual(Object.values(kept)[0].dims, [1, paid.units - 1, gw.config.hiddenSize], "P = units - 1 positions of width d");

    // Streamed: the last chunk carries the paid record; the request is the job's second.
    let text = "";
    let streamedPaid: PaidGeneration | undefined;
    for await (const c of await client.chat.completions.create({ ...chat("Tell me about whales.", 12), stream: true }, job("7"))) {
      text += c.choices[0]?.delta.content ?? "";
      streamedPaid ??= (c as unknown as { shardmesh?: PaidGeneration }).shardmesh;
    }
    assert.equal(text, r.choices[0].message.content, "same seed, same text");
    assert.equal(streamedPaid?.index, 1);
    assert.equal(streamedPaid?.units, paid.units);
    assert.equal(streamedPaid?.requestHash, paid.requestHash, "the same tokens through the same stages: the same hashes");
    assert.equal(store.unitsUsed("7"), 2 * paid.units);
    // Without the job header the route stays free: nothing recorded.
    await client.chat.completions.create(chat("Tell me about whales.", 4));
    assert.equal(store.requests("7").length, 2);
  });

  it("a paid generation a stage kept no record of (its hand-off refused at the close) is 502 SessionHandOffError and not billed", async () => {
    // Stage 1 closes its session but refuses its record, as a provider does without a valid upstream hand-off.
    const refusing: StageLink = {
      open: (id, o) => stages[1].open(id, o),
      step: (id, input, o) => stages[1].step(id, input, o),
      closeSession: (id) => stages[1].closeSession(id),
      endSession: async (id) => {
        await stages[1].closeSession(id);
        throw Object.assign(new Error("no hand-off from stage 0"), { name: "PipelineHandOffMissingError" });
      },
    };
    links = [stages[0], refusing];
    try {
      const err = await client.chat.completions.create(chat("Who is Ahab?", 4), job("9")).then(
        () => assert.fail("billed a generation a stage kept no record of"),
        (e: InstanceType<typeof OpenAI.APIError>) => e,
      );
      assert.equal(err.status, 502);
      assert.equal((err.error as { name?: string }).name, "SessionHandOffError");
      assert.equal(store.unitsUsed("9"), 0, "nothing billed");
      assert.equal(admission.inFlight(9n), 0, "nothing left reserved");
    } finally {
      links = [...stages];
    }
  });

  it("a request over the job's budget is 402 JobsUnitsExceededError and reserves nothing; a used-up job is 409", async () => {
    // Job 8 has 24 units: a prompt of ~10 tokens + 20 max tokens does not fit.
    const over = await client.completions
      .create({ model: MODEL, prompt: "Call me Ishmael. Some years ago", max_tokens: 20 }, job("8"))
      .then(
        () => assert.fail("accepted over budget"),
        (e: InstanceType<typeof OpenAI.APIError>) => e,
      );
    assert.equal(over.status, 402);
    assert.equal((over.error as { name?: string }).name, "JobsUnitsExceededError");
    assert.equal(admission.inFlight(8n), 0);
    const ok = await client.completions.create({ model: MODEL, prompt: "Call me Ishmael.", max_tokens: 6, temperature: 0 }, job("8"));
    const used = (ok as unknown as { shardmesh: PaidGeneration }).shardmesh.units;
    assert.equal(store.unitsUsed("8"), used);
    // Exactly what is left plus one is refused too; then the job is used up request by request.
    const left = 24 - used;
    const one = gw.tokenizer.encode("Call").length;
    const plusOne = await client.completions.create({ model: MODEL, prompt: "Call", max_tokens: left - one + 1 }, job("8")).then(
      () => assert.fail("accepted one unit over budget"),
      (e: InstanceType<typeof OpenAI.APIError>) => e,
    );
    assert.equal(plusOne.status, 402);
    while (24 - store.unitsUsed("8") >= one + 1) {
      await client.completions.create(
        { model: MODEL, prompt: "Call", max_tokens: 24 - store.unitsUsed("8") - one, temperature: 0 },
        job("8"),
      );
    }
    const gone = await client.completions.create({ model: MODEL, prompt: "Call", max_tokens: 1 }, job("8")).then(
      () => assert.fail("accepted on a used-up job"),
      (e: InstanceType<typeof OpenAI.APIError>) => e,
    );
    const name = (gone.error as { name?: string }).name;
    assert.equal(gone.status, store.unitsUsed("8") === 24 ? 409 : 402);
    assert.equal(name, store.unitsUsed("8") === 24 ? "JobsJobUnavailableError" : "JobsUnitsExceededError");
    assert.ok(store.unitsUsed("8") <= 24, "never more than the job's units");
  });

  it("spot checks: honest stages always pass a one-shot replay; a stage that faked one decode step is caught at that position", async () => {
    // Honest: several sampled generations, every stage re-run from its trace.
    for (let seed = 1; seed <= 4; seed++) {
      const r = await client.chat.completions.create(chat(`Sing of the sea, verse ${seed}.`, 16, seed), job("9"));
      const { index } = (r as unknown as { shardmesh: PaidGeneration }).shardmesh;
      const ti = store.requests("9")[index].traceIndex;
      for (const s of [0, 1]) {
        const v = await spotCheck("9", ti, s);
        assert.equal(v.ok, true, `honest stage ${s} of generation ${seed} faulted: max diff ${v.maxAbsDiff} > ${tolerance}`);
        assert.ok(v.maxAbsDiff < tolerance);
      }
    }
    // A cheater at stage 1 changes its answer at its 4th step (a decode step) and traces what it sent.
    const cheat = new CheatingStage(spare, 3, keep(1));
    links = [stages[0], cheat];
    try {
      const r = await client.chat.completions.create(chat("Sing of the sea.", 16, 5), job("10"));
      const paid = (r as unknown as { shardmesh: PaidGeneration }).shardmesh;
      const ti = store.requests("10")[paid.index].traceIndex;
      assert.ok(cheat.cheatedAt > 0, "the cheat happened at a decode step");
      // Its leaf is consistent with the buyer's: hashes cannot tell; re-execution does.
      assert.equal(store.get("10", ti, 1)!.outputHash, paid.responseHash);
      const v1 = await spotCheck("10", ti, 1);
      assert.equal(v1.ok, false);
      assert.equal(v1.firstBadPosition, cheat.cheatedAt);
      const v0 = await spotCheck("10", ti, 0);
      assert.equal(v0.ok, true, "the honest stage 0 of the same generation is not faulted");
    } finally {
      links = [...stages];
    }
  });

  it("a stranger's session under the owner's job and index neither replaces the owner's trace nor gets it signed or revealed", async () => {
    const [req] = store.requests("7");
    const owned = store.get("7", req.traceIndex, 0)!;
    // The stranger opens a traced session on the same stage under the same (job, index).
    const h = await gw.embed(gw.tokenizer.encode("something else entirely"));
    await stages[0].open("stranger", { maxLength: 32, trace: { jobId: "7", index: req.traceIndex, owner: STRANGER } });
    await stages[0].step("stranger", { stepId: 0, position: 0, bag: { [gw.hiddenIn[0]]: h } });
    await stages[0].closeSession("stranger");
    const after = store.get("7", req.traceIndex, 0)!;
    assert.equal(after.peerId, OWNER);
    assert.equal(after.inputHash, owned.inputHash);
    assert.notEqual(traceHash(gw.hiddenIn[0], h), owned.inputHash);
    // Receipt parts and reveals of an owned record go to its owner only.
    const provider = "0x00000000000000000000000000000000000000aa" as const;
    const ctx = {
      trace: store,
      peerId: "12D3KooWProvider",
      chain: { account: { address: provider }, pc: {} },
    } as unknown as JobsContext;
    const buyer = encodeBuyerLeaves([
      {
        index: 0,
        nonce: BigInt(req.traceIndex),
        units: req.units,
        requestHash: req.requestHash,
        responseHash: req.responseHash,
        route: [provider, provider],
      },
    ]);
    const reveal = { op: "reveal", jobId: "7", stage: 0, buyer, index: 0 };
    assert.throws(() => revealLeaf(ctx, reveal, STRANGER), { name: "JobsPartNotServedError" });
    const leaf = revealLeaf(ctx, reveal, OWNER).leaf;
    assert.equal(leaf.inputHash, owned.inputHash);
    assert.equal(leaf.outputHash, owned.outputHash);
    // A buyer leaf counting other units than the provider traced is not signed.
    const miscounted = encodeBuyerLeaves([
      {
        index: 0,
        nonce: BigInt(req.traceIndex),
        units: req.units + 1,
        requestHash: req.requestHash,
        responseHash: req.responseHash,
        route: [provider, provider],
      },
    ]);
    assert.throws(() => revealLeaf(ctx, { ...reveal, buyer: miscounted }, OWNER), { name: "JobsPartContradictsTraceError" });
  });

  it("a session trace is bounded by the session's length and follows a rollback", () => {
    const t = new SessionTrace({ jobId: "1", index: 0, owner: OWNER }, 4);
    const row = (n: number, v: number): Tensor => ({ dtype: "float32", dims: [1, n, 2], data: new Float32Array(2 * n).fill(v) });
    t.step(0, { name: "h", t: row(3, 1) }, { name: "o", t: row(3, 2) });
    t.step(2, { name: "h", t: row(1, 5) }, { name: "o", t: row(1, 6) }); // rollback of position 2
    const rec = t.finish()!;
    assert.equal(rec.positions, 3);
    assert.equal(rec.units, 4);
    assert.deepEqual([...(rec.input.data as Float32Array)], [1, 1, 1, 1, 5, 5]);
    assert.throws(() => t.step(3, { name: "h", t: row(2, 0) }, { name: "o", t: row(2, 0) }), { name: "SessionTraceError" });
  });
});
