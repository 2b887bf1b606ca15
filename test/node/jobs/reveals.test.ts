// A provider's own reveals (node/src/jobs/reveals.ts) find the receipt of a part they signed
// without scanning the chain's history, on Hardhat's EVM with the real contracts, through an RPC
// that refuses getLogs over more than GETLOGS_CAP_BLOCKS blocks (as hosted RPC providers do).
// Regression: the old code looked for the part's ReceiptSubmitted event with one getLogs call from
// the JobMarket's deployment block to the latest block (after every restart): on such an RPC, once
// the chain was longer than the cap, it failed every pass, so the provider never fixed the seed
// nor revealed its own leaves, and was faulted Unrevealed when the gateway withheld them.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readOnlyContracts } from "../../../node/src/chain/contracts.ts";
import type { ShardWallet } from "../../../node/src/chain/contracts.ts";
import { providerChain } from "../../../node/src/chain/provider.ts";
import type { JobsContext } from "../../../node/src/jobs/context.ts";
import { OwnReveals } from "../../../node/src/jobs/reveals.ts";
import { transactionQueue } from "../../../node/src/jobs/service.ts";
import { TraceStore } from "../../../node/src/trace/store.ts";
import {
  ROLE,
  buildReceipt,
  devAccount,
  networkHelpers,
  openJob,
  straight,
  submit,
  threeStageFixture,
  wallets,
} from "../../contracts/helpers.ts";
import type { Fixture } from "../../contracts/helpers.ts";
import { GETLOGS_CAP_BLOCKS, cappedClient } from "./capped-rpc.ts";

const { client: capped, ranges: getLogsRanges } = cappedClient();
let f: Fixture;
let trace: TraceStore;

describe("own reveals: a signed part's receipt is found without scanning the chain (Hardhat EVM, capped getLogs)", () => {
  before(async () => {
    f = await networkHelpers.loadFixture(threeStageFixture);
    trace = new TraceStore({ path: ":memory:" });
  });

  after(() => trace.close());

  it("fixes the seed of its part's receipt on a chain longer than the RPC's getLogs cap", async () => {
    const job = await openJob(f);
    // The chain grows past the cap before the part's receipt lands (any chain in use has).
    await networkHelpers.mine(Number(GETLOGS_CAP_BLOCKS) + 200);
    for (let i = 0; i < 3; i++) await submit(f, job, await buildReceipt(f, job, 2, { route: straight(f) }));
    // p2 signed its stage-1 part of `r`; it lands after three other receipts of the job.
    const r = await buildReceipt(f, job, 10, { route: straight(f) });
    trace.keepSignedPart({ jobId: job.jobId.toString(), stage: 1, outputRoot: r.outputRoot, buyer: "[]", requester: "gateway" });
    const receiptId = await submit(f, job, r);
    await networkHelpers.mine(2); // the seed block is mined
    const pc = providerChain(f.deployment, capped, wallets[ROLE.p2] as unknown as ShardWallet);
    const ctx = {
      chain: {
        chainId: f.chainId,
        deployment: f.deployment,
        publicClient: capped,
        read: readOnlyContracts(f.deployment, capped),
        account: devAccount(ROLE.p2),
        wallet: pc.wallet,
        pc,
      },
      trace,
      models: [],
      peerId: "p2",
      // Not used by own reveals before the samples are drawn.
      node: undefined as never,
      directory: undefined as never,
    } satisfies JobsContext;
    const reveals = new OwnReveals(ctx, { serial: transactionQueue() });
    await reveals.tick();
    const check = await f.spotCheck.read.receiptCheck([job.jobId, receiptId]);
    assert.notEqual(check.seededAt, 0, "the provider found its part's receipt and fixed its seed");
    assert.equal(reveals.receiptsRead, 1, "the newest receipt of the job is the part's: one read");
    assert.ok(
      getLogsRanges.every((n) => n <= GETLOGS_CAP_BLOCKS),
      `no getLogs over the cap (${getLogsRanges.join(", ")})`,
    );
  });
});
