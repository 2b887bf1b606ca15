"use client";
import { useEffect, useMemo, useState } from "react";
import type { Address, Hex } from "viem";
import { useConnection } from "wagmi";
import { useIndex } from "@/hooks/useIndex";
import { useContracts } from "@/hooks/useContracts";
import { useChainNow } from "@/hooks/useChainNow";
import { jobsFromEvents, type JobInfo } from "@/lib/jobs";
import { payableJobs } from "@/lib/paid";
import { loadSessionKey } from "@/lib/session";

/** What signs a job's requests in this browser: its session key, on this chain's JobMarket. */
export interface JobSigner {
  sessionKey: Hex;
  chainId: number;
  jobMarket: Address;
}

/**
 * The connected buyer's open jobs for `modelId` whose session key this browser holds (read once
 * the page runs in the browser), and `signerFor(job)`, which throws SessionKeyMissingError when
 * the key is gone. Used by the image trial and the chat page.
 */
export function usePayableJobs(modelId: string): { jobs: JobInfo[]; signerFor: (job: JobInfo) => JobSigner } {
  const { address } = useConnection();
  const index = useIndex();
  const c = useContracts();
  const now = useChainNow();
  const [storageReady, setStorageReady] = useState(false);
  useEffect(() => setStorageReady(true), []);
  const jobs = useMemo(() => {
    if (!address || !storageReady || !c.chainId) return [];
    return payableJobs(
      jobsFromEvents(index.data?.events ?? [], { market: c.market, buyer: address }),
      modelId,
      now,
      window.localStorage,
      c.chainId,
    );
  }, [address, storageReady, index.data, c.market, c.chainId, modelId, now]);
  const signerFor = (job: JobInfo): JobSigner => {
    const key = loadSessionKey(window.localStorage, c.chainId ?? 0, job.id);
    if (!key || !c.market || !c.chainId)
      throw Object.assign(new Error("this browser no longer holds the job's session key"), { gatewayName: "SessionKeyMissingError" });
    return { sessionKey: key.privateKey, chainId: c.chainId, jobMarket: c.market };
  };
  return { jobs, signerFor };
}
