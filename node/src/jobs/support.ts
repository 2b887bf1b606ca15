// A provider's chain support (node/src/provider/chain.ts loads `providerChainSupport`): the
// staking wallet, on-chain peer-binding checks, `--register` (stake + bind the peer id), the
// gateway's chain hooks (quotes from the mesh, session-key checks, receipts) and, once the
// provider runs, `attach(provider)`: the quote and receipt protocols on its libp2p node and the
// watcher that reveals samples, settles receipts and withdraws credits.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { logger } from "@libp2p/logger";
import { peerIdFromString } from "@libp2p/peer-id";
import { createPublicClient, createWalletClient, defineChain, getAddress, http, isAddressEqual, toHex, zeroAddress } from "viem";
import type { PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { parseDeployment, readDeployment } from "../chain/deployments.ts";
import { readOnlyContracts } from "../chain/contracts.ts";
import { bindPeer, providerChain, stakeWithPermit, waitTx } from "../chain/provider.ts";
import type { ChainSupport } from "../provider/chain.ts";
import type { Provider } from "../provider/provider.ts";
import type { ProviderConfig } from "../provider/config.ts";
import type { GatewayHooks } from "../gateway/server.ts";
import { QUOTE_PROTOCOL, RECEIPT_PROTOCOL, DEFAULT_REGISTER_STAKE } from "./constants.ts";
import { chainNow, requireWallet } from "./context.ts";
import type { ChainContext, JobsContext } from "./context.ts";
import { JobsJobUnavailableError, JobsNotAttachedError } from "./errors.ts";
import { ReceiptLedger } from "./ledger.ts";
import { handleReceiptRequest } from "./parts.ts";
import { gatewayQuotes, signQuoteFor } from "./quote.ts";
import { verifyJobRequestSignature } from "./session.ts";
import { shardMeshDomain } from "../receipts/eip712.ts";
import { JobWatcher } from "./watcher.ts";
import { jobFinality } from "./finality.ts";
import { QuotedProvidersCache, restrictJobRouting } from "./routing.ts";
import { serveJson } from "./wire.ts";

const log = logger("shardmesh:jobs");

/** How long a failed binding check is remembered (the peer may bind a moment later). */
const UNBOUND_CACHE_MS = 2_000;

export interface JobsChainSupport extends ChainSupport {
  chain: ChainContext;
  /** Registers the quote and receipt protocols on the provider and starts the watcher. */
  attach(provider: Provider): Promise<{ stop(): Promise<void>; watcher: JobWatcher; ledger: ReceiptLedger }>;
}

export async function providerChainSupport(config: ProviderConfig): Promise<JobsChainSupport> {
  const rpcUrl = config.chain!.rpcUrl;
  const publicClient = createPublicClient({ transport: http(rpcUrl), pollingInterval: 250 }) as PublicClient;
  const chainId = await publicClient.getChainId();
  const deployment = config.chain!.deployment
    ? parseDeployment(JSON.parse(readFileSync(config.chain!.deployment, "utf8")))
    : readDeployment(chainId);
  const read = readOnlyContracts(deployment, publicClient);
  const chain: ChainContext = { chainId, deployment, publicClient, read };
  if (config.stakingKey) {
    const account = privateKeyToAccount(config.stakingKey);
    const viemChain = defineChain({
      id: chainId,
      name: `chain ${chainId}`,
      nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
      rpcUrls: { default: { http: [rpcUrl] } },
    });
    const wallet = createWalletClient({ account, chain: viemChain, transport: http(rpcUrl), pollingInterval: 250 });
    chain.account = account;
    chain.pc = providerChain(deployment, publicClient, wallet, account);
  }

  let ctx: JobsContext | undefined;
  let ledger: ReceiptLedger | undefined;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };
  const need = (): { ctx: JobsContext; ledger: ReceiptLedger } => {
    if (!ctx || !ledger) throw new JobsNotAttachedError("the provider's job protocols are not attached yet");
    return { ctx, ledger };
  };

  const quoted = new QuotedProvidersCache(chain);
  const hooks: GatewayHooks = {
    quotes: (modelId, maxUnits, buyer) => gatewayQuotes(need().ctx, modelId, maxUnits, buyer),
    verifyJobRequest: async (jobId, requestHash, signature) => {
      const { ctx: c, ledger: l } = need();
      const job = await l.job(jobId);
      if (job.status !== 1) throw new JobsJobUnavailableError(`job ${jobId} is not open`);
      if (job.expiresAt <= (await chainNow(chain))) throw new JobsJobUnavailableError(`job ${jobId} expired at ${job.expiresAt}`);
      if (c.trace.requests(jobId).length >= job.maxUnits)
        throw new JobsJobUnavailableError(`job ${jobId} has used all ${job.maxUnits} units`);
      const domain = shardMeshDomain(chain.chainId, chain.deployment.contracts.JobMarket.address);
      return verifyJobRequestSignature(domain, job.sessionKey, { jobId: BigInt(jobId), requestHash }, signature);
    },
    receiptToSign: (jobId) => need().ledger.toSign(jobId),
    submitReceipt: async (jobId, body) => {
      const r = await need().ledger.submit(jobId, body);
      return {
        jobId,
        receiptId: r.receiptId.toString(),
        from: r.from,
        count: r.count,
        outputRoot: r.outputRoot,
        txHash: r.txHash,
        state: r.state,
      };
    },
    jobReceipts: async (jobId) => (ledger ? ledger.status(jobId) : []),
  };

  const bound = new Map<string, { ok: boolean; at: number }>();
  const checkBinding = async (peerId: string, address: string): Promise<boolean> => {
    const key = `${peerId}/${address.toLowerCase()}`;
    const hit = bound.get(key);
    if (hit && (hit.ok || Date.now() - hit.at < UNBOUND_CACHE_MS)) return hit.ok;
    const onChain = await read.staking.read.providerOfPeer([toHex(peerIdFromString(peerId).toMultihash().bytes)]);
    const ok = onChain !== zeroAddress && isAddressEqual(onChain, getAddress(address));
    bound.set(key, { ok, at: Date.now() });
    return ok;
  };

  const register = (peerId: string): Promise<void> => serial(() => registerNow(peerId));
  const registerNow = async (peerId: string): Promise<void> => {
    const { pc, address } = requireWallet(chain);
    const want = config.stake ? BigInt(config.stake) : DEFAULT_REGISTER_STAKE;
    const staked = (await read.staking.read.stakeOf([address])).staked;
    if (staked < want) {
      const missing = want - staked;
      const balance = await read.token.read.balanceOf([address]);
      if (balance < missing && chainId === 31337) {
        // Local development chain: the token's faucet funds the stake.
        const hash = await pc.contracts.token.write.faucet([missing - balance], { account: pc.wallet.account, chain: pc.wallet.chain });
        await waitTx(publicClient, hash, "faucet");
      }
      await stakeWithPermit(pc, missing);
      log("staked %s more (total %s)", missing, want);
    }
    const peerBytes = peerIdFromString(peerId).toMultihash().bytes;
    const current = await read.staking.read.providerOfPeer([toHex(peerBytes)]);
    if (current === zeroAddress || !isAddressEqual(current, address)) {
      await bindPeer(pc, peerBytes, `data:application/json,${encodeURIComponent(JSON.stringify({ peerId }))}`);
      log("bound peer %s to %s", peerId, address);
    }
  };

  return {
    chainId,
    chain,
    hooks,
    checkBinding,
    register,
    isJobFinal: jobFinality(chain),
    async attach(provider: Provider) {
      ctx = {
        chain,
        node: provider.node,
        peerId: provider.peerId,
        trace: provider.trace,
        directory: provider.directory,
        models: config.models,
      };
      ledger = new ReceiptLedger(ctx, serial, join(config.dataDir, "jobs", "receipts.json"));
      await ledger.load().catch((err: Error) => log.error("cannot reload submitted receipts: %s: %s", err.name, err.message));
      const c = ctx;
      const unrestrict = restrictJobRouting(provider, quoted);
      await serveJson(provider.node, QUOTE_PROTOCOL, (req) => signQuoteFor(c, req));
      await serveJson(provider.node, RECEIPT_PROTOCOL, (req) => handleReceiptRequest(c, req));
      const watcher = new JobWatcher(ctx, ledger, { withdraw: chain.pc !== undefined });
      watcher.start();
      log("job protocols attached to %s", provider.peerId);
      return {
        watcher,
        ledger,
        async stop() {
          watcher.stop();
          unrestrict();
          await provider.node.unhandle(QUOTE_PROTOCOL).catch(() => {});
          await provider.node.unhandle(RECEIPT_PROTOCOL).catch(() => {});
        },
      };
    },
  };
}
