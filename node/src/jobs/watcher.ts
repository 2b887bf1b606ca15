// Drives submitted receipts to settlement and withdraws this provider's credits:
//   submitted → (once the seed block is mined) drawSamples → sampled → every sampled buyer leaf
//   revealed from the gateway's tree, every stage leaf fetched from its provider over
//   /shardmesh/receipt/1.0.0 and revealed (a stage that cannot be revealed does not hold back the
//   others) → revealed → after the reveal window, reportMissing for samples still unresolved
//   (faults only the parties that did not reveal) → once SpotCheck says the receipt is clear
//   (windows over, every sample resolved, no open dispute) settle → settled.
// Independently, as a stage provider, it reveals its own sampled leaves when the gateway has not
// by half the reveal window (./reveals.ts), answers the hand-off claims that name it as the
// downstream side with the upstream's HandOff it kept (./claims.ts), and withdraws its credits.
import { logger } from "@libp2p/logger";
import {
  drawSamples,
  reportMissing as reportMissingTx,
  revealBuyerLeaf,
  sampledIndices,
  settle,
  waitTx,
  withdrawCredits,
} from "../chain/provider.ts";
import { partIndex } from "../receipts/parts.ts";
import { encodeBuyerLeaves } from "../receipts/leaves.ts";
import { chainNow, requireWallet } from "./context.ts";
import type { JobsContext } from "./context.ts";
import type { ReceiptLedger, SubmittedReceipt } from "./ledger.ts";
import { requestReveal } from "./parts.ts";
import { JOBS_POLL_MS } from "./constants.ts";
import { JobsPartMismatchError } from "./errors.ts";
import { HandOffClaims } from "./claims.ts";
import { OwnReveals } from "./reveals.ts";

const log = logger("shardmesh:jobs:watcher");

export interface WatcherInit {
  pollMs?: number;
  /** Withdraw this node's credits as soon as they appear (default true). */
  withdraw?: boolean;
  onWithdraw?: (amount: bigint) => void;
  /** Where the hand-off claims watcher keeps its read position and unsettled claims (./claims.ts). */
  claimsStateFile?: string;
}

export class JobWatcher {
  private readonly ctx: JobsContext;
  private readonly ledger: ReceiptLedger;
  private readonly init: WatcherInit;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private readonly ctrl = new AbortController();
  /** Total withdrawn by this node since start (token base units). */
  withdrawn = 0n;
  /** Hand-off claims naming this provider as the downstream side, answered before their deadline. */
  readonly claims: HandOffClaims;
  /** This provider's own sampled leaves, revealed when the gateway has not. */
  readonly reveals: OwnReveals;

  constructor(ctx: JobsContext, ledger: ReceiptLedger, init: WatcherInit = {}) {
    this.ctx = ctx;
    this.ledger = ledger;
    this.init = init;
    this.claims = new HandOffClaims(ctx, { serial: (fn) => ledger.serial(fn), stateFile: init.claimsStateFile });
    this.reveals = new OwnReveals(ctx, { serial: (fn) => ledger.serial(fn) });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async (): Promise<void> => {
      if (!this.running) return;
      await this.tick().catch((err: Error) => log("tick failed: %s", err.message));
      if (this.running) this.timer = setTimeout(() => void loop(), this.init.pollMs ?? JOBS_POLL_MS);
    };
    this.timer = setTimeout(() => void loop(), 0);
  }

  stop(): void {
    this.running = false;
    this.ctrl.abort(new Error("watcher stopped"));
    if (this.timer) clearTimeout(this.timer);
  }

  /** One pass over every unsettled receipt, then the credits. */
  async tick(): Promise<void> {
    for (const r of this.ledger.receipts) {
      if (r.state === "settled" || !this.running) continue;
      const was = r.state;
      try {
        await this.advance(r);
        delete r.lastError;
      } catch (err) {
        r.lastError = `${(err as Error).name}: ${(err as Error).message.split("\n")[0]}`;
        log("receipt %s of job %s (%s): %s", String(r.receiptId), r.jobId, r.state, r.lastError);
      }
      if (r.state !== was) this.ledger.save();
    }
    if (this.ctx.chain.pc && this.running) await this.reveals.tick().catch((err: Error) => log("own reveals: %s", err.message));
    if (this.ctx.chain.pc && this.running) await this.claims.tick().catch((err: Error) => log("hand-off claims: %s", err.message));
    if ((this.init.withdraw ?? true) && this.ctx.chain.pc && this.running) {
      const { pc, address } = requireWallet(this.ctx.chain);
      const credit = await pc.contracts.market.read.credits([address]);
      if (credit > 0n) {
        const amount = await this.ledger.serial(() => withdrawCredits(pc));
        this.withdrawn += amount;
        log("withdrew %s", amount);
        this.init.onWithdraw?.(amount);
      }
    }
  }

  private async advance(r: SubmittedReceipt): Promise<void> {
    const { pc } = requireWallet(this.ctx.chain);
    const jobId = BigInt(r.jobId);
    if (r.state === "submitted") {
      const check = await pc.contracts.spotCheck.read.receiptCheck([jobId, r.receiptId]);
      if (check.seededAt === 0) {
        // The seed is the hash of the block after the anchor (submission, or a re-anchor).
        const anchor = check.anchorBlock === 0n ? r.submittedBlock : check.anchorBlock;
        if ((await this.ctx.chain.publicClient.getBlockNumber()) < anchor + 2n) return;
        const fixed = await this.ledger.serial(() => drawSamples(pc, jobId, r.receiptId));
        if (!fixed) {
          log("receipt %s of job %s: seed block gone, re-anchored", String(r.receiptId), r.jobId);
          return;
        }
      }
      r.samples = (await sampledIndices(pc.contracts, jobId, r.receiptId)).map(Number);
      r.state = "sampled";
      log("receipt %s of job %s: samples %o", String(r.receiptId), r.jobId, r.samples);
    }
    if (r.state === "sampled") {
      // Every stage that can be revealed is, even when another refuses (each party answers for
      // its own leaf); what stays missing is reported once the reveal window is over.
      let complete = true;
      for (const [sampleNo, index] of r.samples.entries()) complete = (await this.reveal(r, sampleNo, index)) && complete;
      const [revealEnds] = await pc.contracts.spotCheck.read.deadlines([jobId, r.receiptId]);
      if (complete || (await chainNow(this.ctx.chain)) > revealEnds) r.state = "revealed";
    }
    if (r.state === "revealed") {
      const receipt = await pc.contracts.market.read.receipt([jobId, r.receiptId]);
      if (receipt.status === 2) {
        r.state = "settled"; // someone else settled it
        return;
      }
      await this.reportMissing(r);
      const [clear] = await pc.contracts.spotCheck.read.settlementCheck([jobId, r.receiptId]);
      if (!clear) return;
      await this.ledger.serial(() => settle(pc, jobId, r.receiptId, r.records));
      r.state = "settled";
      log("receipt %s of job %s settled", String(r.receiptId), r.jobId);
    }
  }

  /** After the reveal window (and any open hand-off claim's deadline), reports each unresolved
   *  sample so the parties that did not do their part are faulted and the receipt can settle. */
  private async reportMissing(r: SubmittedReceipt): Promise<void> {
    const { pc } = requireWallet(this.ctx.chain);
    const jobId = BigInt(r.jobId);
    const now = await chainNow(this.ctx.chain);
    const [revealEnds] = await pc.contracts.spotCheck.read.deadlines([jobId, r.receiptId]);
    if (now <= revealEnds) return;
    for (const [sampleNo, index] of r.samples.entries()) {
      const sample = await pc.contracts.spotCheck.read.sample([jobId, r.receiptId, BigInt(sampleNo)]);
      if (sample.resolved || (sample.claimMask !== 0 && now <= BigInt(sample.claimDeadline))) continue;
      const route = r.routes.get(index)!;
      await this.ledger.serial(() => reportMissingTx(pc, { jobId, receiptId: r.receiptId, sampleNo, route }));
      log(
        "receipt %s of job %s: sample %d reported (missing leaves or unanswered hand-off claims)",
        String(r.receiptId),
        r.jobId,
        sampleNo,
      );
    }
  }

  /** Reveals the buyer leaf and every stage leaf of one sample that are not on chain yet; true when
   *  the sample is complete (resolved or every leaf revealed). A stage that cannot be revealed now
   *  (its provider unreachable or refusing) does not stop the others. */
  private async reveal(r: SubmittedReceipt, sampleNo: number, index: number): Promise<boolean> {
    const { pc } = requireWallet(this.ctx.chain);
    const jobId = BigInt(r.jobId);
    const route = r.routes.get(index)!;
    const sample = await pc.contracts.spotCheck.read.sample([jobId, r.receiptId, BigInt(sampleNo)]);
    if (sample.resolved) return true;
    if (!sample.buyerRevealed) {
      await this.ledger.serial(() =>
        revealBuyerLeaf(pc, { jobId, receiptId: r.receiptId, sampleNo, tree: r.buyerTree, index, route, records: r.records }),
      );
    }
    let complete = true;
    for (let stage = 0; stage < route.length; stage++) {
      if (sample.stageMask & (1 << stage)) continue;
      try {
        const part = r.parts.find((p) => p.stage === stage && p.provider === route[stage] && p.leafIndices.includes(index));
        if (!part) throw new JobsPartMismatchError(`no part holds request ${index} at stage ${stage}`);
        const { leaf, proof } = await requestReveal(
          this.ctx,
          part.peerId,
          { jobId: r.jobId, stage, buyer: encodeBuyerLeaves(r.buyerLeaves), index },
          { signal: this.ctrl.signal },
        );
        await this.ledger.serial(async () => {
          const hash = await pc.contracts.spotCheck.write.revealStageLeaf(
            [jobId, r.receiptId, BigInt(sampleNo), BigInt(partIndex(r.records, stage, part.provider)), leaf, proof, route, r.records],
            { account: pc.wallet.account, chain: pc.wallet.chain },
          );
          await waitTx(pc.publicClient, hash, `revealStageLeaf(job ${jobId}, receipt ${r.receiptId}, sample ${sampleNo}, stage ${stage})`);
        });
      } catch (err) {
        complete = false;
        log(
          "receipt %s of job %s sample %d: stage %d not revealed yet: %s",
          String(r.receiptId),
          r.jobId,
          sampleNo,
          stage,
          (err as Error).message,
        );
      }
    }
    return complete;
  }
}
