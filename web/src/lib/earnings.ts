// Earnings views, derived from indexed JobMarket events with linear passes (no per-event RPC).
// scope "account": what one address earned (Credited / Withdrawn / its receipt parts);
// scope "protocol": everything settled in the market (ReceiptSettled), for visitors.
import type { Address } from "viem";
import type { IndexedEvent } from "./indexer";

export const creditKinds = [
  "Provider work",
  "Royalty",
  "Verifier fee",
  "Treasury fee",
  "Slash reward",
  "Bond return",
  "Bond award",
  "Committee fee",
  "Refund",
] as const;
const REFUND = 8;
const VERIFIER_KINDS = new Set([2, 4, 6, 7]);

export interface Bucket {
  start: number; // unix seconds
  settled: bigint;
  cumulativeSettled: bigint;
  cumulativeWithdrawn: bigint;
}

export interface Breakdown {
  key: string;
  amount: bigint;
  count: number;
}

export interface EarningsView {
  scope: "account" | "protocol";
  settled: bigint;
  pending: bigint;
  withdrawn: bigint;
  verifierFees: bigint;
  settlements: number;
  byKind: Breakdown[];
  byModel: Breakdown[];
  byJob: Breakdown[];
  buckets: Bucket[];
  bucketSeconds: number;
}

const niceBuckets = [60, 300, 900, 3_600, 6 * 3_600, 86_400, 7 * 86_400, 30 * 86_400];

/** The smallest "nice" bucket size that keeps the series at or under `maxBuckets` points. */
export function chooseBucketSeconds(spanSeconds: number, maxBuckets = 48): number {
  for (const b of niceBuckets) if (spanSeconds / b <= maxBuckets) return b;
  return Math.ceil(spanSeconds / maxBuckets / 86_400) * 86_400;
}

const lower = (a: unknown) => String(a).toLowerCase();
const big = (v: unknown): bigint => (typeof v === "bigint" ? v : BigInt(String(v ?? 0)));

function sortedBreakdown(map: Map<string, { amount: bigint; count: number }>, limit?: number): Breakdown[] {
  const list = [...map.entries()]
    .map(([key, v]) => ({ key, ...v }))
    .sort((a, b) => (b.amount > a.amount ? 1 : b.amount < a.amount ? -1 : 0));
  return limit ? list.slice(0, limit) : list;
}

function add(map: Map<string, { amount: bigint; count: number }>, key: string, amount: bigint) {
  const cur = map.get(key);
  if (cur) {
    cur.amount += amount;
    cur.count += 1;
  } else map.set(key, { amount, count: 1 });
}

export function earningsView(
  events: readonly IndexedEvent[],
  times: Record<number, number>,
  opts: { market?: Address; account?: Address; maxBuckets?: number; topJobs?: number },
): EarningsView {
  const market = opts.market ? lower(opts.market) : undefined;
  const account = opts.account ? lower(opts.account) : undefined;
  const scope = account ? "account" : "protocol";
  const fromMarket = (e: IndexedEvent) => !market || lower(e.address) === market;

  // Prices per (job, stage, provider) and settled receipts, for the pending estimate.
  const price = new Map<string, bigint>();
  const settledReceipts = new Set<string>();
  const faulted = new Set<string>();
  for (const e of events) {
    if (!fromMarket(e)) continue;
    if (e.name === "QuoteAccepted") price.set(`${e.args.jobId}:${e.args.stage}:${lower(e.args.provider)}`, big(e.args.price));
    else if (e.name === "ReceiptSettled") settledReceipts.add(`${e.args.jobId}:${e.args.receiptId}`);
    else if (e.name === "ProviderFaulted") faulted.add(`${e.args.jobId}:${lower(e.args.provider)}`);
  }

  const points: { t: number; settled: bigint; withdrawn: bigint }[] = [];
  const byKind = new Map<string, { amount: bigint; count: number }>();
  const byModel = new Map<string, { amount: bigint; count: number }>();
  const byJob = new Map<string, { amount: bigint; count: number }>();
  let settled = 0n,
    pending = 0n,
    withdrawn = 0n,
    verifierFees = 0n,
    settlements = 0;

  for (const e of events) {
    if (!fromMarket(e)) continue;
    const t = times[e.blockNumber] ?? 0;
    if (scope === "account") {
      if (e.name === "Credited" && lower(e.args.account) === account) {
        const kind = Number(e.args.kind);
        if (kind === REFUND) continue;
        const amount = big(e.args.amount);
        settled += amount;
        settlements += 1;
        if (VERIFIER_KINDS.has(kind)) verifierFees += amount;
        add(byKind, creditKinds[kind] ?? `kind ${kind}`, amount);
        add(byModel, String(e.args.modelId), amount);
        add(byJob, String(e.args.jobId), amount);
        points.push({ t, settled: amount, withdrawn: 0n });
      } else if (e.name === "Withdrawn" && lower(e.args.account) === account) {
        const amount = big(e.args.amount);
        withdrawn += amount;
        points.push({ t, settled: 0n, withdrawn: amount });
      } else if (e.name === "ReceiptPartRecorded" && lower(e.args.provider) === account) {
        if (settledReceipts.has(`${e.args.jobId}:${e.args.receiptId}`) || faulted.has(`${e.args.jobId}:${account}`)) continue;
        pending += big(e.args.newCount) * (price.get(`${e.args.jobId}:${e.args.stage}:${account}`) ?? 0n);
      }
    } else {
      if (e.name === "ReceiptSettled") {
        const parts = [big(e.args.providerPay), big(e.args.royalty), big(e.args.verifierFee), big(e.args.treasuryFee)];
        const amount = parts[0] + parts[1] + parts[2] + parts[3];
        settled += amount;
        settlements += 1;
        verifierFees += parts[2];
        ["Provider work", "Royalty", "Verifier fee", "Treasury fee"].forEach((k, i) => {
          if (parts[i] > 0n) add(byKind, k, parts[i]);
        });
        add(byModel, String(e.args.modelId), amount);
        add(byJob, String(e.args.jobId), amount);
        points.push({ t, settled: amount, withdrawn: 0n });
      } else if (e.name === "Withdrawn" && "account" in e.args) {
        const amount = big(e.args.amount);
        withdrawn += amount;
        points.push({ t, settled: 0n, withdrawn: amount });
      } else if (e.name === "ReceiptPartRecorded") {
        if (settledReceipts.has(`${e.args.jobId}:${e.args.receiptId}`)) continue;
        pending += big(e.args.newCount) * (price.get(`${e.args.jobId}:${e.args.stage}:${lower(e.args.provider)}`) ?? 0n);
      }
    }
  }

  const { buckets, bucketSeconds } = toBuckets(points, opts.maxBuckets ?? 48);
  return {
    scope,
    settled,
    pending,
    withdrawn,
    verifierFees,
    settlements,
    byKind: sortedBreakdown(byKind),
    byModel: sortedBreakdown(byModel),
    byJob: sortedBreakdown(byJob, opts.topJobs ?? 10),
    buckets,
    bucketSeconds,
  };
}

/** Groups (time, settled, withdrawn) points into at most `maxBuckets` time buckets with running sums. */
export function toBuckets(
  points: readonly { t: number; settled: bigint; withdrawn: bigint }[],
  maxBuckets: number,
): { buckets: Bucket[]; bucketSeconds: number } {
  if (points.length === 0) return { buckets: [], bucketSeconds: 60 };
  let min = Infinity,
    max = -Infinity;
  for (const p of points) {
    if (p.t < min) min = p.t;
    if (p.t > max) max = p.t;
  }
  const size = chooseBucketSeconds(Math.max(1, max - min), maxBuckets);
  const first = Math.floor(min / size) * size;
  const n = Math.floor((max - first) / size) + 1;
  const settled = new Array<bigint>(n).fill(0n);
  const withdrawn = new Array<bigint>(n).fill(0n);
  for (const p of points) {
    const i = Math.floor((p.t - first) / size);
    settled[i] += p.settled;
    withdrawn[i] += p.withdrawn;
  }
  const buckets: Bucket[] = [];
  let cs = 0n,
    cw = 0n;
  for (let i = 0; i < n; i++) {
    cs += settled[i];
    cw += withdrawn[i];
    buckets.push({ start: first + i * size, settled: settled[i], cumulativeSettled: cs, cumulativeWithdrawn: cw });
  }
  return { buckets, bucketSeconds: size };
}
