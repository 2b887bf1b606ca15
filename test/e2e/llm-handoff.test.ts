// A broken hand-off in a paid generation faults the upstream that lied, never its honest
// downstream (issue 10 item 1, decoder sessions), with real processes (./llm-market.ts): the
// stage-0 provider (also the gateway) serves the buyer's generation honestly, then rewrites the
// output hash it recorded for it (and, as the gateway, its record of the route's hashes) — what
// a cheater does to make its neighbour look wrong. The receipt goes on chain, SpotCheck opens a
// hand-off claim at boundary 1, and the stage-1 provider's watcher presents stage 0's HandOff it
// kept from the CLOSE of its session (llm/handoff.ts): stage 0 is faulted (HandOffContradicted).
// On the old node paid sessions carried no hand-offs: the claim ran out and the honest stage-1
// provider was slashed (HandOffUnbacked).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { keccak256, toHex } from "viem";
import type { Hex } from "viem";
import { signBuyerReceipt } from "../../node/src/receipts/eip712.ts";
import { readOnlyContracts } from "../../node/src/chain/contracts.ts";
import { signGenerationRequest } from "../../node/src/jobs/session.ts";
import { openJob } from "../../scripts/demo/buyer.ts";
import { advance, rpc } from "./harness.ts";
import { until } from "../node/mesh/procs.ts";
import { llmBuyer, startLlmMarket, stopLlmMarket, type LlmMarket } from "./llm-market.ts";

/** IJobMarket.FaultReason */
const REASON = { HandOffContradicted: 4, HandOffUnbacked: 5 } as const;
const BUYER_KEY = 7;

describe("a broken hand-off in a paid generation faults the upstream that lied (real processes)", { timeout: 300_000 }, () => {
  let market: LlmMarket;

  before(async () => {
    market = await startLlmMarket("shardmesh-llm-handoff-");
  });

  after(async () => {
    await stopLlmMarket(market);
  });

  it("the stage-1 provider presents the stage-0 provider's HandOff; stage 0 is faulted, stage 1 is not", async () => {
    const { demo, gateway, llmId, work } = market;
    const o = llmBuyer(market, BUYER_KEY);
    const [upstream] = o.providers;
    const read = readOnlyContracts(demo.deployment, demo.publicClient);
    const job = await openJob(o, 64, "tokens", () => {});
    const jobId = job.jobId.toString();
    const r = await gateway.chat(
      { model: llmId.toString(), messages: [{ role: "user", content: "Who is Ahab?" }], max_tokens: 8, temperature: 0 },
      { job: { jobId, nonce: 0, sign: (body, n) => signGenerationRequest(job.session, job.domain, job.jobId, n, body) } },
    );
    assert.equal(r.paid!.nonce, 0);

    // The cheat: stage 0 rewrites the output hash it recorded (and will sign its part over and
    // reveal), and as the gateway its record of the route's hashes (an honest gateway refuses a
    // part whose root differs from what it received).
    const db = new DatabaseSync(join(work, "provider-1", "data", "trace.sqlite"));
    const lie: Hex = keccak256(toHex("not what was sent"));
    assert.equal(Number(db.prepare("UPDATE trace SET output_hash = ? WHERE job_id = ? AND stage = 0").run(lie, jobId).changes), 1);
    const rec = db.prepare("SELECT stages FROM requests WHERE job_id = ?").get(jobId) as { stages: string };
    const stages = (JSON.parse(rec.stages) as { stage: number; outputHash: string }[]).map((s) =>
      s.stage === 0 ? { ...s, outputHash: lie } : s,
    );
    db.prepare("UPDATE requests SET stages = ? WHERE job_id = ?").run(JSON.stringify(stages), jobId);
    db.close();

    // The buyer signs the receipt (its one request); the gateway submits it, draws and reveals the sample.
    const todo = await gateway.receipt(jobId);
    const signature = await signBuyerReceipt(job.session, job.domain, {
      jobId: job.jobId,
      count: todo.count,
      units: todo.units,
      outputRoot: todo.outputRoot,
    });
    await gateway.submitReceipt(jobId, { ...todo, signature });
    await rpc(demo.chain.url, "evm_mine");
    await rpc(demo.chain.url, "evm_mine");
    const opened = await until(
      "hand-off claim opened at boundary 1",
      async () => {
        const logs = await read.spotCheck.getEvents.HandOffClaimOpened({ jobId: job.jobId }, { fromBlock: 0n });
        return logs.length > 0 ? logs : false;
      },
      60_000,
      250,
    );
    assert.equal(opened[0].args.boundary, 1n);

    // The honest downstream's watcher answers within the claim window; if it does not (the old
    // node), the window runs out and the sample is reported, which faults the downstream.
    const resolved = async () => (await read.spotCheck.read.sample([job.jobId, 0n, 0n])).resolved;
    const answered = await until("claim answered", resolved, 30_000, 250).then(
      () => true,
      () => false,
    );
    if (!answered) {
      const wins = await read.params.read.paramsAt([1n]);
      await advance(demo.chain.url, wins.reveal + wins.handOff + 1);
      await until("sample resolved after the windows", resolved, 60_000, 250);
    }
    const faults = await read.market.getEvents.ProviderFaulted({ jobId: job.jobId }, { fromBlock: 0n });
    assert.deepEqual(
      faults.map((f) => [f.args.provider, f.args.reason]),
      [[upstream, REASON.HandOffContradicted]],
      "only the upstream that contradicted its own hand-off",
    );
    assert.ok(answered, "answered before the claim's deadline");
    const presented = await read.spotCheck.getEvents.HandOffClaimAnswered({ jobId: job.jobId }, { fromBlock: 0n });
    assert.equal(presented.length, 1);
    assert.equal(presented[0].args.upstream, upstream);
  });
});
