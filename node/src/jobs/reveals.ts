// A provider reveals its own sampled stage leaves (docs/PROTOCOL.md, "Faults": a sampled stage
// leaf not revealed by the deadline faults that stage's provider). The gateway that submitted the
// receipt reveals every leaf it can, but a gateway that goes away, or withholds one provider's
// leaf on purpose (to have an honest neighbour faulted), must not be able to get that provider
// slashed: each provider keeps the parts it signed (TraceStore.keepSignedPart) and, once half the
// reveal window has passed, reveals its own leaves of every sample whose buyer leaf is on chain and
// whose stage leaf is not. (A buyer leaf never revealed faults the submitter, not the providers.)
// A part's receipt is found by reading the job's receipts on chain (outputRoot and submittedBlock),
// newest first and each once per run, and its part records from that one block's events: no event
// scan from the JobMarket's deployment block (one getLogs call over the whole chain, which RPC
// providers that cap ranges refuse, and which every restart repeated).
import { logger } from "@libp2p/logger";
import { getAddress, isAddressEqual } from "viem";
import type { Hex } from "viem";
import { drawSamples, sampledIndices, waitTx } from "../chain/provider.ts";
import { decodeBuyerLeaves } from "../receipts/leaves.ts";
import { partIndex } from "../receipts/parts.ts";
import type { PartRecord } from "../receipts/parts.ts";
import type { SignedPartRecord } from "../trace/store.ts";
import { MAX_PART_INDICES } from "./constants.ts";
import { chainNow, requireWallet } from "./context.ts";
import type { JobsContext } from "./context.ts";
import { revealLeaf } from "./parts.ts";

const log = logger("shardmesh:jobs:reveals");

/** A signed part whose receipt is not on chain after this long is forgotten (it was never submitted). */
export const SIGNED_PART_TTL_MS = 24 * 60 * 60 * 1000;
/** How often the signed parts are looked at (reveal windows are minutes to days long). */
export const OWN_REVEALS_POLL_MS = 5_000;
/** Receipts of a job read per signed part and pass while looking for the part's receipt. */
export const MAX_RECEIPTS_READ_PER_PASS = 64;

export interface OwnRevealsInit {
  /** Serialises the staking wallet's transactions (one nonce sequence). */
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** Reveals this provider's own sampled leaves when nobody else has by half the reveal window. */
export class OwnReveals {
  private readonly ctx: JobsContext;
  private readonly init: OwnRevealsInit;
  /** Leaves this provider revealed itself. */
  revealed = 0;
  private lastPass = 0;
  /** Receipt ids found on chain, by signed part (job, stage, outputRoot): the search runs once. */
  private readonly receiptIds = new Map<string, { receiptId: bigint; block: bigint }>();
  /** Receipt ids [lo, hi) of a part's job already read without a match, by signed part. */
  private readonly searched = new Map<string, { lo: bigint; hi: bigint }>();
  /** Receipts read while looking for parts' receipts (tests read it). */
  receiptsRead = 0;

  constructor(ctx: JobsContext, init: OwnRevealsInit) {
    this.ctx = ctx;
    this.init = init;
  }

  async tick(): Promise<void> {
    if (Date.now() - this.lastPass < OWN_REVEALS_POLL_MS) return;
    this.lastPass = Date.now();
    const parts = this.ctx.trace.signedParts();
    const keys = new Set(parts.map(partKey));
    for (const k of this.receiptIds.keys()) if (!keys.has(k)) this.receiptIds.delete(k);
    for (const k of this.searched.keys()) if (!keys.has(k)) this.searched.delete(k);
    for (const p of parts) {
      try {
        if (await this.advance(p)) {
          this.ctx.trace.dropSignedPart(p.jobId, p.stage, p.outputRoot);
          this.receiptIds.delete(partKey(p));
          this.searched.delete(partKey(p));
        }
      } catch (err) {
        log("part of job %s stage %d (%s): %s", p.jobId, p.stage, p.outputRoot, (err as Error).message.split("\n")[0]);
      }
    }
  }

  /** One signed part's receipt: true once nothing more is to be done for it. */
  private async advance(p: SignedPartRecord): Promise<boolean> {
    const { pc, address } = requireWallet(this.ctx.chain);
    const read = this.ctx.chain.read;
    const jobId = BigInt(p.jobId);
    const found = this.receiptIds.get(partKey(p)) ?? (await this.findReceipt(p));
    if (!found) return Date.now() - p.createdAt > SIGNED_PART_TTL_MS;
    const { receiptId } = found;
    const check = await read.spotCheck.read.receiptCheck([jobId, receiptId]);
    if (check.seededAt === 0) {
      // Anyone may fix the seed once the block after the anchor is mined; honest parties do.
      const anchor = check.anchorBlock === 0n ? found.block : check.anchorBlock;
      if ((await this.ctx.chain.publicClient.getBlockNumber()) >= anchor + 2n)
        await this.init.serial(() => drawSamples(pc, jobId, receiptId));
      return false;
    }
    const [revealEnds] = await read.spotCheck.read.deadlines([jobId, receiptId]);
    const now = await chainNow(this.ctx.chain);
    if (now > revealEnds) return true;
    // The gateway reveals first (one transaction per leaf, paid once); this provider steps in for
    // the second half of the window.
    if (now < (BigInt(check.seededAt) + revealEnds) / 2n) return false;
    const leaves = decodeBuyerLeaves(JSON.parse(p.buyer), MAX_PART_INDICES);
    let done = true;
    let records: PartRecord[] | undefined;
    for (const [sampleNo, index] of (await sampledIndices(read, jobId, receiptId)).entries()) {
      const leaf = leaves.find((l) => BigInt(l.index) === index);
      if (!leaf || !isAddressEqual(leaf.route[p.stage] ?? "0x0000000000000000000000000000000000000000", address)) continue;
      const sample = await read.spotCheck.read.sample([jobId, receiptId, BigInt(sampleNo)]);
      if (sample.resolved || sample.stageMask & (1 << p.stage)) continue;
      if (!sample.buyerRevealed) {
        done = false;
        continue;
      }
      records ??= await this.partRecords(jobId, receiptId, found.block);
      const { leaf: stageLeaf, proof } = revealLeaf(
        this.ctx,
        { op: "reveal", jobId: p.jobId, stage: p.stage, buyer: JSON.parse(p.buyer), index: Number(index) },
        p.requester,
      );
      const part = partIndex(records, p.stage, address);
      await this.init.serial(async () => {
        const hash = await pc.contracts.spotCheck.write.revealStageLeaf(
          [jobId, receiptId, BigInt(sampleNo), BigInt(part), stageLeaf, proof as Hex[], leaf.route, records!],
          { account: pc.wallet.account, chain: pc.wallet.chain },
        );
        await waitTx(
          pc.publicClient,
          hash,
          `revealStageLeaf(job ${jobId}, receipt ${receiptId}, sample ${sampleNo}, stage ${p.stage}) by its provider`,
        );
      });
      this.revealed++;
      log("job %s receipt %s sample %d: revealed this provider's stage %d leaf itself", p.jobId, receiptId, sampleNo, p.stage);
    }
    return done;
  }

  /**
   * The receipt on chain whose outputRoot is the part's: the job's receipts read newest first (a
   * part is signed just before its receipt is submitted), each once per run, at most
   * MAX_RECEIPTS_READ_PER_PASS a pass.
   */
  private async findReceipt(p: SignedPartRecord): Promise<{ receiptId: bigint; block: bigint } | undefined> {
    const market = this.ctx.chain.read.market.read;
    const jobId = BigInt(p.jobId);
    const count = BigInt((await market.job([jobId])).receiptCount);
    const done = this.searched.get(partKey(p)) ?? { lo: count, hi: count };
    this.searched.set(partKey(p), done);
    let budget = MAX_RECEIPTS_READ_PER_PASS;
    const matches = async (id: bigint): Promise<{ receiptId: bigint; block: bigint } | undefined> => {
      budget--;
      this.receiptsRead++;
      const r = await market.receipt([jobId, id]);
      if (r.outputRoot.toLowerCase() !== p.outputRoot.toLowerCase()) return undefined;
      const found = { receiptId: id, block: BigInt(r.submittedBlock) };
      this.receiptIds.set(partKey(p), found);
      return found;
    };
    // Receipts submitted since the last pass, newest first; then on down the older ones.
    for (let id = count - 1n; id >= done.hi && budget > 0; id--) {
      const hit = await matches(id);
      if (hit) return hit;
      if (id === done.hi) done.hi = count;
    }
    if (done.hi < count) return undefined; // new receipts left for the next pass
    while (done.lo > 0n && budget > 0) {
      const hit = await matches(done.lo - 1n);
      if (hit) return hit;
      done.lo--;
    }
    return undefined;
  }

  /** The receipt's parts as the chain recorded them (the order its parts hash covers): events of
   *  the one block the receipt was submitted in. */
  private async partRecords(jobId: bigint, receiptId: bigint, block: bigint): Promise<PartRecord[]> {
    const logs = await this.ctx.chain.read.market.getEvents.ReceiptPartRecorded({ jobId, receiptId }, { fromBlock: block, toBlock: block });
    return logs.map((l) => ({
      stage: Number(l.args.stage),
      provider: getAddress(l.args.provider!),
      newCount: Number(l.args.newCount),
      newUnits: Number(l.args.newUnits),
      root: l.args.root!,
    }));
  }
}

const partKey = (p: Pick<SignedPartRecord, "jobId" | "stage" | "outputRoot">): string =>
  `${p.jobId}#${p.stage}#${p.outputRoot.toLowerCase()}`;
