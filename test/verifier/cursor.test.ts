// Where the verifier service reads events from after a restart (node/src/chain/cursor.ts), on
// Hardhat's EVM with the real contracts. Regression: the service kept only the first block not
// read yet in its state file and trusted it: a file from a chain that was since replaced (a fresh
// dev chain, whose height is below the saved block) made it skip every event until the new chain
// grew past that block — receipts never seeded by it, samples drawn to it never checked — and
// its saved votes named disputes of the old chain (ids start again at 1, so a vote "1/0" kept it
// from ever voting on the new dispute 1).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { PublicClient } from "viem";
import type { ShardWallet } from "../../node/src/chain/contracts.ts";
import { VerifierService } from "../../node/src/verifier/service.ts";
import {
  ROLE,
  buildReceipt,
  networkHelpers,
  openJob,
  publicClient,
  straight,
  submit,
  threeStageFixture,
  wallets,
} from "../contracts/helpers.ts";
import type { Fixture } from "../contracts/helpers.ts";

let f: Fixture;
let dir: string;

/** A verifier service on v1 that reads events and keeps its state (no registration, no withdrawal;
 *  no leaf is checked here, so it needs no libp2p node or models). */
function verifier(stateFile: string): VerifierService {
  return new VerifierService({
    node: undefined as never,
    models: undefined as never,
    publicClient: publicClient as unknown as PublicClient,
    wallet: wallets[ROLE.v1] as unknown as ShardWallet,
    deployment: f.deployment,
    stateFile,
    register: false,
    autoWithdraw: false,
    spotCheckPpm: 0,
  });
}

interface SavedState {
  cursor?: { block: string; hash: string };
  seeds: { jobId: string; receiptId: string }[];
  votes: unknown[];
}
const saved = (file: string) => JSON.parse(readFileSync(file, "utf8")) as SavedState;

/** Submits a receipt (its seed is due two blocks later: the verifier keeps a seed task for it). */
async function newReceipt(): Promise<{ jobId: string; receiptId: string }> {
  const job = await openJob(f);
  const r = await buildReceipt(f, job, 10, { route: straight(f) });
  const receiptId = await submit(f, job, r);
  return { jobId: job.jobId.toString(), receiptId: receiptId.toString() };
}

describe("verifier service: where event reading resumes (Hardhat EVM)", () => {
  before(async () => {
    f = await networkHelpers.loadFixture(threeStageFixture);
    dir = mkdtempSync(join(tmpdir(), "shardmesh-verifier-cursor-"));
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  it("resumes after the block it read up to, in one range, after a restart", async () => {
    const file = join(dir, "resume.json");
    const first = verifier(file);
    await first.tick();
    const at = BigInt(saved(file).cursor!.block);
    assert.equal(at, await publicClient.getBlockNumber());
    await networkHelpers.mine(10);
    const restarted = verifier(file);
    await restarted.tick();
    assert.equal(restarted.cursor.lastFrom, at + 1n, "no block is read twice (the verifier's events are not idempotent)");
    assert.equal(restarted.cursor.rangesRead, 1);
    assert.deepEqual(restarted.cursor.resets, []);
  });

  it("reads on from the first unread block a state file from before the cursor kept", async () => {
    const file = join(dir, "legacy.json");
    const from = (await publicClient.getBlockNumber()) - 3n;
    writeFileSync(
      file,
      JSON.stringify({ nextBlock: from.toString(), seeds: [], samples: [], leaves: [], votes: [], watched: [], openAccused: {} }),
    );
    const v = verifier(file);
    await v.tick();
    assert.equal(v.cursor.lastFrom, from);
    assert.ok(saved(file).cursor?.hash, "the position now has its block's hash");
  });

  it("drops a saved position past the latest block (a fresh dev chain) with what it derived, and reads the chain it is on", async () => {
    const file = join(dir, "ahead.json");
    const latest = await publicClient.getBlockNumber();
    writeFileSync(
      file,
      JSON.stringify({
        nextBlock: (latest + 1_000n).toString(),
        seeds: [{ jobId: "77", receiptId: "0", readyAt: "5" }],
        samples: [],
        leaves: [],
        votes: [{ disputeId: "1", round: 0, committed: true, revealed: false, fraud: true, salt: `0x${"11".repeat(32)}` }],
        watched: ["1"],
        openAccused: {},
      }),
    );
    const v = verifier(file);
    assert.equal(v.votes.size, 1, "the saved vote is loaded");
    const receipt = await newReceipt();
    await v.tick();
    assert.deepEqual(v.cursor.resets, ["ahead-of-chain"]);
    assert.equal(v.cursor.lastFrom, BigInt(f.deployment.contracts.SpotCheck.blockNumber), "read again from the deployment block");
    assert.equal(v.votes.size, 0, "the old chain's vote is forgotten");
    assert.equal(v.watched.size, 0);
    const state = saved(file);
    assert.deepEqual(
      state.seeds.map((s) => [s.jobId, s.receiptId]),
      [[receipt.jobId, receipt.receiptId]],
      "the receipt submitted on this chain is watched; the old chain's is gone",
    );
    assert.equal(BigInt(state.cursor!.block), await publicClient.getBlockNumber());
  });
});
