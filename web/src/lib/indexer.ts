// Embedded event indexer (runs in the browser, no server): fetches every log of the ShardMesh
// contracts with eth_getLogs in block-range chunks, decodes them once, keeps them in memory and
// in localStorage keyed by (chain, contract addresses), and afterwards asks only for blocks it
// has not seen. Pages derive their views from this one list with pure reducers (lib/earnings.ts,
// lib/jobs.ts), so 5,000 settlements cost one decode and a few linear passes.
import { decodeEventLog, toEventSelector, type Abi, type AbiEvent, type Address, type Hex, type Log } from "viem";

export interface IndexedEvent {
  name: string;
  address: Address;
  blockNumber: number;
  logIndex: number;
  txHash: Hex;
  args: Record<string, unknown>;
}

export interface IndexSnapshot {
  key: string;
  /** Last block included (inclusive); -1 when nothing was fetched. */
  toBlock: number;
  /** Hash of `toBlock`, to notice a restarted or re-orged chain. */
  toBlockHash?: Hex;
  events: IndexedEvent[];
  /** Block number → unix seconds, for the blocks that carry events (sampled + interpolated). */
  times: Record<number, number>;
}

export interface LogSource {
  getBlockNumber(): Promise<bigint>;
  getLogs(args: { address: Address[]; fromBlock: bigint; toBlock: bigint }): Promise<Log[]>;
  getBlock(args: { blockNumber: bigint }): Promise<{ timestamp: bigint; hash: Hex | null }>;
}

export class IndexerRangeError extends Error {
  override name = "IndexerRangeError";
}

export const DEFAULT_CHUNK = 50_000;
/** At most this many block timestamps are fetched per update; the rest are interpolated. */
export const MAX_TIMESTAMP_SAMPLES = 24;

export function indexKey(chainId: number, addresses: readonly Address[]): string {
  return `shardmesh:index:v1:${chainId}:${[...addresses]
    .map((a) => a.toLowerCase())
    .sort()
    .join(",")}`;
}

export function emptySnapshot(key: string, startBlock: number): IndexSnapshot {
  return { key, toBlock: startBlock - 1, events: [], times: {} };
}

const selectorMaps = new WeakMap<Abi, Map<Hex, AbiEvent>>();

/** topic0 → event, built once per ABI (viem's parseEventLogs hashes every event signature per log). */
function eventsBySelector(abi: Abi): Map<Hex, AbiEvent> {
  let map = selectorMaps.get(abi);
  if (!map) {
    map = new Map(abi.filter((x): x is AbiEvent => x.type === "event").map((e) => [toEventSelector(e), e]));
    selectorMaps.set(abi, map);
  }
  return map;
}

/** Decodes raw logs into compact events (unknown topics and undecodable logs are skipped). */
export function decodeLogs(abi: Abi, logs: Log[]): IndexedEvent[] {
  const events = eventsBySelector(abi);
  const out: IndexedEvent[] = [];
  for (const l of logs) {
    const event = l.topics[0] ? events.get(l.topics[0]) : undefined;
    if (!event) continue;
    try {
      const d = decodeEventLog({ abi: [event], topics: l.topics as [Hex, ...Hex[]], data: l.data, strict: true });
      out.push({
        name: d.eventName as string,
        address: l.address,
        blockNumber: Number(l.blockNumber),
        logIndex: Number(l.logIndex),
        txHash: l.transactionHash as Hex,
        args: d.args as unknown as Record<string, unknown>,
      });
    } catch {
      // A log whose topics match but whose data does not decode is not ours (same signature, other ABI).
    }
  }
  return out;
}

/**
 * Timestamps for the given blocks: fetches up to MAX_TIMESTAMP_SAMPLES evenly spread blocks
 * and interpolates linearly between them (exact when few blocks carry events).
 */
export async function blockTimes(
  source: Pick<LogSource, "getBlock">,
  blocks: number[],
  known: Record<number, number> = {},
): Promise<Record<number, number>> {
  const unique = [...new Set(blocks)].sort((a, b) => a - b);
  const out: Record<number, number> = {};
  const missing = unique.filter((b) => known[b] === undefined);
  if (missing.length === 0) return out;
  const sampleIdx = new Set<number>();
  if (missing.length <= MAX_TIMESTAMP_SAMPLES) for (let i = 0; i < missing.length; i++) sampleIdx.add(i);
  else for (let i = 0; i < MAX_TIMESTAMP_SAMPLES; i++) sampleIdx.add(Math.round((i * (missing.length - 1)) / (MAX_TIMESTAMP_SAMPLES - 1)));
  const samples = await Promise.all(
    [...sampleIdx]
      .sort((a, b) => a - b)
      .map(async (i) => {
        const b = missing[i];
        const block = await source.getBlock({ blockNumber: BigInt(b) });
        return [b, Number(block.timestamp)] as const;
      }),
  );
  for (const [b, t] of samples) out[b] = t;
  let s = 0;
  for (const b of missing) {
    if (out[b] !== undefined) continue;
    while (s + 1 < samples.length && samples[s + 1][0] < b) s++;
    const [b0, t0] = samples[s];
    const [b1, t1] = samples[Math.min(s + 1, samples.length - 1)];
    out[b] = b1 === b0 ? t0 : Math.round(t0 + ((t1 - t0) * (b - b0)) / (b1 - b0));
  }
  return out;
}

/** Brings a snapshot up to the chain head. Returns a new snapshot (the input is not mutated). */
export async function updateIndex(
  source: LogSource,
  abi: Abi,
  addresses: Address[],
  snapshot: IndexSnapshot,
  opts: { chunk?: number; signal?: AbortSignal } = {},
): Promise<IndexSnapshot> {
  const head = Number(await source.getBlockNumber());
  let base = snapshot;
  if (base.toBlock > head)
    base = emptySnapshot(base.key, 0); // the chain was restarted: start over
  else if (base.toBlock >= 0 && base.toBlockHash) {
    const block = await source.getBlock({ blockNumber: BigInt(base.toBlock) });
    if (block.hash !== base.toBlockHash) base = emptySnapshot(base.key, 0);
  }
  if (head <= base.toBlock) return base;
  const chunk = opts.chunk ?? DEFAULT_CHUNK;
  if (chunk < 1) throw new IndexerRangeError(`chunk must be at least 1 block (got ${chunk})`);
  const fresh: IndexedEvent[] = [];
  for (let from = base.toBlock + 1; from <= head; from += chunk) {
    opts.signal?.throwIfAborted();
    const to = Math.min(head, from + chunk - 1);
    const logs = await source.getLogs({ address: addresses, fromBlock: BigInt(from), toBlock: BigInt(to) });
    fresh.push(...decodeLogs(abi, logs));
  }
  fresh.sort((a, b) => a.blockNumber - b.blockNumber || a.logIndex - b.logIndex);
  const headBlock = await source.getBlock({ blockNumber: BigInt(head) });
  const times = {
    ...base.times,
    ...(await blockTimes(
      source,
      fresh.map((e) => e.blockNumber),
      base.times,
    )),
  };
  return { key: base.key, toBlock: head, toBlockHash: headBlock.hash ?? undefined, events: base.events.concat(fresh), times };
}

// ── persistence: bigint-safe JSON in localStorage ────────────────────────────────────────────
const BIG = "__big:";

export function serializeSnapshot(s: IndexSnapshot): string {
  return JSON.stringify(s, (_k, v: unknown) => (typeof v === "bigint" ? BIG + v.toString() : v));
}

export function deserializeSnapshot(text: string): IndexSnapshot {
  return JSON.parse(text, (_k, v: unknown) =>
    typeof v === "string" && v.startsWith(BIG) ? BigInt(v.slice(BIG.length)) : v,
  ) as IndexSnapshot;
}

export function loadSnapshot(storage: Pick<Storage, "getItem"> | undefined, key: string): IndexSnapshot | undefined {
  try {
    const text = storage?.getItem(key);
    if (!text) return undefined;
    const s = deserializeSnapshot(text);
    return s.key === key && Array.isArray(s.events) ? s : undefined;
  } catch {
    return undefined;
  }
}

export function saveSnapshot(storage: Pick<Storage, "setItem"> | undefined, s: IndexSnapshot): void {
  try {
    storage?.setItem(s.key, serializeSnapshot(s));
  } catch {
    // Quota exceeded: the index simply is not cached; it is rebuilt on the next load.
  }
}
