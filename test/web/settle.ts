// Drives one receipt of a job through the real protocol so the dashboard has a settlement to
// show: the provider submits a receipt signed by the buyer's session key (the browser signed it
// through the gateway's receipt route) and by itself, samples are drawn, every sampled leaf is revealed with Merkle proofs
// (hand-offs consistent), the challenge window passes, and the receipt settles.
import { keccak256, toHex, type Address, type Hex, type PublicClient } from "viem";
import { localWallet } from "../../scripts/lib/demo.ts";
import { adjudicatorAbi, jobMarketAbi } from "../../node/src/generated/abis.ts";
import {
  buildBuyerTree, buildStageTree, partIndex, partRecords, shardMeshDomain, signProviderReceipt, walletSigner,
  type BuyerRecord, type StagePart,
} from "../../node/src/receipts/index.ts";
import type { Deployment } from "../../node/src/chain/deployments.ts";

async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }) });
  return ((await res.json()) as { result: unknown }).result;
}

export interface PreparedReceipt {
  jobId: bigint;
  count: number;
  outputRoot: Hex;
  route: Address[];
  buyerTree: ReturnType<typeof buildBuyerTree>;
  stages: ReturnType<typeof buildStageTree>[];
}

/** The requests a provider (serving both stages) answered for a job, as Merkle trees. */
export function prepareReceipt(jobId: bigint, provider: Address, n = 4): PreparedReceipt {
  const h = (tag: string, i: number) => keccak256(toHex(`${tag}:${jobId}:${i}`));
  const route = [provider, provider];
  const buyer: BuyerRecord[] = Array.from({ length: n }, (_, i) => ({ index: i, requestHash: h("req", i), responseHash: h("res", i), route }));
  const stages = [0, 1].map((s) => buildStageTree(buyer.map((b, i) => ({ index: i, inputHash: s === 0 ? b.requestHash : h("hop", i), outputHash: s === 0 ? h("hop", i) : b.responseHash }))));
  const buyerTree = buildBuyerTree(buyer);
  return { jobId, count: n, outputRoot: buyerTree.root, route, buyerTree, stages };
}

interface SettleInput {
  chainUrl: string;
  publicClient: PublicClient;
  deployment: Deployment;
  provider: number;
  receipt: PreparedReceipt;
  sessionSignature: Hex;
}

/** Submits the receipt with the buyer's session-key signature (it is then pending), returns the step that settles it. */
export async function submitReceipt(o: SettleInput): Promise<() => Promise<void>> {
  return settleReceipt(o, true) as Promise<() => Promise<void>>;
}

/** Submits the receipt, reveals every sample, waits out the window, settles. */
export async function settleReceipt(o: {
  chainUrl: string;
  publicClient: PublicClient;
  deployment: Deployment;
  provider: number;
  receipt: PreparedReceipt;
  sessionSignature: Hex;
}, stopAfterSubmit = false): Promise<void | (() => Promise<void>)> {
  const { receipt: p } = o;
  const wallet = localWallet(o.chainUrl, o.provider);
  const provider = wallet.account.address;
  const market = o.deployment.contracts.JobMarket.address;
  const adjudicator = o.deployment.contracts.Adjudicator.address;
  const domain = shardMeshDomain(31337, market);
  const parts: StagePart[] = await Promise.all(p.stages.map(async (tree, stage) => ({
    stage, provider, count: p.count, root: tree.root,
    signature: await signProviderReceipt(walletSigner(wallet), domain, { jobId: p.jobId, stage, count: p.count, root: tree.root, outputRoot: p.outputRoot }),
  })));
  const records = partRecords(parts, () => 0);
  const send = async (address: Hex, abi: readonly unknown[], functionName: string, args: unknown[]) => {
    const hash = await wallet.writeContract({ address, abi: abi as never, functionName, args, account: wallet.account, chain: wallet.chain } as never);
    const r = await o.publicClient.waitForTransactionReceipt({ hash });
    if (r.status !== "success") throw new Error(`${functionName} reverted`);
  };
  await send(market, jobMarketAbi, "submitReceipt", [p.jobId, p.count, p.outputRoot, o.sessionSignature, parts]);
  const rest = () => afterSubmit(o, records, send);
  if (stopAfterSubmit) return rest;
  await rest();
}

async function afterSubmit(
  o: SettleInput,
  records: ReturnType<typeof partRecords>,
  send: (address: Hex, abi: readonly unknown[], functionName: string, args: unknown[]) => Promise<void>,
): Promise<void> {
  const { receipt: p } = o;
  const provider = localWallet(o.chainUrl, o.provider).account.address;
  const market = o.deployment.contracts.JobMarket.address;
  const adjudicator = o.deployment.contracts.Adjudicator.address;
  await rpc(o.chainUrl, "hardhat_mine", ["0x2"]);
  await send(adjudicator, adjudicatorAbi, "drawSamples", [p.jobId, 0n]);
  const indices = (await o.publicClient.readContract({ address: adjudicator, abi: adjudicatorAbi, functionName: "sampleIndices", args: [p.jobId, 0n] })) as readonly bigint[];
  for (const [sampleNo, index] of indices.entries()) {
    const i = Number(index);
    await send(adjudicator, adjudicatorAbi, "revealBuyerLeaf", [p.jobId, 0n, BigInt(sampleNo), p.buyerTree.leaf(i), p.buyerTree.proof(i), p.route, records]);
    for (const stage of [0, 1]) {
      await send(adjudicator, adjudicatorAbi, "revealStageLeaf", [p.jobId, 0n, BigInt(sampleNo), BigInt(partIndex(records, stage, provider)), p.stages[stage].leaf(i), p.stages[stage].proof(i), p.route, records]);
    }
  }
  const w = (await o.publicClient.readContract({ address: market, abi: jobMarketAbi, functionName: "windows" })) as { reveal: bigint; challenge: bigint };
  await rpc(o.chainUrl, "evm_increaseTime", [Number(w.reveal + w.challenge) + 1]);
  await rpc(o.chainUrl, "evm_mine");
  await send(market, jobMarketAbi, "settle", [p.jobId, 0n, records]);
}
