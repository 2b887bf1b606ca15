// One way to connect to the chain: the JSON-RPC client, the deployment (deployments/<chainId>.json
// or a given file), read-only typed contracts and, with a private key, the staking wallet. The
// provider, the verifier and the deploy script all start here.
import { readFileSync } from "node:fs";
import { createPublicClient, createWalletClient, defineChain, http } from "viem";
import type { Chain, Hex, PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { LocalAccount } from "viem/accounts";
import { readOnlyContracts } from "./contracts.ts";
import type { ReadOnlyContracts, ShardWallet } from "./contracts.ts";
import { parseDeployment, readDeployment } from "./deployments.ts";
import type { Deployment } from "./deployments.ts";
import { providerChain } from "./provider.ts";
import type { ProviderChain } from "./provider.ts";

/** How often viem polls for blocks and receipts. */
export const CHAIN_POLLING_INTERVAL_MS = 250;

export interface ChainConnection {
  chainId: number;
  deployment: Deployment;
  publicClient: PublicClient;
  read: ReadOnlyContracts;
  /** The staking wallet (absent without a private key: no quotes, parts, receipts or votes). */
  account?: LocalAccount;
  wallet?: ShardWallet;
  pc?: ProviderChain;
}

export interface ConnectChainInit {
  rpcUrl: string;
  /** A deployments JSON file (default deployments/<chainId>.json, SHARDMESH_DEPLOYMENTS_DIR overrides the folder). */
  deployment?: string;
  privateKey?: Hex;
  pollingIntervalMs?: number;
}

/** A viem chain for an RPC URL and chain id (no preset needed for local or private chains). */
export function rpcChain(chainId: number, rpcUrl: string): Chain {
  return defineChain({
    id: chainId,
    name: `chain ${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });
}

/** A wallet client for `privateKey` on the chain at `rpcUrl`. */
export function walletFor(rpcUrl: string, chainId: number, privateKey: Hex, pollingIntervalMs = CHAIN_POLLING_INTERVAL_MS): ShardWallet {
  return createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain: rpcChain(chainId, rpcUrl),
    transport: http(rpcUrl),
    pollingInterval: pollingIntervalMs,
  }) as ShardWallet;
}

/** Connects to the chain at `rpcUrl` (asks it for its chain id). */
export async function connectChain(init: ConnectChainInit): Promise<ChainConnection> {
  const pollingInterval = init.pollingIntervalMs ?? CHAIN_POLLING_INTERVAL_MS;
  const publicClient = createPublicClient({ transport: http(init.rpcUrl), pollingInterval }) as PublicClient;
  const chainId = await publicClient.getChainId();
  const deployment = init.deployment ? parseDeployment(JSON.parse(readFileSync(init.deployment, "utf8"))) : readDeployment(chainId);
  const chain: ChainConnection = { chainId, deployment, publicClient, read: readOnlyContracts(deployment, publicClient) };
  if (init.privateKey) {
    const wallet = walletFor(init.rpcUrl, chainId, init.privateKey, pollingInterval);
    chain.account = wallet.account as LocalAccount;
    chain.wallet = wallet;
    chain.pc = providerChain(deployment, publicClient, wallet, chain.account);
  }
  return chain;
}
