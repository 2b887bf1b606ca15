import { readdirSync, readFileSync, existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseDeployment, chainName, type ChainDeployment } from "./deployments";

/** Where deployments/<chainId>.json live: SHARDMESH_DEPLOYMENTS_DIR, else the repository's. */
export function deploymentsDir(): string {
  if (process.env.SHARDMESH_DEPLOYMENTS_DIR) return resolve(/*turbopackIgnore: true*/ process.env.SHARDMESH_DEPLOYMENTS_DIR);
  for (const candidate of [
    join(/*turbopackIgnore: true*/ process.cwd(), "deployments"),
    join(/*turbopackIgnore: true*/ process.cwd(), "..", "deployments"),
  ]) {
    if (existsSync(candidate)) return candidate;
  }
  return join(/*turbopackIgnore: true*/ process.cwd(), "..", "deployments");
}

/**
 * Every chain the app knows: each deployments file, plus the local chain 31337 even before
 * anything is deployed (the app then says what is missing instead of failing).
 */
export function loadDeployments(): ChainDeployment[] {
  const dir = deploymentsDir();
  const found: ChainDeployment[] = [];
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /^\d+\.json$/.test(f)) : [];
  for (const file of files) {
    try {
      found.push(parseDeployment(JSON.parse(readFileSync(join(/*turbopackIgnore: true*/ dir, file), "utf8")), Number(file.slice(0, -5))));
    } catch {
      // A half-written or foreign file must not take the app down; it is simply not offered.
    }
  }
  if (!found.some((d) => d.chainId === 31337)) {
    found.push({ chainId: 31337, name: chainName(31337), rpcPath: "/api/rpc/31337", contracts: {}, startBlock: 0, nativeSymbol: "ETH" });
  }
  return found.sort((a, b) => (a.chainId === 31337 ? -1 : b.chainId === 31337 ? 1 : a.chainId - b.chainId));
}

/** The real JSON-RPC URL for a chain (server side only). */
export function rpcUrlFor(chainId: number): string | undefined {
  const specific = process.env[`SHARDMESH_RPC_URL_${chainId}`];
  if (specific) return specific;
  if (chainId === 31337) return process.env.SHARDMESH_RPC_URL ?? "http://127.0.0.1:8545";
  const dir = deploymentsDir();
  try {
    const raw = JSON.parse(readFileSync(join(/*turbopackIgnore: true*/ dir, `${chainId}.json`), "utf8")) as { rpcUrl?: unknown };
    return typeof raw.rpcUrl === "string" ? raw.rpcUrl : undefined;
  } catch {
    return undefined;
  }
}

export function gatewayUrl(): string {
  return (process.env.SHARDMESH_GATEWAY_URL ?? "http://127.0.0.1:8787").replace(/\/$/, "");
}
