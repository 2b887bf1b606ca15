// The provider's side of hand-off claims (docs/PROTOCOL.md, "Faults"): when SpotCheck sees stage
// b−1's revealed output differ from stage b's revealed input it opens a claim at boundary b, and
// unless stage b's provider presents the HandOff stage b−1's provider signed over that input
// before the claim's deadline, stage b is faulted. This provider kept that signature in its trace
// row when it worked on the request (pipeline/handoff.ts); here it watches every
// HandOffClaimOpened, and for each one naming it as the downstream presents what it kept, so
// the upstream that contradicted its own signature is faulted instead.
import { logger } from "@libp2p/logger";
import { isAddressEqual } from "viem";
import type { Address, Hex } from "viem";
import { waitTx } from "../chain/provider.ts";
import type { JobsContext } from "./context.ts";
import { chainNow, requireWallet } from "./context.ts";

const log = logger("shardmesh:jobs:claims");

/** Most blocks one event query spans (RPC providers cap getLogs ranges). */
export const CLAIM_LOG_RANGE_BLOCKS = 5_000n;
/** Most claims waiting for an answer that is not in yet (the oldest are dropped first). */
export const MAX_PENDING_CLAIMS = 4_096;

interface Claim {
  jobId: bigint;
  receiptId: bigint;
  sampleNo: bigint;
  boundary: number;
}

export interface HandOffClaimsInit {
  /** Serialises the staking wallet's transactions (one nonce sequence). */
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** Answers the hand-off claims that name this provider as the downstream side. */
export class HandOffClaims {
  private readonly ctx: JobsContext;
  private readonly init: HandOffClaimsInit;
  /** Next block whose HandOffClaimOpened events are read. */
  private next: bigint | undefined;
  /** Claims seen and not settled yet (answered, expired, or not ours), by key. */
  private readonly pending = new Map<string, Claim>();
  /** Claims this provider answered. */
  answered = 0;

  constructor(ctx: JobsContext, init: HandOffClaimsInit) {
    this.ctx = ctx;
    this.init = init;
  }

  /** Reads the claims opened since the last pass and answers those naming this provider. */
  async tick(): Promise<void> {
    const { address } = requireWallet(this.ctx.chain);
    const read = this.ctx.chain.read.spotCheck;
    const latest = await this.ctx.chain.publicClient.getBlockNumber();
    let from: bigint = this.next ?? BigInt(this.ctx.chain.deployment.contracts.SpotCheck.blockNumber);
    while (from <= latest) {
      const end: bigint = from + CLAIM_LOG_RANGE_BLOCKS - 1n;
      const to = end < latest ? end : latest;
      const logs = await read.getEvents.HandOffClaimOpened({}, { fromBlock: from, toBlock: to });
      for (const l of logs) {
        const c = { jobId: l.args.jobId!, receiptId: l.args.receiptId!, sampleNo: l.args.sampleNo!, boundary: Number(l.args.boundary!) };
        this.pending.set(`${c.jobId}:${c.receiptId}:${c.sampleNo}:${c.boundary}`, c);
        while (this.pending.size > MAX_PENDING_CLAIMS) this.pending.delete(this.pending.keys().next().value as string);
      }
      from = to + 1n;
      this.next = from;
    }
    for (const [key, c] of this.pending) {
      try {
        if (await this.answer(c, address)) this.pending.delete(key);
      } catch (err) {
        log("claim %s: %s", key, (err as Error).message.split("\n")[0]);
      }
    }
  }

  /** Answers one claim if it names this provider; true once nothing more is to be done for it. */
  private async answer(c: Claim, me: Address): Promise<boolean> {
    const read = this.ctx.chain.read.spotCheck.read;
    const sample = await read.sample([c.jobId, c.receiptId, c.sampleNo]);
    if (sample.resolved || (sample.claimMask & (1 << c.boundary)) === 0) return true;
    const downstream = await read.stageReveal([c.jobId, c.receiptId, c.sampleNo, BigInt(c.boundary)]);
    if (!isAddressEqual(downstream.provider, me)) return true;
    const where = `job ${c.jobId} receipt ${c.receiptId} sample ${c.sampleNo} boundary ${c.boundary}`;
    if ((await chainNow(this.ctx.chain)) > BigInt(sample.claimDeadline)) {
      log.error("hand-off claim of %s expired before it was answered", where);
      return true;
    }
    const row = this.ctx.trace.get(c.jobId.toString(), Number(sample.nonce), c.boundary);
    if (!row?.handOff || row.inputHash !== downstream.inputHash) {
      log.error("hand-off claim of %s: no hand-off kept for the input revealed (%s)", where, downstream.inputHash);
      return true;
    }
    const handOff: Hex = row.handOff;
    const { pc } = requireWallet(this.ctx.chain);
    await this.init.serial(async () => {
      const hash = await pc.contracts.spotCheck.write.presentHandOff([c.jobId, c.receiptId, c.sampleNo, BigInt(c.boundary), handOff], {
        account: pc.wallet.account,
        chain: pc.wallet.chain,
      });
      await waitTx(pc.publicClient, hash, `presentHandOff(${where})`);
    });
    this.answered++;
    log("hand-off claim of %s answered: the upstream signed the input this provider revealed", where);
    return true;
  }
}
