"use client";
import { useState, type ReactNode } from "react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { WagmiProvider, type State } from "wagmi";
import { getConfig } from "@/wagmi";
import type { ChainDeployment } from "@/lib/deployments";
import { DeploymentsContext } from "@/hooks/useDeployment";

export function Providers(props: { children: ReactNode; deployments: ChainDeployment[]; initialState?: State }) {
  const [config] = useState(() => getConfig(props.deployments, typeof window === "undefined" ? "" : window.location.origin));
  const [queryClient] = useState(
    () => new QueryClient({ defaultOptions: { queries: { retry: 1, staleTime: 2_000, refetchOnWindowFocus: false } } }),
  );
  return (
    <WagmiProvider config={config} initialState={props.initialState}>
      <QueryClientProvider client={queryClient}>
        <DeploymentsContext.Provider value={props.deployments}>{props.children}</DeploymentsContext.Provider>
      </QueryClientProvider>
    </WagmiProvider>
  );
}
