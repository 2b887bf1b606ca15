// The job lifecycle of a provider node, built once its collaborators exist (node/src/provider is
// the composition root): the quote and receipt protocols on its libp2p node, the receipt ledger,
// the watcher that reveals samples, settles receipts and withdraws credits, and the gateway's
// chain hooks (quotes from the mesh, session-key checks, receipts). Every transaction of the
// staking wallet goes through one queue (one nonce sequence).
import { join } from "node:path";
import { logger } from "@libp2p/logger";
import { peerIdFromString } from "@libp2p/peer-id";
import { isAddressEqual, toHex, zeroAddress } from "viem";
import type { Hex } from "viem";
import { bindPeer, stakeWithPermit, waitTx } from "../chain/provider.ts";
import type { JobHooks } from "../gateway/server.ts";
import { shardMeshDomain } from "../receipts/eip712.ts";
import { jobKey } from "./admission.ts";
import { DEFAULT_REGISTER_STAKE, QUOTE_PROTOCOL, RECEIPT_PROTOCOL } from "./constants.ts";
import { verifyJobDetails } from "./details.ts";
import { chainNow, requireWallet } from "./context.ts";
import type { JobsContext } from "./context.ts";
import { JobsJobUnavailableError } from "./errors.ts";
import { ReceiptLedger } from "./ledger.ts";
import { handleReceiptRequest } from "./parts.ts";
import { gatewayQuotes, signQuoteFor } from "./quote.ts";
import { verifyJobRequestSignature } from "./session.ts";
import { JobWatcher } from "./watcher.ts";
import { serveJson } from "./wire.ts";

const log = logger("shardmesh:jobs");

export interface JobsServiceInit {
  /** Where submitted receipts (jobs/receipts.json) and the hand-off claims watcher's position
   *  (jobs/claims.json) are kept across restarts. */
  dataDir: string;
  /** Stake for `register`, token base units (default DEFAULT_REGISTER_STAKE). */
  stake?: bigint;
}

/** One queue for a wallet's transactions: each starts when the previous one settled. */
export function transactionQueue(): <T>(fn: () => Promise<T>) => Promise<T> {
  let queue: Promise<unknown> = Promise.resolve();
  return <T>(fn: () => Promise<T>): Promise<T> => {
    const run = queue.then(fn, fn);
    queue = run.catch(() => {});
    return run;
  };
}

export class JobsService {
  readonly ledger: ReceiptLedger;
  readonly watcher: JobWatcher;
  /** Serialises this node's staking-wallet transactions. */
  readonly serial: <T>(fn: () => Promise<T>) => Promise<T>;
  private readonly ctx: JobsContext;
  private readonly init: JobsServiceInit;

  constructor(ctx: JobsContext, init: JobsServiceInit) {
    this.ctx = ctx;
    this.init = init;
    this.serial = transactionQueue();
    this.ledger = new ReceiptLedger(ctx, this.serial, join(init.dataDir, "jobs", "receipts.json"));
    this.watcher = new JobWatcher(ctx, this.ledger, {
      withdraw: ctx.chain.pc !== undefined,
      claimsStateFile: join(init.dataDir, "jobs", "claims.json"),
    });
  }

  /** Reloads submitted receipts, serves the quote and receipt protocols, starts the watcher. */
  async start(): Promise<void> {
    await this.ledger.load().catch((err: Error) => log.error("cannot reload submitted receipts: %s: %s", err.name, err.message));
    await serveJson(this.ctx.node, QUOTE_PROTOCOL, (req) => signQuoteFor(this.ctx, req));
    await serveJson(this.ctx.node, RECEIPT_PROTOCOL, (req, remote) => handleReceiptRequest(this.ctx, req, remote));
    this.watcher.start();
    log("job protocols served by %s", this.ctx.peerId);
  }

  async stop(): Promise<void> {
    this.watcher.stop();
    await this.ctx.node.unhandle(QUOTE_PROTOCOL).catch(() => {});
    await this.ctx.node.unhandle(RECEIPT_PROTOCOL).catch(() => {});
  }

  /** The gateway's chain-backed routes. */
  hooks(): JobHooks {
    return {
      quotes: (modelId, maxUnits, buyer) => gatewayQuotes(this.ctx, modelId, maxUnits, buyer),
      verifyJobRequest: (jobId, nonce, requestHash, signature) => this.verifyJobRequest(jobId, nonce, requestHash, signature),
      receiptToSign: (jobId) => this.ledger.toSign(jobId),
      submitReceipt: async (jobId, body) => {
        const r = await this.ledger.submit(jobId, body);
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
      jobReceipts: async (jobId) => this.ledger.status(jobId),
      verifyJobReader: async (jobId, expires, signature) =>
        verifyJobDetails((await this.ledger.job(jobId)).sessionKey, jobId, expires, signature),
    };
  }

  private async verifyJobRequest(jobId: string, nonce: number, requestHash: Hex, signature: string): Promise<boolean> {
    const { chain } = this.ctx;
    const job = await this.ledger.job(jobId);
    if (job.status !== 1) throw new JobsJobUnavailableError(`job ${jobId} is not open`);
    if (job.expiresAt <= (await chainNow(chain))) throw new JobsJobUnavailableError(`job ${jobId} expired at ${job.expiresAt}`);
    const domain = shardMeshDomain(chain.chainId, chain.deployment.contracts.JobMarket.address);
    return verifyJobRequestSignature(domain, job.sessionKey, { jobId: BigInt(jobId), nonce: BigInt(nonce), requestHash }, signature);
  }

  /** A job's unit limit on chain (JobAdmission's maxUnits). */
  async maxUnits(jobId: bigint): Promise<number> {
    return (await this.ledger.job(jobKey(jobId))).maxUnits;
  }

  /** Stakes up to the configured stake and binds this node's peer id (idempotent; `--register`). */
  register(): Promise<void> {
    return this.serial(() => registerProvider(this.ctx, this.ctx.peerId, this.init.stake ?? DEFAULT_REGISTER_STAKE));
  }
}

/** Stakes up to `want` (the dev chain's faucet funds it on 31337) and binds `peerId` to the staking wallet. */
export async function registerProvider(ctx: Pick<JobsContext, "chain">, peerId: string, want: bigint): Promise<void> {
  const { chain } = ctx;
  const { pc, address } = requireWallet(chain);
  const staked = (await chain.read.staking.read.stakeOf([address])).staked;
  if (staked < want) {
    const missing = want - staked;
    const balance = await chain.read.token.read.balanceOf([address]);
    if (balance < missing && chain.chainId === 31337) {
      // Local development chain: the token's faucet funds the stake.
      const hash = await pc.contracts.token.write.faucet([missing - balance], { account: pc.wallet.account, chain: pc.wallet.chain });
      await waitTx(chain.publicClient, hash, "faucet");
    }
    await stakeWithPermit(pc, missing);
    log("staked %s more (total %s)", missing, want);
  }
  const peerBytes = peerIdFromString(peerId).toMultihash().bytes;
  const current = await chain.read.staking.read.providerOfPeer([toHex(peerBytes)]);
  if (current === zeroAddress || !isAddressEqual(current, address)) {
    await bindPeer(pc, peerBytes, `data:application/json,${encodeURIComponent(JSON.stringify({ peerId }))}`);
    log("bound peer %s to %s", peerId, address);
  }
}
