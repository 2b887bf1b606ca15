// Reads Hardhat artifacts (ABI + creation bytecode) for deployment scripts.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Abi, Hex } from "viem";

const root = new URL("../..", import.meta.url).pathname;

export const SOURCES: Record<string, string> = {
  ShardToken: "token/ShardToken.sol",
  ProviderStaking: "staking/ProviderStaking.sol",
  ModelRegistry: "registry/ModelRegistry.sol",
  ProtocolParams: "market/ProtocolParams.sol",
  JobMarket: "market/JobMarket.sol",
  SpotCheck: "market/SpotCheck.sol",
  Disputes: "market/Disputes.sol",
};

export interface Artifact {
  abi: Abi;
  bytecode: Hex;
}

export function readArtifact(name: string, source = SOURCES[name]): Artifact {
  if (!source) throw new Error(`unknown contract ${name}`);
  const file = join(root, "artifacts/contracts", source, `${name}.json`);
  if (!existsSync(file)) throw new Error(`missing artifact ${file}: run \`npx hardhat build\` first`);
  const a = JSON.parse(readFileSync(file, "utf8")) as { abi: Abi; bytecode: Hex };
  return { abi: a.abi, bytecode: a.bytecode };
}
