// A public client on the contract tests' Hardhat network behind a cap on getLogs ranges, as hosted
// RPC providers have (they refuse a range over the cap): tests that a watcher or lookup reads no
// range from the deployment block to the latest.
import { createPublicClient, custom, hexToBigInt } from "viem";
import type { Hex, PublicClient } from "viem";
import { conn } from "../../contracts/helpers.ts";

/** Most blocks one getLogs call may span on the capped RPC. */
export const GETLOGS_CAP_BLOCKS = 1_000n;

export class RangeTooLargeError extends Error {
  override name = "RangeTooLargeError";
}

/** A client whose getLogs calls over more than GETLOGS_CAP_BLOCKS fail; `ranges` records every span asked for. */
export function cappedClient(): { client: PublicClient; ranges: bigint[] } {
  const ranges: bigint[] = [];
  const client = createPublicClient({
    transport: custom({
      async request({ method, params }: { method: string; params?: unknown }) {
        if (method === "eth_getLogs") {
          const [filter] = params as [{ fromBlock?: Hex; toBlock?: Hex | "latest" }];
          const latest = hexToBigInt((await conn.provider.request({ method: "eth_blockNumber" })) as Hex);
          const from = filter.fromBlock ? hexToBigInt(filter.fromBlock) : latest;
          const to = filter.toBlock && filter.toBlock !== "latest" ? hexToBigInt(filter.toBlock) : latest;
          ranges.push(to - from + 1n);
          if (to - from + 1n > GETLOGS_CAP_BLOCKS) throw new RangeTooLargeError(`getLogs over ${to - from + 1n} blocks`);
        }
        return conn.provider.request({ method, params } as never);
      },
    }),
  }) as unknown as PublicClient;
  return { client, ranges };
}
