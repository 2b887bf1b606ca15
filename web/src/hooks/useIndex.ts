"use client";
// The embedded indexer as a react-query query: shared by every page, cached across navigation,
// extended incrementally every couple of seconds, persisted in localStorage.
import { useQuery, useQueryClient } from "@tanstack/react-query";
import { usePublicClient } from "wagmi";
import type { Abi, Address } from "viem";
import { emptySnapshot, indexKey, loadSnapshot, saveSnapshot, updateIndex, type IndexSnapshot, type LogSource } from "@/lib/indexer";
import { disputesAbi, jobMarketAbi, modelRegistryAbi, spotCheckAbi, stakingAbi } from "@/lib/contracts";
import { useContracts } from "./useContracts";

const indexAbi = [...jobMarketAbi, ...modelRegistryAbi, ...stakingAbi, ...spotCheckAbi, ...disputesAbi] as Abi;

export function useIndex() {
  const c = useContracts();
  const client = usePublicClient({ chainId: c.chainId });
  const queryClient = useQueryClient();
  const addresses = [c.market, c.registry, c.staking, c.spotCheck, c.disputes].filter(Boolean) as Address[];
  const key = c.chainId ? indexKey(c.chainId, addresses) : "none";
  return useQuery({
    queryKey: ["shardmesh-index", key],
    enabled: Boolean(client && c.ready),
    refetchInterval: 2_000,
    staleTime: 1_000,
    retry: 1,
    queryFn: async ({ signal }): Promise<IndexSnapshot> => {
      if (!client) throw new Error("no chain client");
      const storage = typeof window === "undefined" ? undefined : window.localStorage;
      const previous =
        queryClient.getQueryData<IndexSnapshot>(["shardmesh-index", key]) ?? loadSnapshot(storage, key) ?? emptySnapshot(key, c.startBlock);
      const source: LogSource = {
        getBlockNumber: () => client.getBlockNumber({ cacheTime: 0 }),
        getLogs: (args) => client.getLogs(args),
        getBlock: (args) => client.getBlock(args),
      };
      const next = await updateIndex(source, indexAbi, addresses, previous, { signal });
      // Persist off the critical path: serialising thousands of events must not delay the first render.
      if (next !== previous) setTimeout(() => saveSnapshot(storage, next), 0);
      return next;
    },
  });
}
