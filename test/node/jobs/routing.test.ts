// A job's quoted providers per stage (node/src/jobs/routing.ts: the gateway's router sends a job's
// requests only to them) on Hardhat's EVM with the real contracts, through an RPC that refuses
// getLogs over more than GETLOGS_CAP_BLOCKS blocks (as hosted RPC providers do). Regression: they
// were read from the job's QuoteAccepted events with one getLogs call from the JobMarket's
// deployment block to the latest: on such an RPC, once the chain was longer than the cap, every
// request of every job failed its filter.
import { before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readOnlyContracts } from "../../../node/src/chain/contracts.ts";
import { QuotedProvidersCache } from "../../../node/src/jobs/routing.ts";
import { ROLE, addr, networkHelpers, openJob, threeStageFixture } from "../../contracts/helpers.ts";
import type { Fixture } from "../../contracts/helpers.ts";
import { GETLOGS_CAP_BLOCKS, cappedClient } from "./capped-rpc.ts";

const { client, ranges } = cappedClient();
let f: Fixture;

describe("quoted providers of a job, read from its state (Hardhat EVM, capped getLogs)", () => {
  before(async () => {
    f = await networkHelpers.loadFixture(threeStageFixture);
  });

  it("lists each stage's quoted providers on a chain longer than the RPC's getLogs cap", async () => {
    await networkHelpers.mine(Number(GETLOGS_CAP_BLOCKS) + 200);
    const job = await openJob(f, [
      [0, ROLE.p1],
      [1, ROLE.p2],
      [1, ROLE.p3],
      [2, ROLE.p3],
    ]);
    const other = await openJob(f, [
      [0, ROLE.p4],
      [1, ROLE.p4],
      [2, ROLE.p4],
    ]);
    const cache = new QuotedProvidersCache({
      chainId: f.chainId,
      deployment: f.deployment,
      publicClient: client,
      read: readOnlyContracts(f.deployment, client),
    });
    const quoted = await cache.get(job.jobId.toString());
    assert.deepEqual(
      [...quoted.entries()].sort(([a], [b]) => a - b).map(([stage, set]) => [stage, [...set].sort()]),
      [
        [0, [addr(ROLE.p1)]],
        [1, [addr(ROLE.p2), addr(ROLE.p3)].sort()],
        [2, [addr(ROLE.p3)]],
      ],
    );
    const theOther = await cache.get(other.jobId.toString());
    assert.deepEqual(
      [...theOther.values()].map((set) => [...set]),
      [[addr(ROLE.p4)], [addr(ROLE.p4)], [addr(ROLE.p4)]],
    );
    assert.ok(
      ranges.every((n) => n <= GETLOGS_CAP_BLOCKS),
      `no getLogs over the cap (${ranges.join(", ")})`,
    );
  });
});
