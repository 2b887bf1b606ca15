// The two sides of a zk-stage dispute, for the provider node:
// - checkZkStage: a verifier re-executes a revealed zk-stage leaf and says whether to challenge;
// - answerZkDispute: the accused provider proves its revealed execution and answers on chain.
import { logger } from "@libp2p/logger";
import type { Account, Address, Chain, Hex, PublicClient, Transport, WalletClient } from "viem";
import { disputesAbi, spotCheckAbi } from "../generated/abis.ts";
import { int8DenseReference, type Int8DenseParams } from "../models/int8.ts";
import { ZkInputError, ZkWitnessError } from "./errors.ts";
import { headHashes } from "./proof.ts";
import type { HeadProver } from "./prover.ts";

const log = logger("shardmesh:zk:dispute");

/** Dispute kinds and statuses as IDisputes numbers them. */
export const DISPUTE_KIND_ZK = 1;
export const DISPUTE_OPEN = 1;

export interface RevealedLeaf {
  readonly inputHash: Hex;
  readonly outputHash: Hex;
}

/**
 * Re-executes a revealed zk-stage leaf from the fetched input tensor. Throws ZkInputError when
 * `x` is not the revealed input (wrong tensor fetched); returns whether the revealed output is
 * wrong, i.e. whether a challenge will win.
 */
export function checkZkStage(head: Int8DenseParams, x: Int8Array, leaf: RevealedLeaf): { fraud: boolean; output: Int8Array } {
  const output = int8DenseReference(head, x);
  const { inputHash, outputHash } = headHashes(x, output);
  if (inputHash.toLowerCase() !== leaf.inputHash.toLowerCase()) {
    throw new ZkInputError(`input tensor hashes to ${inputHash}, the revealed leaf says ${leaf.inputHash}`);
  }
  return { fraud: outputHash.toLowerCase() !== leaf.outputHash.toLowerCase(), output };
}

export interface AnswerOptions {
  readonly publicClient: PublicClient;
  readonly wallet: WalletClient<Transport, Chain | undefined, Account>;
  /** The Disputes and SpotCheck contracts. */
  readonly disputes: Address;
  readonly spotCheck: Address;
  readonly disputeId: bigint;
  readonly prover: HeadProver;
  /** The zk stage's input of the disputed request, from the provider's retained tensors. */
  readonly input: Int8Array;
  readonly signal?: AbortSignal;
}

/**
 * Answers an open zk dispute: checks the retained input against the revealed leaf, proves the
 * head's output, and sends Disputes.answerWithProof. Throws ZkInputError for a tensor that is
 * not the revealed input and ZkWitnessError when the revealed output is not what the head
 * computes (then no proof exists and the dispute will be upheld).
 */
export async function answerZkDispute(opts: AnswerOptions): Promise<{ hash: Hex; gasUsed: bigint; proveMs: number }> {
  const { publicClient, wallet, disputes, spotCheck, disputeId } = opts;
  const d = await publicClient.readContract({ address: disputes, abi: disputesAbi, functionName: "dispute", args: [disputeId] });
  if (d.kind !== DISPUTE_KIND_ZK || d.status !== DISPUTE_OPEN) {
    throw new ZkInputError(`dispute ${disputeId} is not an open zk dispute (kind ${d.kind}, status ${d.status})`);
  }
  const leaf = await publicClient.readContract({
    address: spotCheck,
    abi: spotCheckAbi,
    functionName: "stageReveal",
    args: [d.jobId, BigInt(d.receiptId), BigInt(d.sampleNo), BigInt(d.stage)],
  });
  const { fraud } = checkZkStage(opts.prover.head, opts.input, leaf);
  if (fraud) throw new ZkWitnessError(`dispute ${disputeId}: the revealed output is not the head's output, no proof exists`);
  const proof = await opts.prover.prove(opts.input, { signal: opts.signal });
  const hash = await wallet.writeContract({
    address: disputes,
    abi: disputesAbi,
    functionName: "answerWithProof",
    args: [disputeId, proof.proof],
    account: wallet.account,
    chain: wallet.chain,
  });
  const receipt = await publicClient.waitForTransactionReceipt({ hash });
  log("answered dispute %s with a proof (%d ms, %s gas)", disputeId, Math.round(proof.proveMs), receipt.gasUsed);
  return { hash, gasUsed: receipt.gasUsed, proveMs: proof.proveMs };
}
