// The provider node's chain support (loaded by node/src/provider/chain.ts): register (stake +
// bind the peer id), check other peers' bindings, and gateway hooks for quotes and job-request
// signatures. Receipt hooks (collecting every stage provider's part) belong to the mesh side and
// build on ../receipts.
import { readFileSync } from "node:fs";
import { logger } from "@libp2p/logger";
import { peerIdFromString } from "@libp2p/peer-id";
import { createPublicClient, createWalletClient, defineChain, getAddress, http, isAddress, recoverTypedDataAddress } from "viem";
import type { Address, Hex, PublicClient } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import type { ChainSupport } from "../provider/chain.ts";
import type { ProviderConfig } from "../provider/config.ts";
import { jobRequestTypedData } from "../receipts/eip712.ts";
import { readOnlyContracts } from "./contracts.ts";
import { parseDeployment, readDeployment } from "./deployments.ts";
import type { Deployment } from "./deployments.ts";
import { ChainConfigError } from "./errors.ts";
import { bindPeer, marketDomain, providerChain, quote, waitTx } from "./provider.ts";

const log = logger("shardmesh:chain");

/** How long a quote from this node stays valid. */
export const QUOTE_TTL_SECONDS = 600;
/** Stake `register` tops up to when the config names none: 1,000 tokens. */
export const DEFAULT_REGISTER_STAKE = 1000n * 10n ** 18n;

function loadDeployment(chainId: number, where?: string): Deployment {
  if (!where) return readDeployment(chainId);
  if (where.endsWith(".json")) return parseDeployment(JSON.parse(readFileSync(where, "utf8")));
  return readDeployment(chainId, where);
}

function peerBytes(peerId: string): Uint8Array {
  return peerIdFromString(peerId).toMultihash().bytes;
}

export async function providerChainSupport(config: ProviderConfig): Promise<ChainSupport> {
  if (!config.chain?.rpcUrl) throw new ChainConfigError("chain support needs chain.rpcUrl (--rpc)");
  const transport = http(config.chain.rpcUrl);
  const publicClient = createPublicClient({ transport }) as PublicClient;
  const chainId = await publicClient.getChainId();
  const deployment = loadDeployment(chainId, config.chain.deployment);
  const reader = readOnlyContracts(deployment, publicClient);
  const chain = defineChain({
    id: chainId,
    name: `chain-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [config.chain.rpcUrl] } },
  });
  const pc = config.stakingKey
    ? providerChain(deployment, publicClient, createWalletClient({ account: privateKeyToAccount(config.stakingKey), chain, transport }))
    : undefined;
  const requireWallet = () => {
    if (!pc) throw new ChainConfigError("this action needs the staking key (--staking-key)");
    return pc;
  };
  log("chain %d at %s, JobMarket %s", chainId, config.chain.rpcUrl, deployment.contracts.JobMarket.address);

  return {
    chainId,
    async register(peerId: string): Promise<void> {
      const p = requireWallet();
      const want = config.stake ? BigInt(config.stake) : DEFAULT_REGISTER_STAKE;
      const have = (await p.contracts.staking.read.stakeOf([p.address])).staked;
      if (have < want) {
        const missing = want - have;
        const opts = { account: p.wallet.account, chain: p.wallet.chain };
        await waitTx(publicClient, await p.contracts.token.write.approve([p.contracts.staking.address, missing], opts), "approve stake");
        await waitTx(publicClient, await p.contracts.staking.write.stake([missing], opts), "stake");
        log("staked %s more (total %s)", missing, want);
      }
      const bytes = peerBytes(peerId);
      const owner = await p.contracts.staking.read.providerOfPeer([`0x${Buffer.from(bytes).toString("hex")}`]);
      if (getAddress(owner) !== getAddress(p.address)) {
        await bindPeer(p, bytes, "");
        log("bound peer %s to %s", peerId, p.address);
      }
    },
    async checkBinding(peerId: string, address: string): Promise<boolean> {
      // Forward lookup (the address's own binding): a squatter binding someone else's peer id
      // cannot make it look like theirs here.
      if (!isAddress(address)) return false;
      const bound = await reader.staking.read.peerIdOf([getAddress(address)]);
      return bound.toLowerCase() === `0x${Buffer.from(peerBytes(peerId)).toString("hex")}`;
    },
    hooks: {
      async quotes(modelId: string, maxInferences: number) {
        const p = requireWallet();
        const expiry = BigInt(Math.floor(Date.now() / 1000) + QUOTE_TTL_SECONDS);
        const out = [];
        for (const m of config.models.filter((x) => x.modelId === modelId)) {
          for (const stage of m.stages) {
            const nonce = BigInt(`0x${Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex")}`);
            const sq = await quote(p, { modelId: BigInt(modelId), stage, price: BigInt(m.price), maxCount: maxInferences, expiry, nonce });
            out.push({
              quote: { ...sq.quote, modelId: sq.quote.modelId.toString(), price: sq.quote.price.toString(), expiry: sq.quote.expiry.toString(), nonce: sq.quote.nonce.toString() },
              signature: sq.signature,
            });
          }
        }
        return out;
      },
      async verifyJobRequest(jobId: string, requestHash: Hex, signature: string): Promise<boolean> {
        let sessionKey: Address;
        try {
          const job = await reader.market.read.job([BigInt(jobId)]);
          if (job.status !== 1) return false;
          sessionKey = job.sessionKey;
          const signer = await recoverTypedDataAddress({
            ...jobRequestTypedData(marketDomain({ deployment }), { jobId: BigInt(jobId), requestHash }),
            signature: signature as Hex,
          });
          return getAddress(signer) === getAddress(sessionKey);
        } catch {
          return false;
        }
      },
    },
  };
}
