// Jobs and provider histories, reduced from JobMarket and ProviderStaking events.
import type { Address, Hex } from "viem";
import type { IndexedEvent } from "./indexer";

/** IJobMarket.FaultReason, in order. */
export const faultReasons = [
  "did not reveal a sampled request",
  "its leaf contradicts the buyer tree it signed",
  "no zk proof in time",
  "lost a committee re-execution vote",
  "signed a hand-off it then contradicted",
  "revealed an input its upstream never signed",
] as const;

export interface ReceiptInfo {
  receiptId: string;
  from: number;
  to: number;
  outputRoot: Hex;
  submitter: Address;
  submittedBlock: number;
  settled: boolean;
  settledAmount?: bigint;
  faults: { provider: Address; reason: string; slashed: bigint }[];
  /** Spot checks: requests sampled, samples resolved clean / not clean, disputes opened. */
  samples: number;
  clean: number;
  unclean: number;
  disputes: number;
}

export interface JobInfo {
  id: string;
  buyer: Address;
  modelId: string;
  sessionKey: Address;
  /** Units the job may pay for (one per inference for inference models). */
  maxUnits: number;
  escrow: bigint;
  expiresAt: number;
  openedBlock: number;
  closed: boolean;
  refund?: bigint;
  providers: { stage: number; provider: Address; price: bigint; maxUnits: number; collateral: bigint }[];
  receipts: ReceiptInfo[];
  used: number;
}

export type JobStatusLabel = "open" | "expired" | "used up" | "closed";

export function jobStatus(j: JobInfo, nowSeconds: number): JobStatusLabel {
  if (j.closed) return "closed";
  if (j.used >= j.maxUnits) return "used up";
  if (nowSeconds >= j.expiresAt) return "expired";
  return "open";
}

/** A job can be closed (refund) by its buyer when expired or fully used and no receipt is pending. */
export function canClose(j: JobInfo, nowSeconds: number): boolean {
  const s = jobStatus(j, nowSeconds);
  return (s === "expired" || s === "used up") && j.receipts.every((r) => r.settled);
}

const lower = (a: unknown) => String(a).toLowerCase();
/** Events of SpotCheck and Disputes that belong to a job (the other contracts besides the market). */
const adjudicationEvents = new Set(["SamplesDrawn", "SampleResolved", "DisputeOpened"]);

export function jobsFromEvents(events: readonly IndexedEvent[], opts: { market?: Address; buyer?: Address } = {}): JobInfo[] {
  const market = opts.market ? lower(opts.market) : undefined;
  const jobs = new Map<string, JobInfo>();
  // Jobs first: the market emits QuoteAccepted before JobOpened within the opening transaction.
  for (const e of events) {
    if (e.name !== "JobOpened" || (market && lower(e.address) !== market)) continue;
    if (opts.buyer && lower(e.args.buyer) !== lower(opts.buyer)) continue;
    const id = String(e.args.jobId);
    jobs.set(id, {
      id,
      buyer: e.args.buyer as Address,
      modelId: String(e.args.modelId),
      sessionKey: e.args.sessionKey as Address,
      maxUnits: Number(e.args.maxUnits),
      escrow: e.args.escrow as bigint,
      expiresAt: Number(e.args.expiresAt),
      openedBlock: e.blockNumber,
      closed: false,
      providers: [],
      receipts: [],
      used: 0,
    });
  }
  for (const e of events) {
    if (market && lower(e.address) !== market && !adjudicationEvents.has(e.name)) continue;
    const id = e.args.jobId === undefined ? undefined : String(e.args.jobId);
    const job = id ? jobs.get(id) : undefined;
    if (!job) continue;
    switch (e.name) {
      case "QuoteAccepted":
        job.providers.push({
          stage: Number(e.args.stage),
          provider: e.args.provider as Address,
          price: e.args.price as bigint,
          maxUnits: Number(e.args.maxUnits),
          collateral: e.args.collateral as bigint,
        });
        break;
      case "ReceiptSubmitted":
        job.receipts.push({
          receiptId: String(e.args.receiptId),
          from: Number(e.args.from),
          to: Number(e.args.to),
          outputRoot: e.args.outputRoot as Hex,
          submitter: e.args.submitter as Address,
          submittedBlock: e.blockNumber,
          settled: false,
          faults: [],
          samples: 0,
          clean: 0,
          unclean: 0,
          disputes: 0,
        });
        job.used = Math.max(job.used, Number(e.args.units));
        break;
      case "ReceiptSettled": {
        const r = job.receipts.find((x) => x.receiptId === String(e.args.receiptId));
        if (r) {
          r.settled = true;
          r.settledAmount =
            (e.args.providerPay as bigint) + (e.args.royalty as bigint) + (e.args.verifierFee as bigint) + (e.args.treasuryFee as bigint);
        }
        break;
      }
      case "ProviderFaulted": {
        const r = job.receipts.find((x) => x.receiptId === String(e.args.receiptId));
        r?.faults.push({
          provider: e.args.provider as Address,
          reason: faultReasons[Number(e.args.reason)] ?? `reason ${e.args.reason}`,
          slashed: e.args.slashed as bigint,
        });
        break;
      }
      case "SamplesDrawn": {
        const r = job.receipts.find((x) => x.receiptId === String(e.args.receiptId));
        if (r) r.samples = Number(e.args.samples);
        break;
      }
      case "SampleResolved": {
        const r = job.receipts.find((x) => x.receiptId === String(e.args.receiptId));
        if (r) {
          if (e.args.clean) r.clean += 1;
          else r.unclean += 1;
        }
        break;
      }
      case "DisputeOpened": {
        const r = job.receipts.find((x) => x.receiptId === String(e.args.receiptId));
        if (r) r.disputes += 1;
        break;
      }
      case "JobClosed":
        job.closed = true;
        job.refund = e.args.refund as bigint;
        break;
    }
  }
  return [...jobs.values()].sort((a, b) => Number(b.id) - Number(a.id));
}

export interface ProviderHistory {
  staked: bigint;
  slashes: { jobId: string; amount: bigint; reason: string; block: number }[];
  locks: Map<string, bigint>;
  events: { name: string; block: number; amount?: bigint; jobId?: string }[];
}

/** Staking history of one provider: locked collateral per job and slashes with their reason. */
export function providerHistory(events: readonly IndexedEvent[], provider: Address, staking?: Address): ProviderHistory {
  const me = lower(provider);
  const st = staking ? lower(staking) : undefined;
  const reasons = new Map<string, string>();
  for (const e of events) {
    if (e.name === "ProviderFaulted" && lower(e.args.provider) === me)
      reasons.set(String(e.args.jobId), faultReasons[Number(e.args.reason)] ?? `reason ${e.args.reason}`);
  }
  const out: ProviderHistory = { staked: 0n, slashes: [], locks: new Map(), events: [] };
  for (const e of events) {
    if (st && lower(e.address) !== st) continue;
    if (lower(e.args.provider) !== me) continue;
    const amount = e.args.amount as bigint | undefined;
    const jobId = e.args.jobId === undefined ? undefined : String(e.args.jobId);
    switch (e.name) {
      case "Staked":
        out.staked += amount ?? 0n;
        break;
      case "CollateralLocked":
        out.locks.set(jobId!, (out.locks.get(jobId!) ?? 0n) + (amount ?? 0n));
        break;
      case "CollateralUnlocked":
        out.locks.set(jobId!, (out.locks.get(jobId!) ?? 0n) - (amount ?? 0n));
        break;
      case "Slashed":
        out.locks.set(jobId!, (out.locks.get(jobId!) ?? 0n) - (amount ?? 0n));
        out.slashes.push({
          jobId: jobId!,
          amount: amount ?? 0n,
          reason: reasons.get(jobId!) ?? "fault reported by SpotCheck or Disputes",
          block: e.blockNumber,
        });
        break;
    }
    out.events.push({ name: e.name, block: e.blockNumber, amount, jobId });
  }
  for (const [k, v] of out.locks) if (v <= 0n) out.locks.delete(k);
  return out;
}
