"use client";
import { addressesOf, type Addresses } from "@/lib/contracts";
import { useDeployment } from "./useDeployment";

export function useContracts(): Addresses & { chainId?: number; startBlock: number; ready: boolean } {
  const { deployment } = useDeployment();
  const a = addressesOf(deployment);
  return {
    ...a,
    chainId: deployment?.chainId,
    startBlock: deployment?.startBlock ?? 0,
    ready: Boolean(a.market && a.registry && a.staking && a.token),
  };
}
