"use client";
import { useEffect, useState } from "react";
import { useBlock } from "wagmi";
import { useContracts } from "./useContracts";

/** "Now" on the chain: the latest block's timestamp advanced by wall-clock time since it was read. */
export function useChainNow(): number {
  const c = useContracts();
  const block = useBlock({ chainId: c.chainId, watch: true, query: { enabled: c.ready } });
  const [tick, setTick] = useState(() => Date.now());
  const [readAt, setReadAt] = useState(() => Date.now());
  // biome-ignore lint/correctness/useExhaustiveDependencies: runs when a new block's timestamp arrives; it reads the wall clock, not the timestamp
  useEffect(() => setReadAt(Date.now()), [block.data?.timestamp]);
  useEffect(() => {
    const t = setInterval(() => setTick(Date.now()), 1000);
    return () => clearInterval(t);
  }, []);
  if (!block.data) return Math.floor(tick / 1000);
  return Number(block.data.timestamp) + Math.max(0, Math.floor((tick - readAt) / 1000));
}
