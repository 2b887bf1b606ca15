"use client";
import { createContext, useContext } from "react";
import { useChainId, useConnection } from "wagmi";
import type { ChainDeployment } from "@/lib/deployments";

export const DeploymentsContext = createContext<ChainDeployment[]>([]);

export function useDeployments(): ChainDeployment[] {
  return useContext(DeploymentsContext);
}

/**
 * The deployment the app works against: the wallet's chain when it is one we know, else the
 * config's current chain (the first known chain, normally the local chain 31337).
 * `wrongNetwork` is set when a wallet is connected to a chain without a deployment.
 */
export function useDeployment(): { deployment: ChainDeployment | undefined; wrongNetwork: boolean; walletChainId?: number } {
  const deployments = useDeployments();
  const { chainId: walletChainId, isConnected } = useConnection();
  const configChainId = useChainId();
  const byId = (id: number | undefined) => deployments.find((d) => d.chainId === id);
  if (isConnected && walletChainId !== undefined) {
    const d = byId(walletChainId);
    if (!d || Object.keys(d.contracts).length === 0)
      return { deployment: byId(configChainId) ?? deployments[0], wrongNetwork: true, walletChainId };
    return { deployment: d, wrongNetwork: false, walletChainId };
  }
  return { deployment: byId(configChainId) ?? deployments[0], wrongNetwork: false };
}
