import { describe, expect, it } from "vitest";
import { encodeAbiParameters, encodeEventTopics, type Abi, type Address, type Hex, type Log } from "viem";
import {
  IndexerRangeError,
  blockTimes,
  decodeLogs,
  deserializeSnapshot,
  emptySnapshot,
  indexKey,
  loadSnapshot,
  saveSnapshot,
  serializeSnapshot,
  updateIndex,
  type LogSource,
} from "@/lib/indexer";
import { jobMarketAbi } from "@/lib/contracts";

const market = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address;
const abi = jobMarketAbi as Abi;

/** A real ABI-encoded ReceiptSettled log, as eth_getLogs returns it. */
export function settledLog(block: number, jobId: bigint, receiptId: bigint, pay: bigint, logIndex = 0): Log {
  const topics = encodeEventTopics({ abi, eventName: "ReceiptSettled", args: { jobId, receiptId, modelId: 1n } } as never) as [
    Hex,
    ...Hex[],
  ];
  const data = encodeAbiParameters(
    [{ type: "uint256" }, { type: "uint256" }, { type: "uint256" }, { type: "uint256" }],
    [pay, pay / 10n, pay / 100n, 0n],
  );
  return {
    address: market,
    topics,
    data,
    blockNumber: BigInt(block),
    logIndex,
    transactionIndex: 0,
    transactionHash: `0x${block.toString(16).padStart(64, "0")}` as Hex,
    blockHash: `0x${"ab".repeat(32)}` as Hex,
    removed: false,
  } as Log;
}

function chain(logs: Log[], head: number, hash = (b: number) => `0x${b.toString(16).padStart(64, "0")}` as Hex) {
  const calls: { from: number; to: number }[] = [];
  const blockReads: number[] = [];
  const source: LogSource = {
    getBlockNumber: async () => BigInt(head),
    getLogs: async ({ fromBlock, toBlock }) => {
      calls.push({ from: Number(fromBlock), to: Number(toBlock) });
      return logs.filter((l) => l.blockNumber! >= fromBlock && l.blockNumber! <= toBlock);
    },
    getBlock: async ({ blockNumber }) => {
      blockReads.push(Number(blockNumber));
      return { timestamp: 1_700_000_000n + blockNumber * 12n, hash: hash(Number(blockNumber)) };
    },
  };
  return { source, calls, blockReads };
}

describe("indexer", () => {
  it("decodes real ABI-encoded logs", () => {
    const [e] = decodeLogs(abi, [settledLog(7, 3n, 0n, 1000n)]);
    expect(e.name).toBe("ReceiptSettled");
    expect(e.args.jobId).toBe(3n);
    expect(e.args.providerPay).toBe(1000n);
    expect(e.args.royalty).toBe(100n);
    expect(e.blockNumber).toBe(7);
  });
  it("fetches in chunks from the start block to the head, then only new blocks", async () => {
    const logs = [settledLog(5, 1n, 0n, 10n), settledLog(25, 1n, 1n, 20n), settledLog(26, 2n, 0n, 30n)];
    const c = chain(logs, 30);
    const key = indexKey(31337, [market]);
    const first = await updateIndex(c.source, abi, [market], emptySnapshot(key, 3), { chunk: 10 });
    expect(c.calls).toEqual([
      { from: 3, to: 12 },
      { from: 13, to: 22 },
      { from: 23, to: 30 },
    ]);
    expect(first.events.map((e) => e.blockNumber)).toEqual([5, 25, 26]);
    expect(first.toBlock).toBe(30);
    expect(first.times[25]).toBe(1_700_000_000 + 25 * 12);

    const c2 = chain([...logs, settledLog(31, 3n, 0n, 40n)], 31);
    const second = await updateIndex(c2.source, abi, [market], first, { chunk: 10 });
    expect(c2.calls).toEqual([{ from: 31, to: 31 }]);
    expect(second.events).toHaveLength(4);
  });
  it("starts over when the chain was restarted (head below the snapshot or a different block hash)", async () => {
    const c = chain([settledLog(2, 1n, 0n, 10n)], 40);
    const snap = await updateIndex(c.source, abi, [market], emptySnapshot("k", 0));
    const restarted = chain([settledLog(2, 9n, 0n, 10n)], 10);
    const again = await updateIndex(restarted.source, abi, [market], snap);
    expect(again.events.map((e) => e.args.jobId)).toEqual([9n]);
    const forked = chain([settledLog(3, 7n, 0n, 10n)], 45, (b) => `0x${(b + 1).toString(16).padStart(64, "0")}` as Hex);
    const refetched = await updateIndex(forked.source, abi, [market], snap);
    expect(refetched.events.map((e) => e.args.jobId)).toEqual([7n]);
  });
  it("rejects a chunk size below one block with a named error", async () => {
    const c = chain([], 5);
    await expect(updateIndex(c.source, abi, [market], emptySnapshot("k", 0), { chunk: 0 })).rejects.toMatchObject({
      name: "IndexerRangeError",
    });
    expect(new IndexerRangeError("x").name).toBe("IndexerRangeError");
  });
  it("samples a bounded number of block timestamps and interpolates the rest", async () => {
    const c = chain([], 10_000);
    const blocks = Array.from({ length: 5_000 }, (_, i) => i * 2);
    const times = await blockTimes(c.source, blocks);
    expect(c.blockReads.length).toBe(24);
    expect(Object.keys(times)).toHaveLength(5_000);
    expect(times[4_000]).toBe(1_700_000_000 + 4_000 * 12); // linear chain time: interpolation is exact
  });
  it("round-trips snapshots with bigints through storage", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const snap = { key: "k", toBlock: 3, events: decodeLogs(abi, [settledLog(3, 2n, 1n, 5n)]), times: { 3: 99 } };
    saveSnapshot(storage, snap);
    expect(loadSnapshot(storage, "k")?.events[0].args.providerPay).toBe(5n);
    expect(loadSnapshot(storage, "other")).toBeUndefined();
    expect(deserializeSnapshot(serializeSnapshot(snap)).events[0].args.jobId).toBe(2n);
  });
});

describe("decodeLogs", () => {
  it("skips logs with unknown topics or undecodable data", () => {
    const good = settledLog(1, 1n, 0n, 7n);
    const unknown = { ...good, topics: [`0x${"11".repeat(32)}`] } as Log;
    const truncated = { ...good, data: "0x01" } as Log;
    const events = decodeLogs(abi, [unknown, good, truncated]);
    expect(events.map((e) => e.args.providerPay)).toEqual([7n]);
  });
});
