import { describe, expect, it } from "vitest";
import type { Address } from "viem";
import { chooseBucketSeconds, earningsView, toBuckets } from "@/lib/earnings";
import type { IndexedEvent } from "@/lib/indexer";

const market = "0x00000000000000000000000000000000000000aa" as Address;
const me = "0x00000000000000000000000000000000000000b1" as Address;
const other = "0x00000000000000000000000000000000000000b2" as Address;
let n = 0;
const ev = (name: string, block: number, args: Record<string, unknown>, address: Address = market): IndexedEvent => ({
  name,
  address,
  blockNumber: block,
  logIndex: n++,
  txHash: "0x00",
  args,
});

const events: IndexedEvent[] = [
  ev("QuoteAccepted", 1, { jobId: 1n, provider: me, stage: 0n, price: 5n }),
  ev("QuoteAccepted", 1, { jobId: 1n, provider: other, stage: 1n, price: 7n }),
  ev("ReceiptPartRecorded", 2, { jobId: 1n, receiptId: 0n, provider: me, stage: 0n, newCount: 10n }),
  ev("ReceiptPartRecorded", 2, { jobId: 1n, receiptId: 0n, provider: other, stage: 1n, newCount: 10n }),
  ev("ReceiptSettled", 3, { jobId: 1n, receiptId: 0n, modelId: 4n, providerPay: 120n, royalty: 12n, verifierFee: 6n, treasuryFee: 0n }),
  ev("Credited", 3, { account: me, jobId: 1n, modelId: 4n, amount: 50n, kind: 0 }),
  ev("Credited", 3, { account: other, jobId: 1n, modelId: 4n, amount: 70n, kind: 0 }),
  ev("Credited", 3, { account: me, jobId: 1n, modelId: 4n, amount: 6n, kind: 2 }),
  ev("Credited", 4, { account: me, jobId: 1n, modelId: 4n, amount: 99n, kind: 8 }), // refund: not earnings
  ev("ReceiptPartRecorded", 5, { jobId: 1n, receiptId: 1n, provider: me, stage: 0n, newCount: 4n }),
  ev("Withdrawn", 6, { account: me, amount: 30n }),
  ev("Withdrawn", 6, { provider: me, amount: 1000n }, "0x00000000000000000000000000000000000000cc"), // staking withdrawal, other contract
];
const times = { 1: 1000, 2: 1060, 3: 1200, 4: 1300, 5: 4000, 6: 7300 };

describe("earnings", () => {
  it("sums one account's settled, pending, withdrawn and verifier fees", () => {
    const v = earningsView(events, times, { market, account: me });
    expect(v.scope).toBe("account");
    expect(v.settled).toBe(56n);
    expect(v.verifierFees).toBe(6n);
    expect(v.withdrawn).toBe(30n);
    expect(v.pending).toBe(20n); // receipt 1: 4 requests × price 5
    expect(v.byKind.map((k) => [k.key, k.amount])).toEqual([
      ["Provider work", 50n],
      ["Verifier fee", 6n],
    ]);
    expect(v.byModel).toEqual([{ key: "4", amount: 56n, count: 2 }]);
  });
  it("sums the whole market from settlements", () => {
    const v = earningsView(events, times, { market });
    expect(v.scope).toBe("protocol");
    expect(v.settled).toBe(138n);
    expect(v.settlements).toBe(1);
    expect(v.pending).toBe(20n);
    expect(v.withdrawn).toBe(30n);
    expect(v.byJob[0]).toEqual({ key: "1", amount: 138n, count: 1 });
  });
  it("buckets points with running totals", () => {
    const { buckets, bucketSeconds } = toBuckets(
      [
        { t: 0, settled: 5n, withdrawn: 0n },
        { t: 30, settled: 5n, withdrawn: 0n },
        { t: 200, settled: 1n, withdrawn: 4n },
      ],
      48,
    );
    expect(bucketSeconds).toBe(60);
    expect(buckets).toHaveLength(4);
    expect(buckets.map((b) => b.settled)).toEqual([10n, 0n, 0n, 1n]);
    expect(buckets.at(-1)).toMatchObject({ cumulativeSettled: 11n, cumulativeWithdrawn: 4n });
  });
  it("keeps at most maxBuckets points whatever the span", () => {
    expect(chooseBucketSeconds(3_600)).toBe(300);
    expect(chooseBucketSeconds(30 * 86_400)).toBe(86_400);
    const pts = Array.from({ length: 5_000 }, (_, i) => ({ t: i * 97, settled: 1n, withdrawn: 0n }));
    const { buckets } = toBuckets(pts, 48);
    expect(buckets.length).toBeLessThanOrEqual(48);
    expect(buckets.at(-1)?.cumulativeSettled).toBe(5_000n);
  });
});
