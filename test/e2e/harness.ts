// End-to-end harness: a local hardhat node on a free port, every contract deployed, the PP-OCRv4
// recogniser split into 2 stages (cached in the OS temp folder) and published with its real
// manifest hash, and provider processes started with chain support (`--rpc --staking-key
// --register`): each stakes and binds its own peer id on chain at start.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import assert from "node:assert/strict";
import { createPublicClient, http, parseEther, parseEventLogs } from "viem";
import type { Address, PublicClient, TransactionReceipt } from "viem";
import { jobMarketAbi, shardTokenAbi } from "../../node/src/generated/abis.ts";
import type { SignedQuote } from "../../node/src/receipts/eip712.ts";
import { freePort, rpc, startLocalChain, DEV_KEYS } from "../../scripts/lib/chain.ts";
import type { LocalChain } from "../../scripts/lib/chain.ts";
import { deployAll, writeDeployment } from "../../scripts/lib/deploy.ts";
import { localWallet } from "../../scripts/lib/demo.ts";
import { publishRecogniser, splitRecogniser, STAGE_PRICE } from "../../scripts/demo/market.ts";
import type { SplitModel } from "../../scripts/demo/market.ts";
import type { Deployment } from "../../node/src/chain/deployments.ts";
import { readOnlyContracts } from "../../node/src/chain/contracts.ts";
import { startProviderProc, stopProc } from "../node/mesh/procs.ts";
import type { ProviderProc } from "../node/mesh/procs.ts";

export { STAGE_PRICE };

export interface Env {
  chain: LocalChain;
  publicClient: PublicClient;
  deployment: Deployment;
  read: ReturnType<typeof readOnlyContracts>;
  model: SplitModel;
  modelId: bigint;
  work: string;
  procs: ProviderProc[];
}

export { rpc };

/** Moves chain time forward and mines a block. */
export async function advance(url: string, seconds: number): Promise<void> {
  await rpc(url, "evm_increaseTime", [seconds]);
  await rpc(url, "evm_mine");
}

const quiet = (): void => {};

/** Sends a contract call from dev key `keyIndex` and waits for it: a revert fails the test by the function's name. */
export async function sendTx(
  env: Env,
  keyIndex: number,
  address: Address,
  abi: readonly unknown[],
  functionName: string,
  args: unknown[],
): Promise<TransactionReceipt> {
  const wallet = localWallet(env.chain.url, keyIndex);
  const hash = await wallet.writeContract({ address, abi, functionName, args, account: wallet.account, chain: wallet.chain } as never);
  const receipt = await env.publicClient.waitForTransactionReceipt({ hash });
  assert.equal(receipt.status, "success", `${functionName} reverted`);
  return receipt;
}

/** What a buyer asks for when it opens a job (JobMarket.openJob's request). */
export interface JobRequestTerms {
  modelId: bigint;
  maxUnits: number;
  expiresAt: bigint;
  sessionKey: Address;
}

/**
 * Opens a job as dev key `buyerKey` on signed quotes: `faucet` SHARD from the faucet, the escrow
 * approved, openJob sent; the job's id from its JobOpened event.
 */
export async function openTestJob(
  env: Env,
  buyerKey: number,
  request: JobRequestTerms,
  quotes: SignedQuote[],
  faucet = "10",
): Promise<{ jobId: bigint; escrow: bigint }> {
  const c = env.deployment.contracts;
  const escrow = await env.read.market.read.escrowFor([request, quotes]);
  await sendTx(env, buyerKey, c.ShardToken.address, shardTokenAbi, "faucet", [parseEther(faucet)]);
  await sendTx(env, buyerKey, c.ShardToken.address, shardTokenAbi, "approve", [c.JobMarket.address, escrow]);
  const opened = await sendTx(env, buyerKey, c.JobMarket.address, jobMarketAbi, "openJob", [request, quotes]);
  const [ev] = parseEventLogs({ abi: jobMarketAbi, eventName: "JobOpened", logs: opened.logs });
  return { jobId: ev.args.jobId, escrow };
}

export async function startEnv(): Promise<Env> {
  const work = mkdtempSync(join(tmpdir(), "shardmesh-e2e-"));
  const chain = await startLocalChain({ port: await freePort() });
  try {
    const publicClient = createPublicClient({ transport: http(chain.url), pollingInterval: 100 }) as PublicClient;
    const deployment = await deployAll({ wallet: localWallet(chain.url, 0), publicClient });
    // Provider processes read deployments/<chainId>.json from here.
    process.env.SHARDMESH_DEPLOYMENTS_DIR = join(work, "deployments");
    writeDeployment(deployment, process.env.SHARDMESH_DEPLOYMENTS_DIR);
    const model = await splitRecogniser(join(tmpdir(), "shardmesh-e2e-cache", "rec-2"), quiet);
    const modelId = await publishRecogniser({ chain, publicClient, deployment, deploymentFile: "" }, model, quiet);
    return { chain, publicClient, deployment, read: readOnlyContracts(deployment, publicClient), model, modelId, work, procs: [] };
  } catch (err) {
    // A failed start (e.g. stale artifacts) must not leave the chain running: the test process would never exit.
    await chain.stop();
    rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

export interface ProviderOpts {
  keyIndex: number;
  stages: number[];
  gateway?: boolean;
  bootstrap?: string[];
  /** Fixed ports, so a restarted process is found again at the same addresses. */
  listenPort?: number;
  gatewayPort?: number;
  /** More `provider start` flags. */
  args?: string[];
}

/** A provider process with chain support; stakes and binds its peer id itself (`--register`). */
export async function startChainProvider(env: Env, o: ProviderOpts): Promise<ProviderProc & { address: Address; opts: ProviderOpts }> {
  const dir = join(env.work, `provider-${o.keyIndex}`);
  const proc = await startProviderProc(
    [
      "--key-file",
      join(dir, "node.key"),
      "--data-dir",
      join(dir, "data"),
      "--model",
      `${env.modelId}=${env.model.manifestPath}:${o.stages.join(",")}:${STAGE_PRICE}`,
      "--staking-key",
      DEV_KEYS[o.keyIndex],
      "--rpc",
      env.chain.url,
      "--register",
      "--no-dht",
      ...(o.gateway ? (o.gatewayPort ? ["--gateway-port", String(o.gatewayPort)] : []) : ["--no-gateway"]),
      ...(o.listenPort ? ["--listen", `/ip4/127.0.0.1/tcp/${o.listenPort}`] : []),
      ...(o.bootstrap ?? []).flatMap((b) => ["--bootstrap", b]),
      ...(o.args ?? []),
    ],
    120_000,
  );
  const started = { ...proc, address: localWallet(env.chain.url, o.keyIndex).account.address, opts: o };
  env.procs.push(started);
  return started;
}

/** Stops a provider process (SIGTERM) and starts it again with the same key, data and ports. */
export async function restartChainProvider(
  env: Env,
  p: ProviderProc & { opts: ProviderOpts },
): Promise<ProviderProc & { address: Address; opts: ProviderOpts }> {
  await stopProc(p);
  env.procs = env.procs.filter((x) => x.child !== p.child);
  return startChainProvider(env, p.opts);
}

export async function stopEnv(env: Env | undefined): Promise<void> {
  if (!env) return;
  for (const p of env.procs) await stopProc(p);
  await env.chain.stop();
  rmSync(env.work, { recursive: true, force: true });
}
