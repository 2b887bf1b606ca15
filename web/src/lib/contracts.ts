// The one place the app gets ABIs and contract names. ABIs are generated from the Hardhat
// artifacts (never hand-copied); addresses come from the deployments files at runtime.
import {
  disputesAbi as generatedDisputesAbi,
  jobMarketAbi as generatedJobMarketAbi,
  modelRegistryAbi as generatedModelRegistryAbi,
  protocolParamsAbi as generatedProtocolParamsAbi,
  providerStakingAbi,
  shardTokenAbi,
  spotCheckAbi as generatedSpotCheckAbi,
} from "@shardmesh/node/generated/abis.ts";
import { contractAddress, type ChainDeployment } from "./deployments";

export const jobMarketAbi = generatedJobMarketAbi;
export const modelRegistryAbi = generatedModelRegistryAbi;
export const stakingAbi = providerStakingAbi;
export const tokenAbi = shardTokenAbi;
export const spotCheckAbi = generatedSpotCheckAbi;
export const disputesAbi = generatedDisputesAbi;
export const protocolParamsAbi = generatedProtocolParamsAbi;

/** Every custom error of every contract, so any revert decodes whichever contract raised it. */
export { allErrorsAbi } from "./errors";

export interface Addresses {
  token?: `0x${string}`;
  staking?: `0x${string}`;
  registry?: `0x${string}`;
  market?: `0x${string}`;
  params?: `0x${string}`;
  spotCheck?: `0x${string}`;
  disputes?: `0x${string}`;
}

export function addressesOf(d: ChainDeployment | undefined): Addresses {
  return {
    token: contractAddress(d, "ShardToken", "Token"),
    staking: contractAddress(d, "ProviderStaking", "Staking"),
    registry: contractAddress(d, "ModelRegistry", "Registry"),
    market: contractAddress(d, "JobMarket", "Market"),
    params: contractAddress(d, "ProtocolParams"),
    spotCheck: contractAddress(d, "SpotCheck"),
    disputes: contractAddress(d, "Disputes"),
  };
}

/** The token's symbol and decimals: the node's (one definition, beside the one token formatter). */
export { TOKEN_DECIMALS, TOKEN_SYMBOL } from "@shardmesh/node/util/format.ts";
