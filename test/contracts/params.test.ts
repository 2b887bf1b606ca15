// ProtocolParams (issue 10, item 7): parameter sets are versioned, bounded and delayed, and a job
// keeps the version it opened under, so an admin change never reaches a pending receipt.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEther } from "viem";
import { ROLE, addr, after, as, buildReceipt, networkHelpers, openJob, straight, submit, threeStageFixture, viem } from "./helpers.ts";
import type { Fixture } from "./helpers.ts";

async function current(f: Fixture) {
  return f.params.read.paramsAt([BigInt(await f.params.read.currentVersion())]);
}

describe("ProtocolParams", () => {
  it("item 7 regression: a shorter reveal window applies only to jobs opened after it, and only after the delay", async () => {
    // Old code: setWindows applied at once to pending receipts, so shortening the reveal window
    // made honest receipts reportable as unrevealed immediately.
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 4, { route: straight(f) });
    const id = await submit(f, job, r);
    const windowsOf = async (jobId: bigint) => f.params.read.paramsAt([BigInt((await f.market.read.job([jobId])).paramsVersion)]);
    const before = await windowsOf(job.jobId);
    const p = await current(f);
    await viem.assertions.emitWithArgs(f.params.write.propose([{ ...p, reveal: 600 }], as(ROLE.admin)), f.params, "ParamsProposed", [
      2n,
      { ...p, reveal: 600 },
      after(BigInt(await networkHelpers.time.latest()) + 2n * 86_400n),
    ]);
    await viem.assertions.revertWithCustomError(f.params.write.activate(), f.params, "ProtocolParamsDelayNotOver");
    await networkHelpers.time.increase(2 * 86_400);
    await f.params.write.activate(as(ROLE.stranger)); // anyone activates once the delay is over
    assert.equal(await f.params.read.currentVersion(), 2);
    // The open job and its pending receipt keep version 1's windows.
    assert.deepEqual(await windowsOf(job.jobId), before);
    assert.equal((await f.market.read.job([job.jobId])).paramsVersion, 1);
    // A job opened now gets version 2.
    const later = await openJob(f);
    assert.equal((await f.market.read.job([later.jobId])).paramsVersion, 2);
    assert.equal((await windowsOf(later.jobId)).reveal, 600);
    assert.equal((await f.market.read.receipt([job.jobId, id])).status, 1, "the old job's receipt is untouched");
  });

  it("refuses out-of-bound fields and sets that break the economic conditions, and strangers", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const p = await current(f);
    // Windows: at least 10 s on the development chain (10 min elsewhere).
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.params.write.propose([{ ...p, reveal: 5 }], as(ROLE.admin)),
      f.params,
      "ProtocolParamsFieldOutOfBounds",
      [0n, 5n, 10n, 7n * 86_400n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.params.write.propose([{ ...p, verifierFeeBps: 1_001 }], as(ROLE.admin)),
      f.params,
      "ProtocolParamsFieldOutOfBounds",
      [8n, 1_001n, 0n, 1_000n],
    );
    // κ·λ < 1.5: collateral multiple 2 with 30 % + 10 % paid out leaves 2 × 0.6 = 1.2.
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.params.write.propose([{ ...p, collateralMultipleBps: 20_000 }], as(ROLE.admin)),
      f.params,
      "ProtocolParamsCollateralTooLow",
      [20_000n * 6_000n, 150_000_000n],
    );
    // σ × minCollateral below the bond: a challenge of the smallest job would not pay.
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.params.write.propose([{ ...p, challengeBond: parseEther("20") }], as(ROLE.admin)),
      f.params,
      "ProtocolParamsChallengeUnpaid",
      [parseEther("15"), parseEther("20")],
    );
    const role = await f.params.read.DEFAULT_ADMIN_ROLE();
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.params.write.propose([p], as(ROLE.stranger)),
      f.params,
      "AccessControlUnauthorizedAccount",
      [addr(ROLE.stranger), role],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(f.params.write.cancel(as(ROLE.admin)), f.params, "ProtocolParamsNothingPending", [
      0n,
      1n,
    ]);
    await f.params.write.propose([{ ...p, treasuryFeeBps: 50 }], as(ROLE.admin));
    await f.params.write.cancel(as(ROLE.admin));
    await networkHelpers.time.increase(2 * 86_400);
    await viem.assertions.revertWithCustomError(f.params.write.activate(), f.params, "ProtocolParamsNothingPending");
  });
});
