// Receipt-aware trace retention against the real contracts on the in-process EVM: the provider's
// `isJobFinal` (node/src/jobs/finality.ts) follows a job through open → receipt pending → settled
// → used up / expired, and a TraceJanitor round with retention 0 keeps then drops a real sqlite
// trace store's tensors accordingly. Chain read errors keep the tensors.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { createPublicClient, http } from "viem";
import type { PublicClient } from "viem";
import { readOnlyContracts } from "../../node/src/chain/contracts.ts";
import { jobFinality } from "../../node/src/jobs/finality.ts";
import { TraceJanitor } from "../../node/src/trace/janitor.ts";
import { TraceStore } from "../../node/src/trace/store.ts";
import {
  ROLE,
  addr,
  buildReceipt,
  networkHelpers,
  oneStageFixture,
  openJob,
  passWindows,
  publicClient,
  revealAll,
  straight,
  submit,
  viem,
  wallets,
} from "./helpers.ts";
import type { Fixture } from "./helpers.ts";

const pub = publicClient as unknown as PublicClient;
const dir = mkdtempSync(join(tmpdir(), "shardmesh-retention-chain-"));
after(() => rmSync(dir, { recursive: true, force: true }));

let stores = 0;
/** A trace store holding one served request (input + output tensor) of `jobId`. */
function storeWith(jobId: bigint): TraceStore {
  const t = new TraceStore({ path: join(dir, `trace-${stores++}.sqlite`), retentionMs: 0 });
  const h = `0x${"ab".repeat(32)}` as const;
  const bag = { x: { dtype: 1, dims: [4], data: new Uint8Array(16).fill(1) } };
  t.record(
    { jobId: jobId.toString(), index: 0, modelId: "1", stage: 0, inputHash: h, outputHash: h, peerId: "p" },
    { input: bag, output: bag },
  );
  return t;
}

function janitorFor(f: Fixture, t: TraceStore): { isJobFinal: (jobId: string) => Promise<boolean>; janitor: TraceJanitor } {
  const isJobFinal = jobFinality({ publicClient: pub, read: readOnlyContracts(f.deployment, pub) });
  // Retention 0: every tensor is past the window one millisecond after it was recorded.
  return { isJobFinal, janitor: new TraceJanitor(t, { isJobFinal, now: () => Date.now() + 1 }) };
}

describe("trace retention on chain", () => {
  it("keeps tensors while the receipt is pending, drops them once it settled and the job is used up", async () => {
    const f = await networkHelpers.loadFixture(oneStageFixture);
    const job = await openJob(f, [[0, ROLE.p1]], 3);
    const t = storeWith(job.jobId);
    const { isJobFinal, janitor } = janitorFor(f, t);
    const id = job.jobId.toString();

    assert.equal(await isJobFinal(id), false, "open job: a receipt can still come");
    assert.deepEqual(await janitor.round(), { pruned: 0, keptJobs: 1, keptTensors: 2, errors: 0 });

    const r = await buildReceipt(f, job, 3, { route: straight(f) });
    const receiptId = await submit(f, job, r);
    const onChain = await f.market.read.job([job.jobId]);
    assert.equal(onChain.units, onChain.maxUnits, "no further receipt can be submitted");
    assert.equal(onChain.pendingReceipts, 1);
    assert.equal(await isJobFinal(id), false, "receipt pending: samples, reveals and challenges may need the tensors");
    assert.equal((await janitor.round()).keptJobs, 1);
    assert.equal(t.tensorCount(id), 2);

    await revealAll(f, job, r, receiptId);
    await passWindows(f);
    assert.equal(await isJobFinal(id), false, "windows over but not settled yet");
    await f.market.write.settle([job.jobId, receiptId, r.records]);
    assert.equal((await f.market.read.job([job.jobId])).pendingReceipts, 0);
    // The fact the rule rests on: a settled receipt cannot gain a dispute.
    await viem.assertions.revertWithCustomError(
      f.disputes.write.challenge([job.jobId, receiptId, 0n, 0n], { account: wallets[ROLE.v1].account }),
      f.disputes,
      "DisputesChallengeWindowClosed",
    );
    assert.equal(await isJobFinal(id), true);
    assert.deepEqual(await janitor.round(), { pruned: 2, keptJobs: 0, keptTensors: 0, errors: 0 });
    assert.equal(t.tensorCount(id), 0);
    assert.equal(t.count(id), 1, "hashes stay");
    t.close();
  });

  it("a settled job with inferences left stays needed until it expires; an expired job waits for its pending receipt", async () => {
    const f = await networkHelpers.loadFixture(oneStageFixture);
    const job = await openJob(f, [[0, ROLE.p1]], 1000);
    const t = storeWith(job.jobId);
    const { isJobFinal, janitor } = janitorFor(f, t);
    const id = job.jobId.toString();

    const r1 = await buildReceipt(f, job, 2, { route: straight(f) });
    const first = await submit(f, job, r1);
    await revealAll(f, job, r1, first);
    await passWindows(f);
    await f.market.write.settle([job.jobId, first, r1.records]);
    assert.equal(await isJobFinal(id), false, "not expired, not used up: another receipt may still cover these requests");
    assert.equal((await janitor.round()).keptJobs, 1);

    const r2 = await buildReceipt(f, job, 2, { route: straight(f) });
    const second = await submit(f, job, r2);
    await revealAll(f, job, r2, second);
    const { expiresAt } = await f.market.read.job([job.jobId]);
    await networkHelpers.time.increaseTo(expiresAt + 1n);
    assert.equal(await isJobFinal(id), false, "expired, but a receipt is still pending");
    assert.equal(t.tensorCount(id), 2);

    await f.market.write.settle([job.jobId, second, r2.records]);
    assert.equal(await isJobFinal(id), true, "expired and nothing pending");
    assert.equal((await janitor.round()).pruned, 2);
    assert.equal(t.tensorCount(id), 0);
    await f.market.write.closeJob([job.jobId], { account: wallets[ROLE.buyer].account });
    assert.equal(await isJobFinal(id), true, "closed");
    t.close();
  });

  it("keeps tensors when the chain cannot be read: wrong market address, stopped RPC, unknown job", async () => {
    const f = await networkHelpers.loadFixture(oneStageFixture);
    const job = await openJob(f, [[0, ROLE.p1]], 1);
    const r = await buildReceipt(f, job, 1, { route: straight(f) });
    const receiptId = await submit(f, job, r);
    await revealAll(f, job, r, receiptId);
    await passWindows(f);
    await f.market.write.settle([job.jobId, receiptId, r.records]);
    const t = storeWith(job.jobId);
    assert.equal(await janitorFor(f, t).isJobFinal(job.jobId.toString()), true, "final when read correctly");

    const c = f.deployment.contracts;
    const wrongMarket = { ...f.deployment, contracts: { ...c, JobMarket: { ...c.JobMarket, address: addr(ROLE.stranger) } } };
    const stopped = createPublicClient({ transport: http("http://127.0.0.1:1", { retryCount: 0, timeout: 5_000 }) }) as PublicClient;
    const broken = [
      jobFinality({ publicClient: pub, read: readOnlyContracts(wrongMarket, pub) }),
      jobFinality({ publicClient: stopped, read: readOnlyContracts(f.deployment, stopped) }),
    ];
    for (const isJobFinal of broken) {
      const janitor = new TraceJanitor(t, { isJobFinal, now: () => Date.now() + 1 });
      assert.deepEqual(await janitor.round(), { pruned: 0, keptJobs: 0, keptTensors: 0, errors: 1 });
      assert.equal(t.tensorCount(job.jobId.toString()), 2);
    }
    const unknown = storeWith(job.jobId + 100n);
    assert.deepEqual(
      await janitorFor(f, unknown).janitor.round(),
      { pruned: 0, keptJobs: 0, keptTensors: 0, errors: 1 },
      "JobMarketUnknownJob: kept",
    );
    assert.equal(unknown.tensorCount(), 2);
    unknown.close();
    t.close();
  });
});
