// Deploys a circuit instance's generated Groth16 verifier and the Int8HeadStageVerifier adapter
// in front of it (what a model's registry entry names as its zkVerifier), from the Hardhat
// artifacts. Used by deploy/seed scripts, tests and the bench.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Abi, Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { circuitConfig, ROOT } from "./artifacts.ts";
import { ZkArtifactMissingError } from "./errors.ts";

export const ADAPTER_CONTRACT = "Int8HeadStageVerifier";

export interface HeadVerifierDeployment {
  readonly instance: string;
  /** The generated Groth16 verifier (contracts/verifiers/<Name>.sol). */
  readonly groth16: Address;
  /** The IStageProofVerifier to register for the model's zk stage. */
  readonly stageVerifier: Address;
}

function artifact(source: string, name: string, root: string): { abi: Abi; bytecode: Hex } {
  const file = join(root, "artifacts/contracts", source, `${name}.json`);
  if (!existsSync(file)) throw new ZkArtifactMissingError(`missing artifact ${file}: run \`npx hardhat build\` first`);
  const a = JSON.parse(readFileSync(file, "utf8")) as { abi: Abi; bytecode: Hex };
  return { abi: a.abi, bytecode: a.bytecode };
}

/** Deploys the verifier pair for `instance` (default "digits-head"). */
export async function deployHeadVerifier(opts: {
  wallet: WalletClient<Transport, Chain | undefined, Account>;
  publicClient: PublicClient;
  instance?: string;
  root?: string;
}): Promise<HeadVerifierDeployment> {
  const root = opts.root ?? ROOT;
  const name = opts.instance ?? "digits-head";
  const inst = circuitConfig(root).instances[name];
  if (!inst) throw new ZkArtifactMissingError(`unknown circuit instance "${name}"`);
  const { wallet, publicClient } = opts;
  const deploy = async (a: { abi: Abi; bytecode: Hex }, args: unknown[]): Promise<Address> => {
    const hash = await wallet.deployContract({ abi: a.abi, bytecode: a.bytecode, args, account: wallet.account, chain: wallet.chain });
    const receipt = await publicClient.waitForTransactionReceipt({ hash });
    if (!receipt.contractAddress) throw new Error(`deployment of ${name} verifier produced no address`);
    return receipt.contractAddress;
  };
  const groth16 = await deploy(artifact(`verifiers/${inst.verifier}.sol`, inst.verifier, root), []);
  const stageVerifier = await deploy(artifact(`zk/${ADAPTER_CONTRACT}.sol`, ADAPTER_CONTRACT, root), [
    groth16,
    BigInt(inst.params.M),
    BigInt(inst.params.N),
  ]);
  return { instance: name, groth16, stageVerifier };
}
