// What a provider node does on chain: stake and bind its peer id, sign quotes, submit receipts,
// reveal sampled leaves, settle, answer disputes and withdraw credits. Trees and signatures come
// from ../receipts (the single place they are built).
import { logger } from "@libp2p/logger";
import { parseEventLogs, toHex } from "viem";
import type { Address, Hex, PublicClient, TransactionReceipt } from "viem";
import { jobMarketAbi, spotCheckAbi } from "../generated/abis.ts";
import { permitSignatureParts, permitTypedData, shardMeshDomain, signQuote, tokenPermitDomain, walletSigner } from "../receipts/eip712.ts";
import type { Quote, SignedQuote, TypedDataSigner } from "../receipts/eip712.ts";
import type { BuyerLeaf, ReceiptTree, StageLeaf } from "../receipts/leaves.ts";
import type { PartRecord, StagePart } from "../receipts/parts.ts";
import { shardMeshContracts } from "./contracts.ts";
import type { ReadOnlyContracts, ShardMeshContracts, ShardWallet } from "./contracts.ts";
import type { Deployment } from "./deployments.ts";
import { ChainEventMissingError, ChainTxRevertedError } from "./errors.ts";

const log = logger("shardmesh:chain");

export interface ProviderChain {
  deployment: Deployment;
  publicClient: PublicClient;
  wallet: ShardWallet;
  contracts: ShardMeshContracts;
  address: Address;
  /** Signs quotes and receipts (the wallet's account by default). */
  signer: TypedDataSigner;
}

export function providerChain(
  deployment: Deployment,
  publicClient: PublicClient,
  wallet: ShardWallet,
  signer?: TypedDataSigner,
): ProviderChain {
  return {
    deployment,
    publicClient,
    wallet,
    contracts: shardMeshContracts(deployment, { public: publicClient, wallet }),
    address: wallet.account.address,
    signer: signer ?? walletSigner(wallet),
  };
}

/** Waits for a transaction and throws ChainTxRevertedError when it reverted. */
export async function waitTx(publicClient: PublicClient, hash: Hex, what: string): Promise<TransactionReceipt> {
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new ChainTxRevertedError(`${what} reverted (tx ${hash})`);
  log("%s mined in block %d (gas %d)", what, receipt.blockNumber, receipt.gasUsed);
  return receipt;
}

/** The EIP-712 domain of this deployment's job market. */
export function marketDomain(pc: Pick<ProviderChain, "deployment">) {
  return shardMeshDomain(pc.deployment.chainId, pc.deployment.contracts.JobMarket.address);
}

/** Stakes `amount` with a permit (one transaction) signed by the wallet. */
export async function stakeWithPermit(pc: ProviderChain, amount: bigint, opts: { deadline?: bigint } = {}): Promise<TransactionReceipt> {
  const { token, staking } = pc.contracts;
  const deadline = opts.deadline ?? BigInt(Math.floor(Date.now() / 1000) + 3600);
  const nonce = await token.read.nonces([pc.address]);
  const sig = await pc.signer.signTypedData(
    permitTypedData(tokenPermitDomain(pc.deployment.chainId, token.address), {
      owner: pc.address,
      spender: staking.address,
      value: amount,
      nonce,
      deadline,
    }),
  );
  const { v, r, s } = permitSignatureParts(sig);
  const hash = await staking.write.stakeWithPermit([amount, deadline, v, r, s], { account: pc.wallet.account, chain: pc.wallet.chain });
  return waitTx(pc.publicClient, hash, "stakeWithPermit");
}

/** Binds the node's libp2p peer id (multihash bytes) and metadata URI to the staking address. */
export async function bindPeer(pc: ProviderChain, peerId: Uint8Array, metadataURI: string): Promise<TransactionReceipt> {
  const hash = await pc.contracts.staking.write.bindPeer([toHex(peerId), metadataURI], {
    account: pc.wallet.account,
    chain: pc.wallet.chain,
  });
  return waitTx(pc.publicClient, hash, "bindPeer");
}

/** The staking address a peer id is bound to (zero address when none). */
export function providerOfPeer(contracts: ShardMeshContracts | ReadOnlyContracts, peerId: Uint8Array): Promise<Address> {
  return contracts.staking.read.providerOfPeer([toHex(peerId)]);
}

/** Signs a quote for one stage of a model. */
export function quote(pc: ProviderChain, q: Omit<Quote, "provider">): Promise<SignedQuote> {
  return signQuote(pc.signer, marketDomain(pc), { ...q, provider: pc.address });
}

/** Submits a receipt; returns its id in the job. */
export async function submitReceipt(
  pc: ProviderChain,
  r: { jobId: bigint; count: number; units: number; outputRoot: Hex; sessionSignature: Hex; parts: StagePart[] },
): Promise<{ receiptId: bigint; receipt: TransactionReceipt }> {
  const hash = await pc.contracts.market.write.submitReceipt([r.jobId, r.count, r.units, r.outputRoot, r.sessionSignature, r.parts], {
    account: pc.wallet.account,
    chain: pc.wallet.chain,
  });
  const receipt = await waitTx(pc.publicClient, hash, `submitReceipt(job ${r.jobId}, count ${r.count})`);
  const [event] = parseEventLogs({ abi: jobMarketAbi, eventName: "ReceiptSubmitted", logs: receipt.logs });
  if (!event) throw new ChainEventMissingError("ReceiptSubmitted missing from the receipt transaction");
  return { receiptId: event.args.receiptId, receipt };
}

/** The request indices sampled for a receipt (once its seed is fixed: drawSamples). */
export function sampledIndices(
  contracts: ShardMeshContracts | ReadOnlyContracts,
  jobId: bigint,
  receiptId: bigint,
): Promise<readonly bigint[]> {
  return contracts.spotCheck.read.sampleIndices([jobId, receiptId]);
}

/**
 * Fixes a receipt's sampling seed once the block after submission is mined (anyone may; honest
 * parties do it as soon as they can). Returns false when it re-anchored instead (the block's hash
 * had left the 256-block window: a new target block, try again after it).
 */
export async function drawSamples(pc: ProviderChain, jobId: bigint, receiptId: bigint): Promise<boolean> {
  const hash = await pc.contracts.spotCheck.write.drawSamples([jobId, receiptId], { account: pc.wallet.account, chain: pc.wallet.chain });
  const receipt = await waitTx(pc.publicClient, hash, `drawSamples(job ${jobId}, receipt ${receiptId})`);
  return parseEventLogs({ abi: spotCheckAbi, eventName: "SeedReanchored", logs: receipt.logs }).length === 0;
}

/**
 * After the reveal window: faults exactly the parties of a sample that did not do their part
 * (missing buyer leaf → submitter; missing stage leaf → its provider; unanswered hand-off claim →
 * the downstream provider) and resolves the sample, so the receipt can settle.
 */
export async function reportMissing(
  pc: ProviderChain,
  a: { jobId: bigint; receiptId: bigint; sampleNo: number; route: Address[] },
): Promise<TransactionReceipt> {
  const hash = await pc.contracts.spotCheck.write.reportMissing([a.jobId, a.receiptId, BigInt(a.sampleNo), a.route], {
    account: pc.wallet.account,
    chain: pc.wallet.chain,
  });
  return waitTx(pc.publicClient, hash, `reportMissing(job ${a.jobId}, receipt ${a.receiptId}, sample ${a.sampleNo})`);
}

/** Reveals the buyer leaf of sample `sampleNo` (the receipt's submitter is answerable for it). */
export async function revealBuyerLeaf(
  pc: ProviderChain,
  a: {
    jobId: bigint;
    receiptId: bigint;
    sampleNo: number;
    tree: ReceiptTree<BuyerLeaf>;
    index: number;
    route: Address[];
    records: PartRecord[];
  },
): Promise<TransactionReceipt> {
  const hash = await pc.contracts.spotCheck.write.revealBuyerLeaf(
    [a.jobId, a.receiptId, BigInt(a.sampleNo), a.tree.leaf(a.index), a.tree.proof(a.index), a.route, a.records],
    { account: pc.wallet.account, chain: pc.wallet.chain },
  );
  return waitTx(pc.publicClient, hash, `revealBuyerLeaf(job ${a.jobId}, receipt ${a.receiptId}, sample ${a.sampleNo})`);
}

/** Reveals this provider's stage leaf for sample `sampleNo`. */
export async function revealStageLeaf(
  pc: ProviderChain,
  a: {
    jobId: bigint;
    receiptId: bigint;
    sampleNo: number;
    stage: number;
    tree: ReceiptTree<StageLeaf>;
    index: number;
    route: Address[];
    records: PartRecord[];
  },
): Promise<TransactionReceipt> {
  const partIndex = a.records.findIndex((p) => p.stage === a.stage && p.provider.toLowerCase() === pc.address.toLowerCase());
  const hash = await pc.contracts.spotCheck.write.revealStageLeaf(
    [a.jobId, a.receiptId, BigInt(a.sampleNo), BigInt(partIndex), a.tree.leaf(a.index), a.tree.proof(a.index), a.route, a.records],
    { account: pc.wallet.account, chain: pc.wallet.chain },
  );
  return waitTx(pc.publicClient, hash, `revealStageLeaf(job ${a.jobId}, receipt ${a.receiptId}, stage ${a.stage})`);
}

/** Settles a receipt after its challenge window. */
export async function settle(pc: ProviderChain, jobId: bigint, receiptId: bigint, records: PartRecord[]): Promise<TransactionReceipt> {
  const hash = await pc.contracts.market.write.settle([jobId, receiptId, records], { account: pc.wallet.account, chain: pc.wallet.chain });
  return waitTx(pc.publicClient, hash, `settle(job ${jobId}, receipt ${receiptId})`);
}

/** Answers a zk-stage dispute against this provider with proof bytes for its IStageProofVerifier. */
export async function answerDispute(pc: ProviderChain, disputeId: bigint, proof: Hex): Promise<TransactionReceipt> {
  const hash = await pc.contracts.disputes.write.answerWithProof([disputeId, proof], {
    account: pc.wallet.account,
    chain: pc.wallet.chain,
  });
  return waitTx(pc.publicClient, hash, `answerWithProof(${disputeId})`);
}

/** Withdraws the provider's settled credits (never paused). */
export async function withdrawCredits(pc: ProviderChain): Promise<bigint> {
  const amount = await pc.contracts.market.read.credits([pc.address]);
  if (amount === 0n) return 0n;
  const hash = await pc.contracts.market.write.withdraw({ account: pc.wallet.account, chain: pc.wallet.chain });
  await waitTx(pc.publicClient, hash, "withdraw");
  return amount;
}

/** Reveals a whole sample (buyer leaf and every stage leaf) in one transaction, when this node
 *  holds all the trees (e.g. the gateway collected the stage providers' proofs). */
export async function revealSample(
  pc: ProviderChain,
  a: {
    jobId: bigint;
    receiptId: bigint;
    sampleNo: number;
    index: number;
    buyerTree: ReceiptTree<BuyerLeaf>;
    /** One tree per stage: the routed provider's tree for this receipt. */
    stageTrees: ReceiptTree<StageLeaf>[];
    route: Address[];
    records: PartRecord[];
  },
): Promise<TransactionReceipt> {
  const partIndexes = a.route.map((provider, stage) =>
    BigInt(a.records.findIndex((p) => p.stage === stage && p.provider.toLowerCase() === provider.toLowerCase())),
  );
  const hash = await pc.contracts.spotCheck.write.revealSample(
    [
      a.jobId,
      a.receiptId,
      BigInt(a.sampleNo),
      a.buyerTree.leaf(a.index),
      a.buyerTree.proof(a.index),
      a.route,
      a.records,
      a.stageTrees.map((t) => t.leaf(a.index)),
      a.stageTrees.map((t) => t.proof(a.index)),
      partIndexes,
    ],
    { account: pc.wallet.account, chain: pc.wallet.chain },
  );
  return waitTx(pc.publicClient, hash, `revealSample(job ${a.jobId}, receipt ${a.receiptId}, sample ${a.sampleNo})`);
}
