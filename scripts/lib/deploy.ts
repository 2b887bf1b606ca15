// Deploys and wires every ShardMesh contract; reusable by `npm run deploy`, the demo, tests and benches.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { getAddress, parseEther } from "viem";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { deploymentPath } from "../../node/src/chain/deployments.ts";
import type { ContractName, Deployment, DeploymentParameters } from "../../node/src/chain/deployments.ts";
import { DEFAULT_PROTOCOL_PARAMS, protocolParamsFromJson, protocolParamsToJson } from "../../node/src/chain/params.ts";
import type { ProtocolParamsValues } from "../../node/src/chain/params.ts";
import { readArtifact } from "./artifacts.ts";

export type DeployWallet = WalletClient<Transport, Chain | undefined, Account>;

export interface DeployOptions {
  wallet: DeployWallet;
  publicClient: PublicClient;
  /** Admin of every contract (default: the deployer). */
  admin?: Address;
  params?: Partial<Omit<DeploymentParameters, "treasury" | "protocol">> & { treasury?: Address };
  /** Overrides of the first ProtocolParams version (windows, fees, shares, bonds). */
  protocol?: Partial<ProtocolParamsValues>;
  /** Progress lines (the CLI prints them). */
  onProgress?: (message: string) => void;
}

export const DEFAULT_PARAMETERS = {
  tokenSupply: parseEther("1000000000").toString(),
  faucetReserve: parseEther("100000000").toString(),
  unbondingPeriod: 7 * 24 * 3600,
  minVerifierStake: parseEther("100").toString(),
  protocol: protocolParamsToJson(DEFAULT_PROTOCOL_PARAMS),
} as const;

/** Deploys token, staking, registry, parameters, job market, spot checks and disputes, and links them. */
export async function deployAll(opts: DeployOptions): Promise<Deployment> {
  const { wallet, publicClient } = opts;
  const deployer = wallet.account.address;
  const admin = opts.admin ?? deployer;
  const treasury = opts.params?.treasury ?? deployer;
  const p: DeploymentParameters = {
    ...DEFAULT_PARAMETERS,
    ...opts.params,
    treasury,
    protocol: protocolParamsToJson({ ...DEFAULT_PROTOCOL_PARAMS, treasury, ...opts.protocol }),
  };
  const protocol = protocolParamsFromJson(p.protocol);
  const log = opts.onProgress ?? (() => {});
  const chainId = await publicClient.getChainId();
  const contracts = {} as Deployment["contracts"];

  async function deploy(name: ContractName, args: unknown[]): Promise<Address> {
    const { abi, bytecode } = readArtifact(name);
    const hash = await wallet.deployContract({ abi, bytecode, args, account: wallet.account, chain: wallet.chain });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (!receipt.contractAddress) throw new Error(`${name} deployment produced no address`);
    contracts[name] = { address: getAddress(receipt.contractAddress), blockNumber: Number(receipt.blockNumber) };
    log(`deployed ${name} at ${receipt.contractAddress} (block ${receipt.blockNumber}, gas ${receipt.gasUsed})`);
    return receipt.contractAddress;
  }

  async function call(name: ContractName, functionName: string, args: unknown[]): Promise<void> {
    const { abi } = readArtifact(name);
    const hash: Hex = await wallet.writeContract({
      address: contracts[name].address,
      abi,
      functionName,
      args,
      account: wallet.account,
      chain: wallet.chain,
    });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${name}.${functionName} reverted`);
    log(`${name}.${functionName}(${args.map(String).join(", ")})`);
  }

  const token = await deploy("ShardToken", [admin, BigInt(p.tokenSupply), BigInt(p.faucetReserve)]);
  const staking = await deploy("ProviderStaking", [token, deployer, BigInt(p.unbondingPeriod), BigInt(p.minVerifierStake)]);
  const registry = await deploy("ModelRegistry", []);
  const params = await deploy("ProtocolParams", [admin, protocol]);
  const market = await deploy("JobMarket", [token, staking, registry, params]);
  const spotCheck = await deploy("SpotCheck", [market, staking, params]);
  const disputes = await deploy("Disputes", [market, staking, registry, params, spotCheck]);
  await call("ProviderStaking", "setJobMarket", [market]);
  await call("SpotCheck", "setDisputes", [disputes]);
  await call("JobMarket", "setAdjudicators", [spotCheck, disputes]);
  if (admin !== deployer) {
    const role = "0x0000000000000000000000000000000000000000000000000000000000000000";
    for (const name of ["ProviderStaking"] as const) {
      await call(name, "grantRole", [role, admin]);
      await call(name, "renounceRole", [role, deployer]);
    }
  }
  const deployBlock = Math.min(...Object.values(contracts).map((c) => c.blockNumber));
  return { chainId, deployer, deployBlock, contracts, parameters: p };
}

/** Writes deployments/<chainId>.json (or into `dir`). Returns the path. */
export function writeDeployment(deployment: Deployment, dir?: string): string {
  const path = deploymentPath(deployment.chainId, dir);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(deployment, null, 2)}\n`);
  return path;
}
