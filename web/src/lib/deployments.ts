// Deployments are data (deployments/<chainId>.json, written by `npm run deploy`). The server
// reads them at request time (lib/deployments.server.ts) and hands the browser this plain,
// serialisable shape, so a new deployment needs no rebuild of the app.
import { getAddress, isAddress, type Address } from "viem";

export type ContractName = string;

export interface ChainDeployment {
  chainId: number;
  name: string;
  /** Browser-side RPC endpoint: the app's own proxy route, which forwards to the real node. */
  rpcPath: string;
  /** Contract name → address, as written by the deploy script. */
  contracts: Record<ContractName, Address>;
  /** First block worth scanning for events (the earliest deployment block, 0 when unknown). */
  startBlock: number;
  nativeSymbol: string;
  explorerUrl?: string;
}

export class DeploymentFileInvalidError extends Error {
  override name = "DeploymentFileInvalidError";
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function asObject(v: Json | undefined): Record<string, Json> | undefined {
  return v !== null && typeof v === "object" && !Array.isArray(v) ? v : undefined;
}

/**
 * Parses one deployments file. Accepts the shapes deploy scripts commonly write:
 * `{ chainId, contracts: { Name: "0x…" | { address, blockNumber } } }` or a flat
 * `{ chainId, Name: "0x…" }`. Unknown keys are ignored.
 */
export function parseDeployment(raw: unknown, fallbackChainId?: number): ChainDeployment {
  const root = asObject(raw as Json);
  if (!root) throw new DeploymentFileInvalidError("deployment file is not a JSON object");
  const chainId = Number(root.chainId ?? fallbackChainId);
  if (!Number.isSafeInteger(chainId) || chainId <= 0) {
    throw new DeploymentFileInvalidError(`deployment file has no valid chainId (${String(root.chainId)})`);
  }
  const source = asObject(root.contracts) ?? asObject(root.addresses) ?? root;
  const contracts: Record<string, Address> = {};
  const blocks: number[] = [];
  for (const [name, value] of Object.entries(source)) {
    if (typeof value === "string" && isAddress(value)) {
      contracts[name] = getAddress(value);
      continue;
    }
    const entry = asObject(value);
    if (entry && typeof entry.address === "string" && isAddress(entry.address)) {
      contracts[name] = getAddress(entry.address);
      const block = Number(entry.blockNumber ?? entry.deployBlock ?? entry.block);
      if (Number.isSafeInteger(block) && block >= 0) blocks.push(block);
    }
  }
  if (Object.keys(contracts).length === 0) {
    throw new DeploymentFileInvalidError(`deployment for chain ${chainId} lists no contract addresses`);
  }
  const declaredStart = Number(root.startBlock ?? root.deployBlock ?? root.blockNumber);
  const startBlock =
    Number.isSafeInteger(declaredStart) && declaredStart >= 0 ? declaredStart : blocks.length > 0 ? Math.min(...blocks) : 0;
  return {
    chainId,
    name: typeof root.chainName === "string" ? root.chainName : typeof root.network === "string" ? root.network : chainName(chainId),
    rpcPath: `/api/rpc/${chainId}`,
    contracts,
    startBlock,
    nativeSymbol: "ETH",
    explorerUrl: typeof root.explorerUrl === "string" ? root.explorerUrl : undefined,
  };
}

export function chainName(chainId: number): string {
  switch (chainId) {
    case 31337:
      return "Local chain";
    case 1:
      return "Ethereum";
    case 11155111:
      return "Sepolia";
    case 8453:
      return "Base";
    case 84532:
      return "Base Sepolia";
    default:
      return `Chain ${chainId}`;
  }
}

/** The contract address by any of its candidate names (deploy scripts differ in naming). */
export function contractAddress(d: ChainDeployment | undefined, ...names: string[]): Address | undefined {
  if (!d) return undefined;
  for (const n of names) if (d.contracts[n]) return d.contracts[n];
  return undefined;
}
