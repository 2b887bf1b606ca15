// Deployments are data: deployments/<chainId>.json, written by `npm run deploy` (scripts/lib/deploy.ts).
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { getAddress, isAddress } from "viem";
import type { Address } from "viem";
import { DeploymentNotFoundError, DeploymentInvalidError } from "./errors.ts";
import type { ProtocolParamsJson } from "./params.ts";

export const CONTRACT_NAMES = [
  "ShardToken",
  "ProviderStaking",
  "ModelRegistry",
  "ProtocolParams",
  "JobMarket",
  "SpotCheck",
  "Disputes",
] as const;
export type ContractName = (typeof CONTRACT_NAMES)[number];

export interface DeployedContract {
  address: Address;
  blockNumber: number;
}

/** Parameters the contracts were deployed with (token units in wei, as decimal strings). */
export interface DeploymentParameters {
  tokenSupply: string;
  faucetReserve: string;
  unbondingPeriod: number;
  treasury: Address;
  minVerifierStake: string;
  /** The first ProtocolParams version (later versions: ProtocolParams.paramsAt on chain). */
  protocol: ProtocolParamsJson;
}

export interface Deployment {
  chainId: number;
  deployer: Address;
  deployBlock: number;
  contracts: Record<ContractName, DeployedContract>;
  parameters: DeploymentParameters;
}

/** The repository's deployments folder (SHARDMESH_DEPLOYMENTS_DIR overrides). */
export function defaultDeploymentsDir(): string {
  return process.env.SHARDMESH_DEPLOYMENTS_DIR ?? new URL("../../../deployments", import.meta.url).pathname;
}

export function deploymentPath(chainId: number, dir = defaultDeploymentsDir()): string {
  return join(dir, `${chainId}.json`);
}

/** Checks and normalises a parsed deployments file. */
export function parseDeployment(raw: unknown): Deployment {
  const d = raw as Partial<Deployment> | null;
  if (!d || typeof d !== "object" || typeof d.chainId !== "number" || !d.contracts) {
    throw new DeploymentInvalidError("deployment file needs chainId and contracts");
  }
  const contracts = {} as Record<ContractName, DeployedContract>;
  for (const name of CONTRACT_NAMES) {
    const c = d.contracts[name];
    if (!c || !isAddress(c.address)) throw new DeploymentInvalidError(`deployment lacks an address for ${name}`);
    contracts[name] = { address: getAddress(c.address), blockNumber: Number(c.blockNumber ?? 0) };
  }
  return { ...(d as Deployment), contracts };
}

/** Reads deployments/<chainId>.json. */
export function readDeployment(chainId: number, dir = defaultDeploymentsDir()): Deployment {
  const path = deploymentPath(chainId, dir);
  if (!existsSync(path)) throw new DeploymentNotFoundError(`no deployment for chain ${chainId} at ${path} (run npm run deploy)`);
  return parseDeployment(JSON.parse(readFileSync(path, "utf8")));
}
