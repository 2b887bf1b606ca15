// Typed contract instances (generated ABIs + deployment addresses).
import { getContract } from "viem";
import type { Account, Chain, PublicClient, Transport, WalletClient } from "viem";
import {
  disputesAbi,
  jobMarketAbi,
  modelRegistryAbi,
  protocolParamsAbi,
  providerStakingAbi,
  shardTokenAbi,
  spotCheckAbi,
} from "../generated/abis.ts";
import type { Deployment } from "./deployments.ts";

export type ShardWallet = WalletClient<Transport, Chain | undefined, Account>;

function build<C extends { public: PublicClient; wallet?: ShardWallet } | PublicClient>(deployment: Deployment, client: C) {
  const c = deployment.contracts;
  return {
    token: getContract({ address: c.ShardToken.address, abi: shardTokenAbi, client }),
    staking: getContract({ address: c.ProviderStaking.address, abi: providerStakingAbi, client }),
    registry: getContract({ address: c.ModelRegistry.address, abi: modelRegistryAbi, client }),
    params: getContract({ address: c.ProtocolParams.address, abi: protocolParamsAbi, client }),
    market: getContract({ address: c.JobMarket.address, abi: jobMarketAbi, client }),
    spotCheck: getContract({ address: c.SpotCheck.address, abi: spotCheckAbi, client }),
    disputes: getContract({ address: c.Disputes.address, abi: disputesAbi, client }),
  };
}

/** Read/write viem contract instances for every ShardMesh contract of a deployment. */
export function shardMeshContracts(deployment: Deployment, clients: { public: PublicClient; wallet: ShardWallet }) {
  return build(deployment, { public: clients.public, wallet: clients.wallet });
}

/** Read-only instances (peers checking bindings, dashboards). */
export function readOnlyContracts(deployment: Deployment, publicClient: PublicClient) {
  return build(deployment, publicClient);
}

export type ShardMeshContracts = ReturnType<typeof shardMeshContracts>;
export type ReadOnlyContracts = ReturnType<typeof readOnlyContracts>;
