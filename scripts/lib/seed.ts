// Seeds a deployment: publish a model, fund + stake + bind a provider. Reused by the demo and tests.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { parseEventLogs, parseEther, toHex } from "viem";
import type { Address, Hex, PublicClient } from "viem";
import { modelRegistryAbi, providerStakingAbi, shardTokenAbi } from "../../node/src/generated/abis.ts";
import type { Deployment } from "../../node/src/chain/deployments.ts";
import type { DeployWallet } from "./deploy.ts";

/** sha256 of a file, as 0x-hex (streamed). */
export function sha256File(path: string): Promise<Hex> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(`0x${h.digest("hex")}`));
  });
}

export interface SeedModelInput {
  onnxSha256: Hex;
  manifestHash: Hex;
  metadataURI: string;
  priceFloors: bigint[];
  royaltyBps?: number;
  toleranceMicros?: number;
  samplingRatePpm?: number;
  zk?: { stage: number; weightsCommitment: Hex; verifier: Address };
}

async function send(publicClient: PublicClient, hash: Hex) {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`transaction ${hash} reverted`);
  return receipt;
}

/** Publishes a model from `wallet`; returns its id. */
export async function seedModel(
  wallet: DeployWallet,
  publicClient: PublicClient,
  deployment: Deployment,
  m: SeedModelInput,
): Promise<bigint> {
  const hash = await wallet.writeContract({
    address: deployment.contracts.ModelRegistry.address,
    abi: modelRegistryAbi,
    functionName: "publish",
    args: [
      {
        onnxSha256: m.onnxSha256,
        manifestHash: m.manifestHash,
        metadataURI: m.metadataURI,
        stageCount: m.priceFloors.length,
        royaltyBps: m.royaltyBps ?? 500,
        toleranceMicros: m.toleranceMicros ?? 10,
        samplingRatePpm: m.samplingRatePpm ?? 1_000,
        hasZkStage: m.zk !== undefined,
        zkStage: m.zk?.stage ?? 0,
        weightsCommitment: m.zk?.weightsCommitment ?? toHex(0, { size: 32 }),
        zkVerifier: m.zk?.verifier ?? "0x0000000000000000000000000000000000000000",
        priceFloors: m.priceFloors,
      },
    ],
    account: wallet.account,
    chain: wallet.chain,
  });
  const receipt = await send(publicClient, hash);
  const [event] = parseEventLogs({ abi: modelRegistryAbi, eventName: "ModelPublished", logs: receipt.logs });
  if (!event) throw new Error("ModelPublished event missing");
  return event.args.modelId;
}

export interface SeedProviderInput {
  stake?: bigint;
  peerId: Uint8Array;
  metadataURI: string;
  /** Draw the stake from the token faucet first (local chain only). */
  useFaucet?: boolean;
}

/** Funds (faucet), stakes and binds a peer id for the provider behind `wallet`. */
export async function seedProvider(
  wallet: DeployWallet,
  publicClient: PublicClient,
  deployment: Deployment,
  p: SeedProviderInput,
): Promise<{ provider: Address; stake: bigint }> {
  const stake = p.stake ?? parseEther("5000");
  const c = deployment.contracts;
  const opts = { account: wallet.account, chain: wallet.chain };
  if (p.useFaucet ?? true) {
    await send(
      publicClient,
      await wallet.writeContract({ ...opts, address: c.ShardToken.address, abi: shardTokenAbi, functionName: "faucet", args: [stake] }),
    );
  }
  await send(
    publicClient,
    await wallet.writeContract({
      ...opts,
      address: c.ShardToken.address,
      abi: shardTokenAbi,
      functionName: "approve",
      args: [c.ProviderStaking.address, stake],
    }),
  );
  await send(
    publicClient,
    await wallet.writeContract({
      ...opts,
      address: c.ProviderStaking.address,
      abi: providerStakingAbi,
      functionName: "stake",
      args: [stake],
    }),
  );
  await send(
    publicClient,
    await wallet.writeContract({
      ...opts,
      address: c.ProviderStaking.address,
      abi: providerStakingAbi,
      functionName: "bindPeer",
      args: [toHex(p.peerId), p.metadataURI],
    }),
  );
  return { provider: wallet.account.address, stake };
}
