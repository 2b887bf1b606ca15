// Job market happy paths: open (approve and permit), receipts with several providers per stage,
// sampling + reveals, settlement with royalty / verifier / treasury fees, withdrawals, close + refund.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  PRICE,
  ROLE,
  addr,
  buildReceipt,
  devAccount,
  networkHelpers,
  openJob,
  passWindows,
  permitSig,
  publicClient,
  quote,
  revealAll,
  roleOf,
  straight,
  submit,
  threeStageFixture,
  viem,
  wallets,
} from "./helpers.ts";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { parseEther } from "viem";

describe("JobMarket flow", () => {
  it("opens a job with approve: escrow = max × (prices + royalty + verifier + treasury fee), collateral locked", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const before = await f.token.read.balanceOf([addr(ROLE.buyer)]);
    const job = await openJob(f);
    const j = await f.market.read.job([job.jobId]);
    // 3 stages × 0.001 = 0.003 per inference; fees 500 + 100 + 100 bps = 7% → 0.00321 × 1000
    assert.equal(j.escrow, 1000n * (3n * PRICE + (3n * PRICE * 700n) / 10_000n));
    assert.equal(before - (await f.token.read.balanceOf([addr(ROLE.buyer)])), j.escrow);
    assert.equal(j.stageCount, 3);
    assert.equal(j.sessionKey, job.session.address);
    // collateral = max(minCollateral, κ × price × min(maxUnits, ⌈1e6 / rate⌉)) = max(50, 3 × 0.001 × 1000) SHARD
    const p = await f.params.read.paramsAt([1n]);
    const formula = (BigInt(p.collateralMultipleBps) * PRICE * 1000n) / 10_000n;
    const expected = formula > p.minCollateral ? formula : p.minCollateral;
    assert.equal(expected, parseEther("50"));
    assert.equal(await f.market.read.collateralOf([job.jobId, addr(ROLE.p1)]), expected);
    assert.equal((await f.staking.read.stakeOf([addr(ROLE.p1)])).locked, expected);
  });

  it("opens a job with a permit in one transaction", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const session = privateKeyToAccount(generatePrivateKey());
    const quotes = [await quote(f, ROLE.p1, 0), await quote(f, ROLE.p2, 1), await quote(f, ROLE.p3, 2)];
    const now = await networkHelpers.time.latest();
    const request = { modelId: f.modelId, maxUnits: 10, expiresAt: BigInt(now + 3600), sessionKey: session.address };
    const escrow = await f.market.read.escrowFor([request, quotes]);
    const deadline = BigInt(now + 600);
    const buyer = devAccount(ROLE.buyer);
    const { v, r, s } = await permitSig(f, ROLE.buyer, f.market.address, escrow, deadline);
    await viem.assertions.emitWithArgs(
      f.market.write.openJobWithPermit([request, quotes, { deadline, v, r, s }], { account: wallets[ROLE.buyer].account }),
      f.market,
      "JobOpened",
      [1n, buyer.address, f.modelId, session.address, 10n, escrow, request.expiresAt, 1n],
    );
    assert.equal(await f.token.read.allowance([buyer.address, f.market.address]), 0n);
  });

  it("runs receipt → samples → reveals → settle → withdraw, with two providers on one stage", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f, [
      [0, ROLE.p1],
      [1, ROLE.p2],
      [1, ROLE.p4],
      [2, ROLE.p3],
    ]);
    // stage 1 load-balanced: even requests to p2, odd to p4
    const route = (i: number, s: number) => (s === 1 ? (i % 2 === 0 ? ROLE.p2 : ROLE.p4) : s === 0 ? ROLE.p1 : ROLE.p3);
    const r = await buildReceipt(f, job, 40, { route });
    assert.equal(r.parts.length, 4);
    const receiptId = await submit(f, job, r, ROLE.p1);
    const stored = await f.market.read.receipt([job.jobId, receiptId]);
    assert.equal(stored.from, 0);
    assert.equal(stored.to, 40);
    assert.equal(stored.outputRoot, r.outputRoot);

    const indices = await revealAll(f, job, r, receiptId);
    assert.equal(indices.length, 1); // 40 × 1000 ppm → ceil = 1
    assert.equal((await f.spotCheck.read.sample([job.jobId, receiptId, 0n])).resolved, true);
    const verifier = (await f.spotCheck.read.sample([job.jobId, receiptId, 0n])).verifier;
    assert.ok([addr(ROLE.v1), addr(ROLE.v2), addr(ROLE.v3)].includes(verifier), `verifier ${verifier} is a registered non-provider`);
    await f.spotCheck.write.attest([job.jobId, receiptId, 0n], { account: wallets[roleOf(verifier)].account });
    await passWindows(f);
    await f.market.write.settle([job.jobId, receiptId, r.records]);

    const pay = 40n * PRICE;
    assert.equal(await f.market.read.credits([addr(ROLE.p1)]), pay);
    assert.equal(await f.market.read.credits([addr(ROLE.p2)]), 20n * PRICE);
    assert.equal(await f.market.read.credits([addr(ROLE.p4)]), 20n * PRICE);
    const providerPay = 3n * pay;
    assert.equal(await f.market.read.credits([addr(ROLE.publisher)]), (providerPay * 500n) / 10_000n);
    assert.equal(await f.market.read.credits([verifier]), (providerPay * 100n) / 10_000n);
    assert.equal(await f.market.read.credits([addr(ROLE.treasury)]), (providerPay * 100n) / 10_000n);

    const before = await f.token.read.balanceOf([addr(ROLE.p2)]);
    await f.market.write.withdraw({ account: wallets[ROLE.p2].account });
    assert.equal((await f.token.read.balanceOf([addr(ROLE.p2)])) - before, 20n * PRICE);
    assert.equal(await f.market.read.credits([addr(ROLE.p2)]), 0n);
  });

  it("keeps a withdrawn account's credit slot live: exact amounts, nothing left to withdraw, cheaper next settlement", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r1 = await buildReceipt(f, job, 10, { route: straight(f) });
    const id1 = await submit(f, job, r1);
    const r2 = await buildReceipt(f, job, 10, { route: straight(f) });
    const id2 = await submit(f, job, r2);
    for (const [r, id] of [
      [r1, id1],
      [r2, id2],
    ] as const)
      await revealAll(f, job, r, id);
    await passWindows(f);
    const gasOf = async (hash: Promise<`0x${string}`>) => (await publicClient.waitForTransactionReceipt({ hash: await hash })).gasUsed;
    const firstSettle = await gasOf(f.market.write.settle([job.jobId, id1, r1.records]));
    const paid = [ROLE.p1, ROLE.p2, ROLE.p3, ROLE.publisher, ROLE.treasury];
    const owed = await Promise.all(paid.map((who) => f.market.read.credits([addr(who)])));
    for (const [i, who] of paid.entries()) {
      const before = await f.token.read.balanceOf([addr(who)]);
      await viem.assertions.emitWithArgs(f.market.write.withdraw({ account: wallets[who].account }), f.market, "Withdrawn", [
        addr(who),
        owed[i],
      ]);
      assert.equal((await f.token.read.balanceOf([addr(who)])) - before, owed[i]);
      assert.equal(await f.market.read.credits([addr(who)]), 0n);
    }
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.withdraw({ account: wallets[ROLE.p1].account }),
      f.market,
      "JobMarketNothingToWithdraw",
      [addr(ROLE.p1), 0n],
    );
    // The same accounts are paid again: live slots, so well under the first settlement's cost
    // (which created them; only the receipt's verifier may be new here).
    const again = await gasOf(f.market.write.settle([job.jobId, id2, r2.records]));
    assert.ok(again + 50_000n < firstSettle, `settle after withdrawals ${again} vs first ${firstSettle}`);
    assert.equal(await f.market.read.credits([addr(ROLE.p1)]), 10n * PRICE);
    for (const [i, who] of paid.entries()) assert.equal(await f.market.read.credits([addr(who)]), owed[i]);
  });

  it("takes a second receipt with counts that only grow and closes after expiry with a refund", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r1 = await buildReceipt(f, job, 10, { route: straight(f) });
    const id1 = await submit(f, job, r1);
    const r2 = await buildReceipt(f, job, 15, { route: straight(f) });
    const id2 = await submit(f, job, r2, ROLE.p3);
    assert.equal(id2, 1n);
    assert.equal((await f.market.read.receipt([job.jobId, id2])).from, 10);
    assert.equal((await f.market.read.stageTerms([job.jobId, 0n, addr(ROLE.p1)])).served, 25);
    for (const [r, id] of [
      [r1, id1],
      [r2, id2],
    ] as const)
      await revealAll(f, job, r, id);
    await passWindows(f);
    await f.market.write.settle([job.jobId, id1, r1.records]);
    await f.market.write.settle([job.jobId, id2, r2.records]);
    await networkHelpers.time.increase(86_400);
    const escrowLeft = (await f.market.read.job([job.jobId])).escrow;
    // Per receipt: providers' pay + royalty (500 bps) + treasury fee (100 bps); the verifier fee
    // (100 bps) is paid only for attested samples, and nobody attested here.
    const paid = (n: bigint) => n * 3n * PRICE + (n * 3n * PRICE * 500n) / 10_000n + (n * 3n * PRICE * 100n) / 10_000n;
    const spent = paid(10n) + paid(15n);
    assert.equal(escrowLeft, 1000n * (3n * PRICE + (3n * PRICE * 700n) / 10_000n) - spent);
    await viem.assertions.emitWithArgs(
      f.market.write.closeJob([job.jobId], { account: wallets[ROLE.stranger].account }),
      f.market,
      "JobClosed",
      [job.jobId, addr(ROLE.buyer), f.modelId, escrowLeft],
    );
    assert.equal(await f.market.read.credits([addr(ROLE.buyer)]), escrowLeft);
    assert.equal((await f.staking.read.stakeOf([addr(ROLE.p1)])).locked, 0n);
    // contract balance = credits left to withdraw (no escrow, no bonds)
    const holders = [ROLE.buyer, ROLE.p1, ROLE.p2, ROLE.p3, ROLE.p4, ROLE.publisher, ROLE.treasury, ROLE.v1, ROLE.v2, ROLE.v3].map(addr);
    let sum = 0n;
    for (const h of holders) sum += await f.market.read.credits([h]);
    assert.equal(await f.token.read.balanceOf([f.market.address]), sum);
    void publicClient;
  });
});
