// The provider's side of hand-off claims (docs/PROTOCOL.md, "Faults"): when SpotCheck sees stage
// b−1's revealed output differ from stage b's revealed input it opens a claim at boundary b, and
// unless stage b's provider presents the HandOff stage b−1's provider signed over that input
// before the claim's deadline, stage b is faulted. This provider kept that signature in its trace
// row when it worked on the request (pipeline/handoff.ts); here it watches every
// HandOffClaimOpened, and for each one naming it as the downstream presents what it kept, so
// the upstream that contradicted its own signature is faulted instead.
//
// Where the reading stopped and the claims not settled yet are kept in the node's data directory
// (jobs/claims.json, written atomically), so a restarted provider goes on from there instead of
// from the SpotCheck's deployment block (a long chain's history made the first pass slow enough
// to let a claim's deadline pass: the honest downstream was then faulted HandOffUnbacked). Without
// a usable saved position it reads back no further than the longest hand-off claim window of any
// parameter version (claimWindowSeconds): a claim opened before that has expired and cannot be
// answered. node/src/chain/cursor.ts checks a saved position against the chain and re-reads a few
// blocks behind it; answering is idempotent by claim key.
import { logger } from "@libp2p/logger";
import { isAddressEqual } from "viem";
import type { Address, Hex } from "viem";
import { LOG_REORG_MARGIN_BLOCKS, LogCursor } from "../chain/cursor.ts";
import { readJsonState, writeJsonState } from "../util/json-state.ts";
import type { SavedCursor } from "../chain/cursor.ts";
import { waitTx } from "../chain/provider.ts";
import type { ChainContext } from "./context.ts";
import type { JobsContext } from "./context.ts";
import { chainNow, requireWallet } from "./context.ts";

const log = logger("shardmesh:jobs:claims");

/** Most blocks one event query spans (RPC providers cap getLogs ranges). */
export const CLAIM_LOG_RANGE_BLOCKS = 5_000n;
/** Most claims waiting for an answer that is not in yet (the oldest are dropped first). */
export const MAX_PENDING_CLAIMS = 4_096;
/**
 * Parameter versions read one by one for their hand-off windows; past this many the bound is
 * ProtocolParams.longestWindowEver (reveal + challenge + hand-off + every dispute round: longer
 * than any claim window, so still safe, only more blocks read).
 */
export const MAX_PARAM_VERSIONS_READ = 64;

/** What jobs/claims.json holds. */
interface ClaimsState {
  cursor?: SavedCursor;
  pending: { jobId: string; receiptId: string; sampleNo: string; boundary: number }[];
}

interface Claim {
  jobId: bigint;
  receiptId: bigint;
  sampleNo: bigint;
  boundary: number;
}

export interface HandOffClaimsInit {
  /** Serialises the staking wallet's transactions (one nonce sequence). */
  serial: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Where the read position and unsettled claims survive restarts (absent: memory only). */
  stateFile?: string;
}

/**
 * Longest a hand-off claim stays answerable, seconds: the largest `handOff` window of every
 * parameter version (a job keeps the version it opened under), or longestWindowEver when there are
 * more than MAX_PARAM_VERSIONS_READ versions.
 */
export async function claimWindowSeconds(chain: Pick<ChainContext, "read">): Promise<bigint> {
  const params = chain.read.params.read;
  const versions = await params.currentVersion();
  if (versions > MAX_PARAM_VERSIONS_READ) return params.longestWindowEver();
  let longest = 0n;
  for (let v = 1; v <= versions; v++) {
    const w = BigInt((await params.paramsAt([BigInt(v)])).handOff);
    if (w > longest) longest = w;
  }
  return longest;
}

/** Answers the hand-off claims that name this provider as the downstream side. */
export class HandOffClaims {
  private readonly ctx: JobsContext;
  private readonly init: HandOffClaimsInit;
  /** Where HandOffClaimOpened events were read up to (tests read its counters). */
  readonly cursor: LogCursor;
  /** Claims seen and not settled yet (answered, expired, or not ours), by key. */
  private readonly pending = new Map<string, Claim>();
  /** Claims this provider answered. */
  answered = 0;
  /** What was last written to the state file. */
  private lastSaved: string | undefined;
  /** claimWindowSeconds as of a number of parameter versions (versions are only ever added). */
  private window: { versions: number; seconds: bigint } | undefined;

  constructor(ctx: JobsContext, init: HandOffClaimsInit) {
    this.ctx = ctx;
    this.init = init;
    const { chain } = ctx;
    const spotCheck = chain.deployment.contracts.SpotCheck;
    let saved: ClaimsState | undefined;
    try {
      saved = init.stateFile ? readJsonState<ClaimsState>(init.stateFile) : undefined;
    } catch (err) {
      log.error("cannot read %s (%s): reading claims from the claim window's start", init.stateFile, (err as Error).message);
    }
    this.cursor = new LogCursor({
      publicClient: chain.publicClient,
      chainId: chain.chainId,
      contract: spotCheck.address,
      deployBlock: BigInt(spotCheck.blockNumber),
      rangeBlocks: CLAIM_LOG_RANGE_BLOCKS,
      reorgMarginBlocks: LOG_REORG_MARGIN_BLOCKS,
      lookBackSeconds: () => this.claimWindow(),
      saved: saved?.cursor,
    });
    // Claims of another chain or deployment are not kept (answer() would only fail on them).
    if (saved?.cursor && this.cursor.resets.length === 0)
      for (const p of saved.pending ?? [])
        this.add({ jobId: BigInt(p.jobId), receiptId: BigInt(p.receiptId), sampleNo: BigInt(p.sampleNo), boundary: p.boundary });
  }

  /**
   * claimWindowSeconds, read again only when a parameter version was added: every pass asks for
   * it, and reading each version's windows cost one call per version on every pass.
   */
  private async claimWindow(): Promise<bigint> {
    const versions = Number(await this.ctx.chain.read.params.read.currentVersion());
    if (this.window?.versions !== versions) this.window = { versions, seconds: await claimWindowSeconds(this.ctx.chain) };
    return this.window.seconds;
  }

  /** Claims seen and not settled yet. */
  get pendingCount(): number {
    return this.pending.size;
  }

  /** Reads the claims opened since the last pass and answers those naming this provider. */
  async tick(): Promise<void> {
    const { address } = requireWallet(this.ctx.chain);
    const read = this.ctx.chain.read.spotCheck;
    try {
      await this.cursor.pass(async (fromBlock, toBlock) => {
        for (const l of await read.getEvents.HandOffClaimOpened({}, { fromBlock, toBlock }))
          this.add({ jobId: l.args.jobId!, receiptId: l.args.receiptId!, sampleNo: l.args.sampleNo!, boundary: Number(l.args.boundary!) });
      });
    } finally {
      this.save(); // what was read before a failed range is kept too
    }
    for (const [key, c] of this.pending) {
      try {
        if (await this.answer(c, address)) this.pending.delete(key);
      } catch (err) {
        log("claim %s: %s", key, (err as Error).message.split("\n")[0]);
      }
    }
    this.save();
  }

  private add(c: Claim): void {
    const key = `${c.jobId}:${c.receiptId}:${c.sampleNo}:${c.boundary}`;
    if (this.pending.has(key)) return;
    this.pending.set(key, c);
    while (this.pending.size > MAX_PENDING_CLAIMS) this.pending.delete(this.pending.keys().next().value as string);
  }

  private save(): void {
    if (!this.init.stateFile) return;
    const state: ClaimsState = {
      cursor: this.cursor.position(),
      pending: [...this.pending.values()].map((c) => ({
        jobId: c.jobId.toString(),
        receiptId: c.receiptId.toString(),
        sampleNo: c.sampleNo.toString(),
        boundary: c.boundary,
      })),
    };
    const json = JSON.stringify(state);
    if (json === this.lastSaved) return; // a quiet pass writes nothing
    try {
      writeJsonState(this.init.stateFile, state);
      this.lastSaved = json;
    } catch (err) {
      log.error("cannot save %s: %s", this.init.stateFile, (err as Error).message);
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
