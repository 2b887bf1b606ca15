// The wagmi config: chains come from the deployments files (read by the server at request time
// and passed down), wallets are found by EIP-6963 discovery plus a generic injected fallback,
// and the connection survives reloads in a cookie so server rendering matches the client.
import { cookieStorage, createConfig, createStorage, http, injected } from "wagmi";
import { defineChain, type Chain } from "viem";
import type { ChainDeployment } from "./lib/deployments";

export function toChain(d: ChainDeployment, origin = ""): Chain {
  return defineChain({
    id: d.chainId,
    name: d.name,
    nativeCurrency: { name: "Ether", symbol: d.nativeSymbol, decimals: 18 },
    rpcUrls: { default: { http: [`${origin}${d.rpcPath}`] } },
    blockExplorers: d.explorerUrl ? { default: { name: "Explorer", url: d.explorerUrl } } : undefined,
  });
}

export function getConfig(deployments: readonly ChainDeployment[], origin = "") {
  const chains = deployments.map((d) => toChain(d, origin)) as [Chain, ...Chain[]];
  return createConfig({
    chains,
    connectors: [injected({ shimDisconnect: true })],
    multiInjectedProviderDiscovery: true,
    ssr: true,
    storage: createStorage({ storage: cookieStorage }),
    // Reads fail fast so an unreachable chain shows as such within a second or two.
    transports: Object.fromEntries(chains.map((c) => [c.id, http(undefined, { retryCount: 1, batch: false })])),
    pollingInterval: 1_000,
  });
}

declare module "wagmi" {
  interface Register {
    config: ReturnType<typeof getConfig>;
  }
}
