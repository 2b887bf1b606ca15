// Where an event watcher stopped reading the chain, kept across restarts (docs/PROTOCOL.md,
// "Watchers"). A watcher reads its events in ranges of at most `rangeBlocks` from a start block to
// the latest block, then remembers the last block read and its hash. On the next pass (or after a
// restart, from the file it saved) it goes on from there, `reorgMarginBlocks` back (the events it
// handles are idempotent by key, so reading a few blocks twice is harmless and covers a reorg that
// raced a read). A saved position the chain does not have — past the latest block (a fresh dev
// chain), a different hash at that height (another chain, or a reorg deeper than the margin), or
// another chain id or contract — is dropped, never trusted to skip events.
//
// Without a usable position the watcher starts at the contract's deployment block, or, when it
// says how far back its events can still matter (`lookBackSeconds`: e.g. a hand-off claim can only
// be answered within the longest claim window), at the first block whose timestamp is within that
// many seconds of the latest block's: found by bisection over block timestamps (chain data, no
// guessed block time; ⌈log₂ blocks⌉ getBlock calls). The same bound cuts a saved position that is
// older than it (a node off for a week does not re-read the week).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { logger } from "@libp2p/logger";
import { isAddressEqual } from "viem";
import type { Address, Hex, PublicClient } from "viem";

const log = logger("shardmesh:chain:cursor");

/** Blocks re-read behind the saved position on every pass (events are idempotent by key). */
export const LOG_REORG_MARGIN_BLOCKS = 8n;

/** A watcher's position as saved: the last block fully read and its hash. */
export interface SavedCursor {
  chainId: number;
  /** The contract whose events are read (a new deployment never resumes another's position). */
  contract: Address;
  /** Last block read (inclusive), decimal. */
  block: string;
  hash: Hex;
}

export interface LogCursorInit {
  publicClient: Pick<PublicClient, "getBlock">;
  chainId: number;
  contract: Address;
  /** The contract's deployment block: nothing is read before it. */
  deployBlock: bigint;
  /** Most blocks one getLogs call spans (RPC providers cap ranges). */
  rangeBlocks: bigint;
  reorgMarginBlocks?: bigint;
  /** How far back (seconds before the latest block) events can still matter; absent: all the way. */
  lookBackSeconds?: () => Promise<bigint>;
  /** The position a previous run saved. */
  saved?: SavedCursor;
}

/** Why a saved position was not used. */
export type CursorReset = "none" | "other-deployment" | "ahead-of-chain" | "hash-mismatch";

/** Reads a contract's events from where the last pass (or run) stopped; see the file comment. */
export class LogCursor {
  private readonly init: LogCursorInit;
  /** Last block read and its hash (undefined: nothing read yet, or the saved position was dropped). */
  private last: { block: bigint; hash: Hex } | undefined;
  /** getLogs ranges read since this cursor was made. */
  rangesRead = 0;
  /** First block read by the latest pass. */
  lastFrom: bigint | undefined;
  /** Saved or live positions dropped because the chain did not have them, by reason. */
  readonly resets: CursorReset[] = [];
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
    this.last = { block: BigInt(s.block), hash: s.hash };
  }

  /** The position to save (undefined until a pass has read something). */
  position(): SavedCursor | undefined {
    if (!this.last) return undefined;
    return { chainId: this.init.chainId, contract: this.init.contract, block: this.last.block.toString(), hash: this.last.hash };
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
    // start() dropped any position past `latest`, so this never moves backwards.
    this.last = { block: latest, hash: head.hash as Hex };
  }

  private async start(latest: bigint, now: bigint): Promise<bigint> {
    const { deployBlock } = this.init;
    const margin = this.init.reorgMarginBlocks ?? LOG_REORG_MARGIN_BLOCKS;
    let usable = this.last;
    if (usable && usable.block > latest) {
      this.drop("ahead-of-chain", `position ${usable.block} is past the latest block ${latest}`);
      usable = undefined;
    }
    let at: { timestamp: bigint } | undefined;
    if (usable) {
      const b = await this.init.publicClient.getBlock({ blockNumber: usable.block });
      if (b.hash !== usable.hash) {
        this.drop("hash-mismatch", `block ${usable.block} is ${b.hash} on chain, ${usable.hash} when it was read`);
        usable = undefined;
      } else at = b;
    }
    if (usable) {
      const resume = usable.block + 1n - margin;
      const from = resume > deployBlock ? resume : deployBlock;
      // A position older than the look-back is cut to it (what lies before cannot matter).
      if (!this.init.lookBackSeconds || at === undefined) return from;
      const since = now - (await this.init.lookBackSeconds());
      if (at.timestamp >= since) return from;
      return this.firstBlockSince(since, from, latest);
    }
    if (!this.init.lookBackSeconds) return deployBlock;
    return this.firstBlockSince(now - (await this.init.lookBackSeconds()), deployBlock, latest);
  }

  private drop(reason: CursorReset, detail: string): void {
    this.resets.push(reason);
    this.last = undefined;
    log.error("event position dropped (%s): %s; reading again from the look-back bound", reason, detail);
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

/** Reads a JSON state file; undefined when it does not exist. */
export function readJsonState<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

/** Writes a JSON state file atomically (temp file + rename: a crash leaves the old or the new). */
export function writeJsonState(file: string, value: unknown): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(
    tmp,
    JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)),
  );
  renameSync(tmp, file);
}
