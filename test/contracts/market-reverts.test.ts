// JobMarket: every revert by name and arguments, and the signature-abuse list of issue 2 —
// reused nonce, another chain or contract, expired quote, receipt count going down, a
// non-session-key signer, a provider signing for a stage it was not quoted for.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEther, recoverTypedDataAddress, zeroAddress } from "viem";
import type { Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { buyerReceiptTypedData, quoteTypedData, shardMeshDomain, signProviderReceipt, signQuote } from "../../node/src/receipts/index.ts";
import type { SignedQuote, StagePart } from "../../node/src/receipts/index.ts";
import {
  FLOOR,
  ROLE,
  STAKE,
  addr,
  after,
  as,
  buildReceipt,
  devAccount,
  drawSamples,
  fixtureWith,
  networkHelpers,
  openJob,
  passWindows,
  quote,
  revealAll,
  straight,
  submit,
  threeStageFixture,
  viem,
} from "./helpers.ts";
import type { Fixture } from "./helpers.ts";

async function request(f: Fixture, over: Record<string, unknown> = {}) {
  const now = await networkHelpers.time.latest();
  return {
    modelId: f.modelId,
    maxUnits: 100,
    expiresAt: BigInt(now + 3600),
    sessionKey: privateKeyToAccount(generatePrivateKey()).address,
    ...over,
  } as { modelId: bigint; maxUnits: number; expiresAt: bigint; sessionKey: `0x${string}` };
}

async function tryOpen(f: Fixture, quotes: SignedQuote[], over: Record<string, unknown> = {}, who: number = ROLE.buyer) {
  const req = await request(f, over);
  await f.token.write.approve([f.market.address, 10n ** 24n], as(who));
  return f.market.write.openJob([req, quotes], as(who));
}

const full = async (f: Fixture) => [await quote(f, ROLE.p1, 0), await quote(f, ROLE.p2, 1), await quote(f, ROLE.p3, 2)];

async function signerOfQuote(f: Fixture, sq: SignedQuote): Promise<Hex> {
  return recoverTypedDataAddress({ ...quoteTypedData(f.domain, sq.quote), signature: sq.signature });
}

describe("JobMarket openJob reverts", () => {
  it("rejects a deprecated model, zero inferences, past expiry and a zero session key", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const q = await full(f);
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, q, { maxUnits: 0 }), f.market, "JobMarketZeroUnits", [0n, 1n]);
    const now = BigInt(await networkHelpers.time.latest());
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, q, { expiresAt: now }), f.market, "JobMarketBadExpiry", [
      now,
      after(now),
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, q, { sessionKey: zeroAddress }), f.market, "JobMarketZeroSessionKey", [
      zeroAddress,
      addr(ROLE.buyer),
    ]);
    await f.registry.write.deprecate([1n], as(ROLE.publisher));
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, q), f.market, "JobMarketModelDeprecated", [1n, 1n]);
  });

  it("rejects quotes for another model, an unknown stage, below the floor, or with max count 0", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const [a, b] = await full(f);
    await viem.assertions.revertWithCustomErrorWithArgs(
      tryOpen(f, [a, b, await quote(f, ROLE.p3, 2, { modelId: 7n })]),
      f.market,
      "JobMarketQuoteModelMismatch",
      [7n, 1n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      tryOpen(f, [a, b, await quote(f, ROLE.p3, 3)]),
      f.market,
      "JobMarketQuoteStageOutOfRange",
      [3n, 3n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      tryOpen(f, [a, b, await quote(f, ROLE.p3, 2, { price: FLOOR - 1n })]),
      f.market,
      "JobMarketQuoteBelowFloor",
      [FLOOR - 1n, FLOOR],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      tryOpen(f, [a, b, await quote(f, ROLE.p3, 2, { maxUnits: 0 })]),
      f.market,
      "JobMarketQuoteMaxUnitsTooLow",
      [0n, 1n],
    );
  });

  it("item 6 regression: a quote is made out to one buyer; nobody else can spend it first", async () => {
    // Old code: quotes bound no buyer, so anyone who saw a broadcast quote could open a job with it
    // first (the real buyer's openJob then reverted on the used nonce).
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const q = await full(f);
    await f.token.write.transfer([addr(ROLE.stranger), parseEther("1000")], as(ROLE.admin));
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, q, {}, ROLE.stranger), f.market, "JobMarketQuoteWrongBuyer", [
      addr(ROLE.buyer),
      addr(ROLE.stranger),
    ]);
    await tryOpen(f, q); // the buyer it was made out to still can
    assert.equal(await f.market.read.jobCount(), 1n);
  });

  it("item 6 regression: a job cannot outlive its quotes' latest job expiry nor the maximum job duration", async () => {
    // Old code: a job could expire a century out and lock the provider's collateral that long.
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const now = BigInt(await networkHelpers.time.latest());
    const [a, b] = await full(f);
    const short = await quote(f, ROLE.p3, 2, { maxJobExpiry: now + 7200n });
    await viem.assertions.revertWithCustomErrorWithArgs(
      tryOpen(f, [a, b, short], { expiresAt: now + 7201n }),
      f.market,
      "JobMarketJobOutlivesQuote",
      [now + 7201n, now + 7200n],
    );
    const maxJobDuration = BigInt((await f.params.read.paramsAt([1n])).maxJobDuration);
    const century = now + 100n * 365n * 86_400n;
    const lax = [a, b, await quote(f, ROLE.p3, 2, { maxJobExpiry: century })].map((x) => x);
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, lax, { expiresAt: century }), f.market, "JobMarketJobTooLong", [
      century,
      after(now + maxJobDuration),
    ]);
  });

  it("abuse: rejects an expired quote", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const [a, b] = await full(f);
    const now = BigInt(await networkHelpers.time.latest());
    const stale = await quote(f, ROLE.p3, 2, { expiry: now });
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, [a, b, stale]), f.market, "JobMarketQuoteExpired", [now, after(now)]);
  });

  it("abuse: rejects a reused nonce and a cancelled nonce", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const q = await full(f);
    await tryOpen(f, q);
    assert.equal(await f.market.read.quoteNonceUsed([addr(ROLE.p1), q[0].quote.nonce]), true);
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, q), f.market, "JobMarketQuoteNonceUsed", [
      addr(ROLE.p1),
      q[0].quote.nonce,
    ]);
    const fresh = await full(f);
    await viem.assertions.emitWithArgs(
      f.market.write.cancelQuoteNonce([fresh[1].quote.nonce], as(ROLE.p2)),
      f.market,
      "QuoteNonceCancelled",
      [addr(ROLE.p2), fresh[1].quote.nonce],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, fresh), f.market, "JobMarketQuoteNonceUsed", [
      addr(ROLE.p2),
      fresh[1].quote.nonce,
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.cancelQuoteNonce([fresh[1].quote.nonce], as(ROLE.p2)),
      f.market,
      "JobMarketQuoteNonceUsed",
      [addr(ROLE.p2), fresh[1].quote.nonce],
    );
  });

  it("abuse: rejects a quote signed for another chain or another contract, or by someone else", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const [a, b, c] = await full(f);
    for (const domain of [shardMeshDomain(1, f.market.address), shardMeshDomain(f.chainId, f.staking.address)]) {
      const forged = await signQuote(devAccount(ROLE.p3), domain, c.quote);
      const signer = await signerOfQuote(f, forged);
      assert.notEqual(signer, addr(ROLE.p3));
      await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, [a, b, forged]), f.market, "JobMarketBadQuoteSignature", [
        signer,
        addr(ROLE.p3),
      ]);
    }
    const impostor = await signQuote(devAccount(ROLE.stranger), f.domain, c.quote);
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, [a, b, impostor]), f.market, "JobMarketBadQuoteSignature", [
      addr(ROLE.stranger),
      addr(ROLE.p3),
    ]);
  });

  it("rejects a duplicate (stage, provider), a stage without a quote, and too many quotes", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const [a, b, c] = await full(f);
    await viem.assertions.revertWithCustomErrorWithArgs(
      tryOpen(f, [a, b, c, await quote(f, ROLE.p3, 2)]),
      f.market,
      "JobMarketDuplicateQuote",
      [2n, addr(ROLE.p3)],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, [a, c]), f.market, "JobMarketStageWithoutQuote", [1n, 3n]);
    const many = await Promise.all(Array.from({ length: 33 }, () => quote(f, ROLE.p1, 0)));
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, many), f.market, "JobMarketTooManyQuotes", [33n, 32n]);
  });

  it("rejects a quote whose provider lacks free stake for the collateral", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const [a, b] = await full(f);
    const big = await quote(f, ROLE.p3, 2, { price: STAKE });
    // collateral = κ × price × min(maxUnits 100, ⌈1e6 / 1,000 ppm⌉) = 3 × price × 100
    await viem.assertions.revertWithCustomErrorWithArgs(tryOpen(f, [a, b, big]), f.staking, "ProviderStakingInsufficientFreeStake", [
      STAKE,
      300n * STAKE,
    ]);
  });

  it("pauses new jobs only: receipts of open jobs, settlement and withdrawals go on", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 5, { route: straight(f) });
    const id = await submit(f, job, r);
    await revealAll(f, job, r, id);
    await passWindows(f);
    await f.params.write.pause(as(ROLE.admin));
    await viem.assertions.revertWithCustomError(tryOpen(f, await full(f)), f.params, "ProtocolParamsPaused");
    // Served work can still be receipted: a pause cannot keep providers from being paid.
    const r2 = await buildReceipt(f, job, 5, { route: straight(f) });
    await submit(f, job, r2);
    await f.market.write.settle([job.jobId, id, r.records]);
    await f.market.write.withdraw(as(ROLE.p1));
    await viem.assertions.revertWithCustomErrorWithArgs(f.market.write.withdraw(as(ROLE.p1)), f.market, "JobMarketNothingToWithdraw", [
      addr(ROLE.p1),
      0n,
    ]);
    const role = await f.params.read.PAUSER_ROLE();
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.params.write.unpause(as(ROLE.stranger)),
      f.params,
      "AccessControlUnauthorizedAccount",
      [addr(ROLE.stranger), role],
    );
    await f.params.write.unpause(as(ROLE.admin));
    await tryOpen(f, await full(f));
  });
});

describe("JobMarket receipt reverts", () => {
  it("abuse: rejects a receipt signed by a key other than the session key", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const rogue = privateKeyToAccount(generatePrivateKey());
    const r = await buildReceipt(f, job, 5, { route: straight(f), sessionSigner: rogue });
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job, r), f.market, "JobMarketBadSessionSignature", [
      rogue.address,
      job.session.address,
    ]);
  });

  it("abuse: rejects a receipt whose count goes down or stays, and counts above the job's max", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f, undefined, 20);
    const r1 = await buildReceipt(f, job, 10, { route: straight(f) });
    await submit(f, job, r1);
    // replaying the same signed receipt: count 10 is not above 10
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job, r1), f.market, "JobMarketCountNotIncreasing", [10n, 10n]);
    job.count = 5; // a receipt claiming count 8 after 10
    const down = await buildReceipt(f, job, 3, { route: straight(f) });
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job, down), f.market, "JobMarketCountNotIncreasing", [8n, 10n]);
    job.count = 10;
    const over = await buildReceipt(f, job, 11, { route: straight(f) });
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job, over), f.market, "JobMarketUnitsAboveMax", [21n, 20n]);
  });

  it("abuse: rejects a provider signing for a stage it was not quoted for", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    // p4 has no quote in this job; it claims stage 1
    const r = await buildReceipt(f, job, 4, { route: (_i, s) => [ROLE.p1, ROLE.p4, ROLE.p3][s] });
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job, r), f.market, "JobMarketProviderNotQuoted", [1n, addr(ROLE.p4)]);
    // p2 is quoted for stage 1 only; it claims stage 2 as well
    const job2 = await openJob(f);
    const r2 = await buildReceipt(f, job2, 4, { route: (_i, s) => [ROLE.p1, ROLE.p2, ROLE.p2][s] });
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job2, r2), f.market, "JobMarketProviderNotQuoted", [2n, addr(ROLE.p2)]);
  });

  it("abuse: rejects a part signed by someone other than its provider, or with a replayed count", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 4, { route: straight(f) });
    const forged: StagePart[] = r.parts.map((p) => ({ ...p }));
    forged[1].signature = await signProviderReceipt(devAccount(ROLE.stranger), f.domain, {
      jobId: job.jobId,
      stage: 1,
      count: forged[1].count,
      units: forged[1].units,
      root: forged[1].root,
      outputRoot: r.outputRoot,
    });
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.submitReceipt([job.jobId, r.count, r.count, r.outputRoot, r.sessionSignature, forged], as(ROLE.p1)),
      f.market,
      "JobMarketBadProviderSignature",
      [addr(ROLE.stranger), addr(ROLE.p2)],
    );
    await submit(f, job, r);
    // next receipt reuses stage 1's old signed part (count 4) instead of a new one
    const r2 = await buildReceipt(f, job, 4, { route: straight(f) });
    const replay = r2.parts.map((p, i) => (i === 1 ? r.parts[1] : p));
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.submitReceipt([job.jobId, r2.count, r2.count, r2.outputRoot, r2.sessionSignature, replay], as(ROLE.p1)),
      f.market,
      "JobMarketProviderCountNotIncreasing",
      [4n, 4n],
    );
  });

  it("rejects parts out of order, a stage whose counts do not add up, and a missing stage", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f, [
      [0, ROLE.p1],
      [1, ROLE.p2],
      [1, ROLE.p4],
      [2, ROLE.p3],
    ]);
    const r = await buildReceipt(f, job, 6, { route: (i, s) => (s === 1 ? (i % 2 ? ROLE.p4 : ROLE.p2) : [ROLE.p1, 0, ROLE.p3][s]) });
    const swapped = [r.parts[0], r.parts[2], r.parts[1], r.parts[3]];
    const call = (parts: StagePart[], who: number = ROLE.p1) =>
      f.market.write.submitReceipt([job.jobId, r.count, r.count, r.outputRoot, r.sessionSignature, parts], as(who));
    await viem.assertions.revertWithCustomErrorWithArgs(call(swapped), f.market, "JobMarketPartsNotSorted", [2n, 1n]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      call([r.parts[0], r.parts[1], r.parts[3]]),
      f.market,
      "JobMarketStageCountMismatch",
      [1n, 3n, 6n],
    );
    // parts for stages 0 and 2 only: stage 1 is missing (expected stage 1, got 2)
    await viem.assertions.revertWithCustomErrorWithArgs(call([r.parts[0], r.parts[3]]), f.market, "JobMarketStageCountMismatch", [
      1n,
      2n,
      1n,
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(call(r.parts, ROLE.stranger), f.market, "JobMarketSubmitterNotProvider", [
      addr(ROLE.stranger),
      job.jobId,
    ]);
  });

  it("rejects provider units above its quote's max units", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const session = privateKeyToAccount(generatePrivateKey());
    const q = [await quote(f, ROLE.p1, 0, { maxUnits: 3 }), await quote(f, ROLE.p2, 1), await quote(f, ROLE.p3, 2)];
    const req = await request(f, { sessionKey: session.address });
    await f.token.write.approve([f.market.address, 10n ** 24n], as(ROLE.buyer));
    await f.market.write.openJob([req, q], as(ROLE.buyer));
    const job = { jobId: 1n, session, quotes: q, maxUnits: 100, served: new Map<string, number>(), count: 0 };
    const r = await buildReceipt(f, job, 4, { route: straight(f) });
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job, r), f.market, "JobMarketProviderUnitsAboveQuote", [4n, 3n]);
  });

  it("item 8 regression: a receipt is bounded so its samples are ceil(n × rate) ≤ 32, never diluted", async () => {
    // Old code: samples were capped at 8 whatever the size, so a 4,000-request receipt at 1 % got
    // 8 samples (0.2 %). Now k = ceil(n × rate) and a receipt may hold at most 32 / rate requests.
    const f = await networkHelpers.loadFixture(fixtureWith({ samplingRatePpm: 10_000 }));
    const job = await openJob(f, undefined, 5_000);
    const big = await buildReceipt(f, job, 3_201, { route: straight(f) });
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job, big), f.market, "JobMarketReceiptTooLarge", [3201n, 3200n]);
  });

  it("rejects receipts for an unknown or expired job", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 2, { route: straight(f) });
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.submitReceipt([9n, r.count, r.count, r.outputRoot, r.sessionSignature, r.parts], as(ROLE.p1)),
      f.market,
      "JobMarketUnknownJob",
      [9n, 1n],
    );
    const expiresAt = (await f.market.read.job([job.jobId])).expiresAt;
    await networkHelpers.time.increaseTo(expiresAt);
    await viem.assertions.revertWithCustomErrorWithArgs(submit(f, job, r), f.market, "JobMarketJobExpired", [expiresAt, expiresAt + 1n]);
  });
});

describe("JobMarket settle / close reverts", () => {
  it("rejects settling early, with wrong parts, before samples are resolved, twice, or an unknown receipt", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 5, { route: straight(f) });
    const id = await submit(f, job, r);
    // Not seeded yet: nothing can settle.
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.settle([job.jobId, id, r.records]),
      f.market,
      "JobMarketReceiptNotClear",
      [0n, 2n ** 256n - 1n],
    );
    await drawSamples(f, job, id);
    // Seeded, sample unresolved (1) and windows open (1).
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.settle([job.jobId, id, r.records]),
      f.market,
      "JobMarketReceiptNotClear",
      [0n, 2n],
    );
    await passWindows(f);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.settle([job.jobId, id, r.records]),
      f.market,
      "JobMarketReceiptNotClear",
      [0n, 1n],
    );
    const bad = r.records.map((p, i) => (i === 0 ? { ...p, newCount: p.newCount + 1 } : p));
    await viem.assertions.revertWithCustomError(f.market.write.settle([job.jobId, id, bad]), f.market, "JobMarketPartsMismatch");
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.settle([job.jobId, 4n, r.records]),
      f.market,
      "JobMarketUnknownReceipt",
      [4n, 1n],
    );
  });

  it("rejects closing with pending receipts or before expiry, and closing twice", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f, undefined, 5);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.closeJob([job.jobId], as(ROLE.buyer)),
      f.market,
      "JobMarketCannotClose",
      [job.jobId, 0n],
    );
    const r = await buildReceipt(f, job, 5, { route: straight(f) });
    const id = await submit(f, job, r);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.closeJob([job.jobId], as(ROLE.buyer)),
      f.market,
      "JobMarketCannotClose",
      [job.jobId, 1n],
    );
    await revealAll(f, job, r, id);
    await passWindows(f);
    await f.market.write.settle([job.jobId, id, r.records]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.settle([job.jobId, id, r.records]),
      f.market,
      "JobMarketReceiptNotPending",
      [0n, 2],
    );
    // fully used: the buyer may close before expiry
    await f.market.write.closeJob([job.jobId], as(ROLE.buyer));
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.closeJob([job.jobId], as(ROLE.buyer)),
      f.market,
      "JobMarketJobNotOpen",
      [job.jobId, 2],
    );
  });

  it("keeps adjudicator hooks and the one-time wiring closed to others", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const adj = f.spotCheck.address;
    for (const call of [
      f.market.write.lockStake([addr(ROLE.p1), 1n, 1n], as(ROLE.stranger)),
      f.market.write.unlockStake([addr(ROLE.p1), 1n, 1n], as(ROLE.stranger)),
      f.market.write.slashStake([addr(ROLE.p1), 1n, 1n], as(ROLE.stranger)),
    ])
      await viem.assertions.revertWithCustomErrorWithArgs(call, f.market, "JobMarketNotAdjudicator", [addr(ROLE.stranger), adj]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.fault([1n, 0n, addr(ROLE.p1), 0, false], as(ROLE.stranger)),
      f.market,
      "JobMarketNotAdjudicator",
      [addr(ROLE.stranger), adj],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.takeBond([addr(ROLE.p1), 1n], as(ROLE.stranger)),
      f.market,
      "JobMarketNotAdjudicator",
      [addr(ROLE.stranger), adj],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.payOut([1n, [], [], 5], as(ROLE.stranger)),
      f.market,
      "JobMarketNotAdjudicator",
      [addr(ROLE.stranger), adj],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.setAdjudicators([addr(ROLE.stranger), addr(ROLE.stranger)], as(ROLE.admin)),
      f.market,
      "JobMarketAdjudicatorAlreadySet",
      [adj, addr(ROLE.stranger)],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.market.write.setAdjudicators([addr(ROLE.stranger), addr(ROLE.stranger)], as(ROLE.stranger)),
      f.market,
      "JobMarketNotDeployer",
      [addr(ROLE.stranger), addr(ROLE.admin)],
    );
  });

  it("checks the buyer receipt typed data matches what the chain verifies", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const job = await openJob(f);
    const r = await buildReceipt(f, job, 3, { route: straight(f) });
    const signer = await recoverTypedDataAddress({
      ...buyerReceiptTypedData(f.domain, { jobId: job.jobId, count: 3, units: 3, outputRoot: r.outputRoot }),
      signature: r.sessionSignature,
    });
    assert.equal(signer, job.session.address);
    assert.equal(
      await f.market.read.domainSeparator(),
      (await import("viem")).hashDomain({
        domain: f.domain as never,
        types: {
          EIP712Domain: [
            { name: "name", type: "string" },
            { name: "version", type: "string" },
            { name: "chainId", type: "uint256" },
            { name: "verifyingContract", type: "address" },
          ],
        },
      }),
    );
  });
});
