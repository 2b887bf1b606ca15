// The hand-off claims watcher (node/src/jobs/claims.ts) across restarts, on Hardhat's EVM with the
// real contracts: stage 1's provider (p2) records and reveals an output other than the hop it sent
// and signed, so SpotCheck opens a claim at boundary 2 against the honest stage-2 provider (p3),
// whose watcher answers it with p2's HandOff kept in a real trace store.
// Regression: the old watcher kept where it stopped reading in memory only and started again at
// the SpotCheck's deployment block after every restart (one getLogs per CLAIM_LOG_RANGE_BLOCKS of
// history: on a long chain, slow enough for a claim's deadline to pass and the honest downstream
// to be faulted HandOffUnbacked). Now the position and the claims not settled yet are saved in the
// data directory; a reorg of blocks it read sends it back to the last block the chain still has; a
// position the chain does not have (a fresh dev chain) is dropped; and without one the watcher
// reads back only as far as the longest claim window.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { keccak256, zeroHash } from "viem";
import type { PublicClient } from "viem";
import { readOnlyContracts } from "../../../node/src/chain/contracts.ts";
import type { ShardWallet } from "../../../node/src/chain/contracts.ts";
import { LOG_REORG_MARGIN_BLOCKS } from "../../../node/src/chain/cursor.ts";
import { providerChain } from "../../../node/src/chain/provider.ts";
import { HandOffClaims, claimWindowSeconds } from "../../../node/src/jobs/claims.ts";
import type { JobsContext } from "../../../node/src/jobs/context.ts";
import { transactionQueue } from "../../../node/src/jobs/service.ts";
import { signHandOff } from "../../../node/src/receipts/index.ts";
import { TraceStore } from "../../../node/src/trace/store.ts";
import {
  ROLE,
  addr,
  buildReceipt,
  devAccount,
  drawSamples,
  hop,
  networkHelpers,
  nonceOf,
  openJob,
  publicClient,
  revealBuyer,
  revealStage,
  straight,
  submit,
  threeStageFixture,
  wallets,
} from "../../contracts/helpers.ts";
import type { Fixture } from "../../contracts/helpers.ts";

const HAND_OFF_CONTRADICTED = 4;

let f: Fixture;
let dir: string;
let trace: TraceStore;
let ctx: JobsContext;

/** A watcher for p3 (the downstream of every claim here), saving to `file`. */
function watcher(file: string, serial = transactionQueue()): HandOffClaims {
  return new HandOffClaims(ctx, { serial, stateFile: file });
}

/** Opens a claim at boundary 2 naming p3; p3's trace keeps p2's HandOff over what it received. */
async function openClaim(): Promise<{ jobId: bigint; receiptId: bigint }> {
  const job = await openJob(f);
  const r = await buildReceipt(f, job, 10, {
    route: straight(f),
    tamper: (rec, s) => (s === 1 ? { ...rec, outputHash: keccak256(rec.outputHash) } : rec),
  });
  const receiptId = await submit(f, job, r);
  const [i] = await drawSamples(f, job, receiptId);
  const index = Number(i);
  const handOff = await signHandOff(devAccount(ROLE.p2), f.domain, {
    jobId: job.jobId,
    nonce: nonceOf(index),
    boundary: 2,
    hash: hop(index, 2),
  });
  trace.record({
    jobId: job.jobId.toString(),
    index: Number(nonceOf(index)),
    modelId: "1",
    stage: 2,
    inputHash: hop(index, 2),
    outputHash: hop(index, 3),
    peerId: "p2",
    handOff,
  });
  await revealBuyer(f, job, r, receiptId, 0, ROLE.p1);
  await revealStage(f, job, r, receiptId, 0, 0, ROLE.p1);
  await revealStage(f, job, r, receiptId, 0, 2, ROLE.p3);
  await revealStage(f, job, r, receiptId, 0, 1, ROLE.p2);
  const s = await f.spotCheck.read.sample([job.jobId, receiptId, 0n]);
  assert.equal(s.claimMask, 1 << 2, "a claim is open at boundary 2");
  return { jobId: job.jobId, receiptId };
}

/** The claim was answered: the sample resolved and only p2 was faulted, for contradicting its hand-off. */
async function assertAnswered(c: { jobId: bigint; receiptId: bigint }): Promise<void> {
  const s = await f.spotCheck.read.sample([c.jobId, c.receiptId, 0n]);
  assert.equal(s.resolved, true);
  assert.equal(s.claimMask, 0);
  const faults = await f.market.getEvents.ProviderFaulted({ jobId: c.jobId }, { fromBlock: 0n });
  assert.deepEqual(
    faults.map((e) => [e.args.provider, e.args.reason]),
    [[addr(ROLE.p2), HAND_OFF_CONTRADICTED]],
  );
}

const saved = (file: string) => JSON.parse(readFileSync(file, "utf8")) as { cursor: { block: string; hash: string }; pending: unknown[] };

describe("hand-off claims watcher: persisted position (Hardhat EVM)", () => {
  before(async () => {
    f = await networkHelpers.loadFixture(threeStageFixture);
    dir = mkdtempSync(join(tmpdir(), "shardmesh-claims-"));
    trace = new TraceStore({ path: ":memory:" });
    const pc = providerChain(f.deployment, publicClient as unknown as PublicClient, wallets[ROLE.p3] as unknown as ShardWallet);
    ctx = {
      chain: {
        chainId: f.chainId,
        deployment: f.deployment,
        publicClient: publicClient as unknown as PublicClient,
        read: readOnlyContracts(f.deployment, publicClient as unknown as PublicClient),
        account: devAccount(ROLE.p3),
        wallet: pc.wallet,
        pc,
      },
      trace,
      models: [],
      peerId: "p3",
      // Not used by the claims watcher.
      node: undefined as never,
      directory: undefined as never,
    };
  });

  after(() => {
    trace.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("resumes from the saved position after a restart, a few blocks back, without reading history again", async () => {
    const file = join(dir, "resume.json");
    const first = watcher(file);
    await first.tick();
    const at = BigInt(saved(file).cursor.block);
    assert.equal(at, await publicClient.getBlockNumber(), "the position saved is the latest block read");
    await networkHelpers.mine(20);
    const restarted = watcher(file);
    await restarted.tick();
    assert.equal(restarted.cursor.lastFrom, at + 1n - LOG_REORG_MARGIN_BLOCKS, "reading resumes the margin before the saved block");
    assert.equal(restarted.cursor.rangesRead, 1);
    assert.deepEqual(restarted.cursor.resets, []);
    assert.equal(restarted.cursor.blocksProbed, 0, "a usable position needs no look-back search");
    assert.equal(BigInt(saved(file).cursor.block), await publicClient.getBlockNumber());
  });

  it("answers a claim opened while the watcher was stopped, after the restart", async () => {
    const file = join(dir, "stopped.json");
    await watcher(file).tick();
    const claim = await openClaim();
    const restarted = watcher(file);
    await restarted.tick();
    assert.equal(restarted.answered, 1);
    await assertAnswered(claim);
  });

  it("keeps a claim it read but could not answer before a restart (the position has moved past it)", async () => {
    const file = join(dir, "pending.json");
    const claim = await openClaim();
    const down = watcher(file, () => Promise.reject(new Error("wallet queue down")));
    await down.tick();
    assert.equal(down.answered, 0);
    assert.equal(saved(file).pending.length, 1, "the unanswered claim is saved with the position");
    const openedIn = (await f.spotCheck.getEvents.HandOffClaimOpened({ jobId: claim.jobId }, { fromBlock: 0n }))[0].blockNumber;
    // The watcher reads on past the claim's block and the margin, still unable to answer.
    await networkHelpers.mine(Number(LOG_REORG_MARGIN_BLOCKS) + 5);
    await down.tick();
    const restarted = watcher(file);
    await restarted.tick();
    assert.ok(restarted.cursor.lastFrom! > openedIn, "the claim's block is not read again: it comes from the saved claims");
    assert.equal(restarted.answered, 1);
    assert.equal(restarted.pendingCount, 0);
    await assertAnswered(claim);
  });

  it("drops a saved position past the latest block (a fresh dev chain) and still answers", async () => {
    const file = join(dir, "ahead.json");
    const claim = await openClaim();
    const latest = await publicClient.getBlockNumber();
    writeFileSync(
      file,
      JSON.stringify({
        cursor: {
          chainId: f.chainId,
          contract: f.deployment.contracts.SpotCheck.address,
          block: (latest + 10_000n).toString(),
          hash: zeroHash,
        },
        pending: [],
      }),
    );
    const w = watcher(file);
    await w.tick();
    assert.deepEqual(w.cursor.resets, ["ahead-of-chain"]);
    assert.ok((w.cursor.lastFrom ?? latest) <= latest, "read from a block the chain has");
    assert.equal(w.answered, 1);
    await assertAnswered(claim);
    assert.equal(BigInt(saved(file).cursor.block), latest, "the position is the chain's again");
  });

  it("drops a saved position whose block hash the chain does not have (same height, another chain) and still answers", async () => {
    const file = join(dir, "other-chain.json");
    const before = await publicClient.getBlockNumber();
    const claim = await openClaim();
    writeFileSync(
      file,
      JSON.stringify({
        cursor: { chainId: f.chainId, contract: f.deployment.contracts.SpotCheck.address, block: before.toString(), hash: zeroHash },
        pending: [],
      }),
    );
    const w = watcher(file);
    await w.tick();
    assert.deepEqual(w.cursor.resets, ["hash-mismatch"]);
    assert.equal(w.answered, 1);
    await assertAnswered(claim);
  });

  it("after a reorg of blocks it read, goes back to the last block the chain still has and answers a claim of the new branch", async () => {
    const file = join(dir, "reorg.json");
    const w = watcher(file);
    await w.tick();
    const common = await publicClient.getBlockNumber();
    const fork = await networkHelpers.takeSnapshot();
    await networkHelpers.mine(5);
    await w.tick(); // reads the branch that is about to go away
    await fork.restore();
    const claim = await openClaim(); // the new branch, taller than the old one
    const restarted = watcher(file);
    await restarted.tick();
    assert.deepEqual(restarted.cursor.resets, [], "the position is not dropped");
    assert.equal(restarted.cursor.rewinds, 1);
    assert.equal(restarted.cursor.lastFrom, common + 1n - LOG_REORG_MARGIN_BLOCKS, "read again from the last common head");
    assert.equal(restarted.answered, 1);
    await assertAnswered(claim);
  });

  it("without a position, or with one older than the longest claim window, reads back only to the window's first block (by block time)", async () => {
    const window = await claimWindowSeconds(ctx.chain);
    assert.equal(window, BigInt((await f.params.read.paramsAt([1n])).handOff));
    const staleFile = join(dir, "stale.json");
    await watcher(staleFile).tick();
    const staleAt = BigInt(saved(staleFile).cursor.block);
    // Chain time moves past two claim windows, in many blocks.
    for (let i = 0; i < 4; i++) {
      await networkHelpers.time.increase(Number(window) / 2);
      await networkHelpers.mine(10);
    }
    const w = watcher(join(dir, "fresh.json"));
    await w.tick();
    const from = w.cursor.lastFrom!;
    const now = (await publicClient.getBlock()).timestamp;
    assert.ok(from > BigInt(f.deployment.contracts.SpotCheck.blockNumber), "not from the deployment block");
    assert.ok((await publicClient.getBlock({ blockNumber: from })).timestamp >= now - window, "the first block read is within the window");
    assert.ok((await publicClient.getBlock({ blockNumber: from - 1n })).timestamp < now - window, "and the one before is not");
    assert.ok(w.cursor.blocksProbed > 0);
    // A saved position older than the window is cut to it too (a node off for long).
    const back = watcher(staleFile);
    await back.tick();
    assert.deepEqual(back.cursor.resets, []);
    assert.ok(from > staleAt + 1n, "the window starts after the saved position");
    assert.equal(back.cursor.lastFrom, from, "reading starts at the window, not at the saved position");
  });
});
