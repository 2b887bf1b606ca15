// Gateway side of receipts: what the buyer's session key must sign for a job's next receipt
// (buyer leaves from the gateway's request records), and the submission — every stage
// provider's signed part over /shardmesh/receipt/1.0.0, checked against the gateway's own
// records, then `submitReceipt` from this node's staking wallet. Submitted receipts are handed to
// the watcher (./watcher.ts) for samples, reveals and settlement.
import { logger } from "@libp2p/logger";
import { peerIdFromString } from "@libp2p/peer-id";
import { getAddress, isAddressEqual, recoverTypedDataAddress, toHex, zeroAddress } from "viem";
import type { Address, Hex } from "viem";
import { buildBuyerTree, buildStageTree, encodeBuyerLeaves } from "../receipts/leaves.ts";
import type { BuyerLeaf, BuyerRecord, ReceiptTree, StageRecord } from "../receipts/leaves.ts";
import { partRecords } from "../receipts/parts.ts";
import type { PartRecord, StagePart } from "../receipts/parts.ts";
import { marketDomain, submitReceipt as submitReceiptTx } from "../chain/provider.ts";
import { buyerReceiptTypedData } from "../receipts/eip712.ts";
import type { GatewayRequestRecord } from "../trace/store.ts";
import type { ReceiptToSign } from "../gateway/api.ts";
import { readJsonState, writeJsonState } from "../util/json-state.ts";
import { requireWallet } from "./context.ts";
import type { JobsContext } from "./context.ts";
import { requestPart } from "./parts.ts";
import { MAX_PART_INDICES, MAX_SAMPLES_PER_RECEIPT } from "./constants.ts";
import {
  JobsBadReceiptSignatureError,
  JobsJobUnavailableError,
  JobsNothingToReceiptError,
  JobsPartMismatchError,
  JobsPeerUnboundError,
  JobsProtocolError,
  JobsReceiptMismatchError,
  JobsSubmitterNotPartError,
} from "./errors.ts";

const log = logger("shardmesh:jobs:ledger");

export type ReceiptState = "submitted" | "sampled" | "revealed" | "settled";

/** One stage provider's share of a receipt. */
export interface ReceiptPart {
  stage: number;
  peerId: string;
  provider: Address;
  /** Trace indices of the requests (as the provider recorded them). */
  indices: number[];
  /** Their indices in the receipt (leaf indices). */
  leafIndices: number[];
}

/** A receipt this gateway submitted, as the watcher drives it. */
export interface SubmittedReceipt {
  jobId: string;
  receiptId: bigint;
  from: number;
  count: number;
  outputRoot: Hex;
  /** Trace index of receipt request from + k at position k. */
  traceIndices: number[];
  buyerTree: ReceiptTree<BuyerLeaf>;
  /** The buyer tree's leaves (what providers check before signing and revealing). */
  buyerLeaves: BuyerRecord[];
  /** Route per receipt index. */
  routes: Map<number, Address[]>;
  parts: ReceiptPart[];
  records: PartRecord[];
  submittedBlock: bigint;
  txHash: Hex;
  state: ReceiptState;
  samples: number[];
  lastError?: string;
}

interface PendingRange {
  jobId: string;
  from: number;
  count: number;
  /** Cumulative units after this receipt (one per request for inference models). */
  units: number;
  requests: GatewayRequestRecord[];
  routes: Map<number, Address[]>;
  buyerTree: ReceiptTree<BuyerLeaf>;
  buyerLeaves: BuyerRecord[];
  sessionKey: Address;
}

/** The most requests the chain takes in one receipt (JobMarket: MAX_SAMPLES · 1e6 / samplingRatePpm). */
export function maxReceiptRequests(samplingRatePpm: number): number {
  return samplingRatePpm > 0 ? Math.floor((MAX_SAMPLES_PER_RECEIPT * 1_000_000) / samplingRatePpm) : Number.MAX_SAFE_INTEGER;
}

export class ReceiptLedger {
  private readonly ctx: JobsContext;
  private readonly peerAddress = new Map<string, Address>();
  readonly receipts: SubmittedReceipt[] = [];
  /** Serialises this wallet's transactions (one nonce sequence). */
  readonly serial: <T>(fn: () => Promise<T>) => Promise<T>;

  /** JSON file the submitted receipts are kept in, so a restarted node still reveals and settles them. */
  private readonly stateFile: string | undefined;

  constructor(ctx: JobsContext, serial: <T>(fn: () => Promise<T>) => Promise<T>, stateFile?: string) {
    this.ctx = ctx;
    this.serial = serial;
    this.stateFile = stateFile;
  }

  /** Writes the unsettled receipts' state (atomic rename). */
  save(): void {
    if (!this.stateFile) return;
    const rows = this.receipts.map((r) => ({
      jobId: r.jobId,
      receiptId: r.receiptId,
      from: r.from,
      count: r.count,
      outputRoot: r.outputRoot,
      traceIndices: r.traceIndices,
      parts: r.parts,
      records: r.records,
      submittedBlock: r.submittedBlock,
      txHash: r.txHash,
      state: r.state,
      samples: r.samples,
    }));
    writeJsonState(this.stateFile, rows);
  }

  /** Reloads saved receipts; buyer trees and routes are rebuilt from the trace store's request records. */
  async load(): Promise<number> {
    const rows = this.stateFile
      ? readJsonState<
          (Omit<SubmittedReceipt, "receiptId" | "submittedBlock" | "buyerTree" | "buyerLeaves" | "routes"> & {
            receiptId: string;
            submittedBlock: string;
          })[]
        >(this.stateFile)
      : undefined;
    if (!rows) return 0;
    for (const row of rows) {
      const byIndex = new Map(this.ctx.trace.requests(row.jobId).map((q) => [q.index, q]));
      const requests = row.traceIndices.map((i) => {
        const q = byIndex.get(i);
        if (!q) throw new JobsNothingToReceiptError(`request ${i} of job ${row.jobId} is missing from the trace store`);
        return q;
      });
      const { routes, buyerTree, buyerLeaves } = await this.buyerTree(row.from, requests);
      if (buyerTree.root !== row.outputRoot)
        throw new JobsReceiptMismatchError(
          `rebuilt root ${buyerTree.root} of job ${row.jobId} differs from the submitted ${row.outputRoot}`,
        );
      this.receipts.push({
        ...row,
        receiptId: BigInt(row.receiptId),
        submittedBlock: BigInt(row.submittedBlock),
        buyerTree,
        buyerLeaves,
        routes,
      });
    }
    log("reloaded %d submitted receipts", rows.length);
    return rows.length;
  }

  /** The staking address a peer id is bound to on chain (cached once bound). */
  async addressOf(peerId: string): Promise<Address> {
    const known = this.peerAddress.get(peerId);
    if (known) return known;
    const bound = await this.ctx.chain.read.staking.read.providerOfPeer([toHex(peerIdFromString(peerId).toMultihash().bytes)]);
    if (bound === zeroAddress) throw new JobsPeerUnboundError(`peer ${peerId} has no staking address bound on chain`);
    this.peerAddress.set(peerId, getAddress(bound));
    return getAddress(bound);
  }

  async job(jobId: string) {
    if (!/^\d+$/.test(jobId)) throw new JobsJobUnavailableError(`job id ${jobId} is not a decimal number`);
    try {
      return await this.ctx.chain.read.market.read.job([BigInt(jobId)]);
    } catch (err) {
      throw new JobsJobUnavailableError(`job ${jobId} is not on chain: ${(err as Error).message.split("\n")[0]}`);
    }
  }

  /** The buyer tree of requests numbered from + k in the receipt, with each one's route. */
  private async buyerTree(from: number, requests: readonly GatewayRequestRecord[]) {
    const routes = new Map<number, Address[]>();
    const leaves: BuyerRecord[] = [];
    for (const [k, r] of requests.entries()) {
      const stages = [...r.stages].sort((a, b) => a.stage - b.stage);
      const route = await Promise.all(stages.map((s) => this.addressOf(s.peerId)));
      routes.set(from + k, route);
      // The nonce is the index every stage traced the request under (unique in the job): each
      // provider finds its own record of a leaf by it before signing. Units: 1 per inference, a
      // generation's tokens.
      leaves.push({
        index: from + k,
        nonce: BigInt(r.traceIndex),
        units: r.units,
        requestHash: r.requestHash,
        responseHash: r.responseHash,
        route,
      });
    }
    return { routes, buyerTree: buildBuyerTree(leaves), buyerLeaves: leaves };
  }

  /**
   * Answered requests not yet in a receipt, numbered densely from the job's receipted count: a
   * request that failed after getting a trace index leaves no hole in the receipt, and one still
   * in flight goes into a later receipt.
   */
  private async pending(jobId: string): Promise<PendingRange> {
    const job = await this.job(jobId);
    const from = job.count;
    const known = new Set(this.receipts.filter((r) => r.jobId === jobId).flatMap((r) => r.traceIndices));
    // Receipts this node has no record of (state lost) covered the earliest requests.
    const unknown = Math.max(0, from - known.size);
    // At most the job's units left (admission keeps the total within them; this is the bound).
    let room = job.maxUnits - job.units;
    const requests = this.ctx.trace
      .requests(jobId)
      .filter((r) => !known.has(r.index))
      .sort((a, b) => a.index - b.index)
      // At most what one receipt may hold: the chain's bound (MAX_SAMPLES · 1e6 / rate) and the
      // leaves a provider checks in one part request; the rest goes into the next receipt. And at
      // most the job's units left (admission keeps the total within them; this is the bound).
      .slice(unknown, unknown + Math.min(MAX_PART_INDICES, maxReceiptRequests(job.samplingRatePpm)))
      .filter((r) => {
        if (room <= 0 || r.units > room) {
          room = 0;
          return false;
        }
        room -= r.units;
        return true;
      });
    if (requests.length === 0)
      throw new JobsNothingToReceiptError(`job ${jobId} has no answered request beyond its ${from} receipted ones`);
    const { routes, buyerTree, buyerLeaves } = await this.buyerTree(from, requests);
    return {
      jobId,
      from,
      count: from + requests.length,
      units: job.units + requests.reduce((a, r) => a + r.units, 0),
      requests,
      routes,
      buyerTree,
      buyerLeaves,
      sessionKey: job.sessionKey,
    };
  }

  /** What the session key must sign: requests [from, count), cumulative `units`, under outputRoot. */
  async toSign(jobId: string): Promise<ReceiptToSign> {
    const p = await this.pending(jobId);
    // `requests`: the gateway's request indices (as /v1/infer answered them) of receipt requests
    // from..count-1; `leaves`: the tree's leaves, which the buyer checks against its own log.
    return {
      jobId,
      from: p.from,
      count: p.count,
      units: p.units,
      outputRoot: p.buyerTree.root,
      requests: p.requests.map((r) => r.index),
      leaves: encodeBuyerLeaves(p.buyerLeaves),
    };
  }

  /** Collects every stage provider's signed part and submits the receipt on chain. */
  async submit(jobId: string, body: unknown, options: { signal?: AbortSignal } = {}): Promise<SubmittedReceipt> {
    const b = body as { count?: unknown; units?: unknown; outputRoot?: unknown; signature?: unknown } | null;
    if (
      !b ||
      !Number.isInteger(Number(b.count)) ||
      !Number.isInteger(Number(b.units)) ||
      typeof b.outputRoot !== "string" ||
      typeof b.signature !== "string"
    ) {
      throw new JobsProtocolError("receipt body needs count, units, outputRoot and signature");
    }
    const { pc, address } = requireWallet(this.ctx.chain);
    return this.serial(async () => {
      const p = await this.pending(jobId);
      if (
        Number(b.count) !== p.count ||
        Number(b.units) !== p.units ||
        (b.outputRoot as string).toLowerCase() !== p.buyerTree.root.toLowerCase()
      ) {
        throw new JobsReceiptMismatchError(
          `signed (count ${String(b.count)}, units ${String(b.units)}, root ${String(b.outputRoot)}) but the pending receipt is (count ${p.count}, units ${p.units}, root ${p.buyerTree.root})`,
        );
      }
      const signer = await recoverTypedDataAddress({
        ...buyerReceiptTypedData(marketDomain(pc), { jobId: BigInt(jobId), count: p.count, units: p.units, outputRoot: p.buyerTree.root }),
        signature: b.signature as Hex,
      }).catch(() => zeroAddress);
      if (!isAddressEqual(signer, p.sessionKey))
        throw new JobsBadReceiptSignatureError(`receipt signed by ${signer}, not job ${jobId}'s session key ${p.sessionKey}`);
      // Per part: the stage records the gateway expects, and their units (1 per inference, a generation's tokens).
      const groups = new Map<string, ReceiptPart & { expected: StageRecord[]; units: number }>();
      for (const [k, r] of p.requests.entries()) {
        for (const s of r.stages) {
          const key = `${s.stage}/${s.peerId}`;
          let g = groups.get(key);
          if (!g)
            groups.set(
              key,
              (g = {
                stage: s.stage,
                peerId: s.peerId,
                provider: await this.addressOf(s.peerId),
                indices: [],
                leafIndices: [],
                expected: [],
                units: 0,
              }),
            );
          g.indices.push(r.traceIndex);
          g.units += r.units;
          g.leafIndices.push(p.from + k);
          g.expected.push({ index: p.from + k, inputHash: s.inputHash as Hex, outputHash: s.outputHash as Hex });
        }
      }
      const parts = [...groups.values()];
      if (!parts.some((g) => g.provider === address))
        throw new JobsSubmitterNotPartError(`${address} served no stage of requests ${p.from}..${p.count - 1} of job ${jobId}`);
      const signed: StagePart[] = await Promise.all(
        parts.map(async (g) => {
          const part = await requestPart(
            this.ctx,
            g.peerId,
            { jobId, stage: g.stage, buyer: encodeBuyerLeaves(p.buyerLeaves), outputRoot: p.buyerTree.root },
            options,
          );
          const root = buildStageTree(g.expected).root;
          if (part.stage !== g.stage || getAddress(part.provider) !== g.provider || part.root !== root) {
            throw new JobsPartMismatchError(
              `part of ${g.peerId} at stage ${g.stage} (${part.provider}, root ${part.root}) differs from the gateway's records (${g.provider}, root ${root})`,
            );
          }
          // Its units are its own trace's word: they must be what this gateway recorded.
          const terms = await this.ctx.chain.read.market.read.stageTerms([BigInt(jobId), BigInt(g.stage), g.provider]);
          if (part.units !== terms.servedUnits + g.units || part.count !== terms.served + g.indices.length) {
            throw new JobsPartMismatchError(
              `part of ${g.peerId} at stage ${g.stage} claims ${part.count} requests / ${part.units} units, the gateway recorded ${terms.served + g.indices.length} / ${terms.servedUnits + g.units}`,
            );
          }
          return { ...part, provider: g.provider };
        }),
      );
      const newWork = new Map(parts.map((g) => [`${g.stage}/${g.provider}`, { count: g.indices.length, units: g.units }]));
      const records = partRecords(signed, (stage, provider) => {
        const s = signed.find((x) => x.stage === stage && x.provider === provider)!;
        // The part's new requests and their units (1 per inference, a generation's tokens).
        const n = newWork.get(`${stage}/${provider}`)!;
        return { count: s.count - n.count, units: s.units - n.units };
      });
      const sorted = [...signed].sort((x, y) =>
        x.stage !== y.stage ? x.stage - y.stage : BigInt(x.provider) < BigInt(y.provider) ? -1 : 1,
      );
      const { receiptId, receipt } = await submitReceiptTx(pc, {
        jobId: BigInt(jobId),
        count: p.count,
        units: p.units,
        outputRoot: p.buyerTree.root,
        sessionSignature: b.signature as Hex,
        parts: sorted,
      });
      const submitted: SubmittedReceipt = {
        jobId,
        receiptId,
        from: p.from,
        count: p.count,
        outputRoot: p.buyerTree.root,
        buyerTree: p.buyerTree,
        buyerLeaves: p.buyerLeaves,
        routes: p.routes,
        traceIndices: p.requests.map((r) => r.index),
        parts: parts.map(({ stage, peerId, provider, indices, leafIndices }) => ({ stage, peerId, provider, indices, leafIndices })),
        records,
        submittedBlock: receipt.blockNumber,
        txHash: receipt.transactionHash,
        state: "submitted",
        samples: [],
      };
      this.receipts.push(submitted);
      this.save();
      log("submitted receipt %s of job %s: requests %d..%d, %d parts", String(receiptId), jobId, p.from, p.count - 1, parts.length);
      return submitted;
    });
  }

  /** Receipts this gateway submitted for a job, for `GET /v1/jobs/{jobId}`. */
  status(jobId: string) {
    return this.receipts
      .filter((r) => r.jobId === jobId)
      .map((r) => ({
        receiptId: r.receiptId.toString(),
        from: r.from,
        count: r.count,
        outputRoot: r.outputRoot,
        txHash: r.txHash,
        state: r.state,
        samples: r.samples,
        parts: r.records.map((x) => ({ stage: x.stage, provider: x.provider, newCount: x.newCount, root: x.root })),
        ...(r.lastError ? { lastError: r.lastError } : {}),
      }));
  }
}
