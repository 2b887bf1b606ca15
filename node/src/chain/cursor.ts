// Where an event watcher stopped reading the chain, kept across restarts (docs/PROTOCOL.md,
// "Watchers: where event reading resumes"). A watcher reads its events in ranges of at most
// `rangeBlocks` from a start block to the latest block, then remembers the block it read up to
// and that block's hash (and those of its last few passes: RECENT_HEADS_KEPT). The next pass (or
// the next run, from the file the watcher saved) goes on from there, `reorgMarginBlocks` back.
//
// Reorgs and replaced chains: before reading, the newest remembered block's hash is compared with
// the chain's. A reorg that touched any block read changes that hash (every descendant's hash
// changes with it), so a mismatch is never missed; the cursor then goes back to the newest
// remembered block the chain still has (`rewinds`) and reads again from there. A position the
// chain does not have at all — past the latest block (a fresh dev chain), no remembered hash on
// chain (another chain at the same height, a reorg deeper than the heads kept), another chain id
// or contract — is dropped (`resets`), never trusted to skip events.
//
// Without a usable position the watcher starts at the contract's deployment block, or, when it
// says how far back its events can still matter (`lookBackSeconds`: e.g. a hand-off claim can only
// be answered within the longest claim window), at the first block whose timestamp is within that
// many seconds of the latest block's: found by bisection over block timestamps (chain data, no
// guessed block time; ⌈log₂ blocks⌉ getBlock calls). The same bound cuts a saved position that is
// older than it (a node off for a week does not re-read the week).
import { logger } from "@libp2p/logger";
import { isAddressEqual } from "viem";
import type { Address, Hex, PublicClient } from "viem";

const log = logger("shardmesh:chain:cursor");

/** Blocks re-read behind the saved position on every pass by watchers whose events are idempotent. */
export const LOG_REORG_MARGIN_BLOCKS = 8n;
/** Heads of past passes remembered (and saved): a reorg up to that many passes deep rewinds to the
 *  last common one instead of dropping the position. */
export const RECENT_HEADS_KEPT = 16;

/** A block read up to, and its hash then. */
export interface SavedHead {
  /** Decimal. */
  block: string;
  /** Absent in a position saved before hashes were kept: then only "not past the latest block" is checked. */
  hash?: Hex;
}

/** A watcher's position as saved: the block read up to (inclusive) and its hash, and earlier heads. */
export interface SavedCursor extends SavedHead {
  chainId: number;
  /** The contract whose events are read (a new deployment never resumes another's position). */
  contract: Address;
  /** Heads of earlier passes, newest first. */
  earlier?: SavedHead[];
}

export interface LogCursorInit {
  publicClient: Pick<PublicClient, "getBlock">;
  chainId: number;
  contract: Address;
  /** The contract's deployment block: nothing is read before it. */
  deployBlock: bigint;
  /** Most blocks one getLogs call spans (RPC providers cap ranges). */
  rangeBlocks: bigint;
  /** Blocks re-read behind the position on every pass (default 0: only events idempotent by key may
   *  be read twice; a reorg is caught by the hash check either way). */
  reorgMarginBlocks?: bigint;
  /** How far back (seconds before the latest block) events can still matter; absent: all the way. */
  lookBackSeconds?: () => Promise<bigint>;
  /** The position a previous run saved. */
  saved?: SavedCursor;
  /** Called when a position is dropped (whatever the watcher derived from that chain is stale). */
  onReset?: (reason: CursorReset) => void;
}

/** Why a saved position was dropped. */
export type CursorReset = "other-deployment" | "ahead-of-chain" | "hash-mismatch";

interface Head {
  block: bigint;
  hash?: Hex;
}

/** Reads a contract's events from where the last pass (or run) stopped; see the file comment. */
export class LogCursor {
  private readonly init: LogCursorInit;
  /** Heads read up to, newest first (empty: nothing read yet, or the position was dropped). */
  private heads: Head[] = [];
  /** getLogs ranges read since this cursor was made. */
  rangesRead = 0;
  /** First block read by the latest pass. */
  lastFrom: bigint | undefined;
  /** Positions dropped because the chain did not have them, by reason. */
  readonly resets: CursorReset[] = [];
  /** Times the newest head was gone (a reorg) and reading went back to an earlier one. */
  rewinds = 0;
  /** getBlock calls spent looking for the first block within the look-back. */
  blocksProbed = 0;

  constructor(init: LogCursorInit) {
    this.init = init;
    const s = init.saved;
    if (!s) return;
    if (s.chainId !== init.chainId || !isAddressEqual(s.contract, init.contract)) {
      this.resets.push("other-deployment");
      log("saved position is for chain %d contract %s, not this deployment: dropped", s.chainId, s.contract);
      return;
    }
    this.heads = [s, ...(s.earlier ?? [])].slice(0, RECENT_HEADS_KEPT).map((h) => ({ block: BigInt(h.block), hash: h.hash }));
  }

  /** The position to save (undefined until a pass has read something). */
  position(): SavedCursor | undefined {
    const [newest, ...earlier] = this.heads;
    if (!newest) return undefined;
    const head = (h: Head): SavedHead => ({ block: h.block.toString(), hash: h.hash });
    return { chainId: this.init.chainId, contract: this.init.contract, ...head(newest), earlier: earlier.map(head) };
  }

  /** Reads every block from where the last pass stopped (less the margin) to the latest, range by range. */
  async pass(read: (fromBlock: bigint, toBlock: bigint) => Promise<void>): Promise<void> {
    const head = await this.init.publicClient.getBlock({ blockTag: "latest" });
    const latest = head.number;
    let from = await this.start(latest, head.timestamp);
    this.lastFrom = from;
    while (from <= latest) {
      const end = from + this.init.rangeBlocks - 1n;
      const to = end < latest ? end : latest;
      await read(from, to);
      this.rangesRead++;
      from = to + 1n;
    }
    // start() kept only heads the chain has (at or below `latest`).
    const older = this.heads.filter((h) => h.block < latest);
    this.heads = [{ block: latest, hash: head.hash as Hex }, ...older].slice(0, RECENT_HEADS_KEPT);
  }

  private async start(latest: bigint, now: bigint): Promise<bigint> {
    const { deployBlock } = this.init;
    const margin = this.init.reorgMarginBlocks ?? 0n;
    const newest = this.heads[0];
    let usable: (Head & { timestamp: bigint }) | undefined;
    for (const [i, h] of this.heads.entries()) {
      if (h.block > latest) continue;
      const b = await this.init.publicClient.getBlock({ blockNumber: h.block });
      if (h.hash !== undefined && b.hash !== h.hash) continue;
      usable = { ...h, timestamp: b.timestamp };
      this.heads = this.heads.slice(i);
      break;
    }
    if (newest && !usable) {
      const ahead = newest.block > latest;
      this.resets.push(ahead ? "ahead-of-chain" : "hash-mismatch");
      this.heads = [];
      this.init.onReset?.(ahead ? "ahead-of-chain" : "hash-mismatch");
      log.error(
        "event position dropped: %s; reading again from the look-back bound",
        ahead
          ? `block ${newest.block} is past the latest block ${latest}`
          : `no block read up to is on this chain (newest ${newest.block})`,
      );
    } else if (newest && usable && usable.block !== newest.block) {
      this.rewinds++;
      log("reorg: block %d is gone, reading again after block %d", newest.block, usable.block);
    }
    if (usable) {
      const resume = usable.block + 1n - margin;
      const from = resume > deployBlock ? resume : deployBlock;
      // A position older than the look-back is cut to it (what lies before cannot matter).
      if (!this.init.lookBackSeconds) return from;
      const since = now - (await this.init.lookBackSeconds());
      if (usable.timestamp >= since) return from;
      return this.firstBlockSince(since, from, latest);
    }
    if (!this.init.lookBackSeconds) return deployBlock;
    return this.firstBlockSince(now - (await this.init.lookBackSeconds()), deployBlock, latest);
  }

  /** First block in [lo, hi] whose timestamp is at least `since` (hi when none is): bisection. */
  private async firstBlockSince(since: bigint, lo: bigint, hi: bigint): Promise<bigint> {
    while (lo < hi) {
      const mid = lo + (hi - lo) / 2n;
      this.blocksProbed++;
      const b = await this.init.publicClient.getBlock({ blockNumber: mid });
      if (b.timestamp >= since) hi = mid;
      else lo = mid + 1n;
    }
    return lo;
  }
}
