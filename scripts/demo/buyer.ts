// A buyer's paid job in the demo: quotes signed by the providers over the mesh, escrow opened
// with a fresh session key, session-key-signed requests, a receipt the session key signs and
// the gateway submits with every stage provider's part, samples drawn and revealed, and the
// receipt settled after the challenge window (chain time fast-forwarded on the local chain).
import { parseEventLogs, parseEther, type Address, type Hex, type PublicClient, type TypedDataDomain } from "viem";
import { generatePrivateKey, privateKeyToAccount, type LocalAccount } from "viem/accounts";
import { jobMarketAbi, shardTokenAbi } from "../../node/src/generated/abis.ts";
import type { Deployment } from "../../node/src/chain/deployments.ts";
import { DEMO_WINDOWS } from "../../node/src/chain/params.ts";
import { jobRequestHash, signJobRequest } from "../../node/src/jobs/session.ts";
import { decodeImage, renderText } from "../../node/src/ocr/image.ts";
import { ctcDecode, recPreprocess } from "../../node/src/ocr/rec.ts";
import { shardMeshDomain, signBuyerReceipt, signedQuoteFromJson } from "../../node/src/receipts/eip712.ts";
import {
  bytesFromTensor,
  checkReceiptToSign,
  tensorFromFloat32,
  type LoggedResponse,
  type ShardMeshClient,
} from "../../node/src/sdk/index.ts";
import { rpc, tokens } from "../lib/chain.ts";
import { until } from "../lib/wait.ts";
import { localWallet } from "../lib/demo.ts";
import type { Log } from "./market.ts";

export interface PaidJobResult {
  jobId: bigint;
  /** Each request: the text sent, the text read back, and the peer serving each stage (in stage order). */
  texts: { sent: string; read: string; stages: string[] }[];
  receiptId: string;
  samples: number;
  credits: { address: Address; amount: bigint }[];
}

export interface BuyerSetup {
  chainUrl: string;
  publicClient: PublicClient;
  deployment: Deployment;
  gateway: ShardMeshClient;
  modelId: bigint;
  buyerKey: number;
  providers: Address[];
}

export interface OpenedJob {
  jobId: bigint;
  session: LocalAccount;
  domain: TypedDataDomain;
  escrow: bigint;
}

/** Quotes signed by the providers over the mesh, then a job opened with a fresh session key (or
 *  `sessionKey`, e.g. one a browser test hands to the page) for `maxUnits` units. */
export async function openJob(
  o: BuyerSetup,
  maxUnits: number,
  unit: string,
  log: Log,
  sessionKey: Hex = generatePrivateKey(),
): Promise<OpenedJob> {
  const c = o.deployment.contracts;
  const buyer = localWallet(o.chainUrl, o.buyerKey);
  const { quotes } = await o.gateway.quotes(o.modelId.toString(), maxUnits, buyer.account.address);
  const args = quotes.map(signedQuoteFromJson);
  log(
    `  ${args.length} quotes signed over the mesh (${args.map((a) => `stage ${a.quote.stage} by ${a.quote.provider.slice(0, 8)}…`).join(", ")})`,
  );
  const now = (await o.publicClient.getBlock()).timestamp;
  const session = privateKeyToAccount(sessionKey);
  const request = {
    modelId: o.modelId,
    maxUnits,
    expiresAt: now + 3600n + 4n * BigInt(DEMO_WINDOWS.reveal + DEMO_WINDOWS.challenge),
    sessionKey: session.address,
  };
  const escrow = await read<bigint>(o, c.JobMarket.address, jobMarketAbi, "escrowFor", [request, args]);
  await send(o, c.ShardToken.address, shardTokenAbi, "faucet", [parseEther("10")]);
  await send(o, c.ShardToken.address, shardTokenAbi, "approve", [c.JobMarket.address, escrow]);
  const opened = await send(o, c.JobMarket.address, jobMarketAbi, "openJob", [request, args]);
  const [ev] = parseEventLogs({ abi: jobMarketAbi, eventName: "JobOpened", logs: opened.logs });
  const jobId = ev.args.jobId;
  log(
    `  job ${jobId} opened by ${buyer.account.address.slice(0, 10)}…: escrow ${tokens(escrow)} for up to ${maxUnits} ${unit}, session key ${session.address.slice(0, 10)}…`,
  );
  return { jobId, session, domain: shardMeshDomain(o.deployment.chainId, c.JobMarket.address), escrow };
}

export interface SettledReceipt {
  receiptId: string;
  count: number;
  units: number;
  samples: number;
  credits: { address: Address; amount: bigint }[];
}

/**
 * The session key signs the gateway's pending receipt; the gateway submits it with every stage
 * provider's part, draws and reveals the samples (hand-offs checked on chain) and settles it
 * after the windows (chain time fast-forwarded on the local chain). `before`: balances(o) before
 * the job (earned = balance + credit now − before).
 */
export async function receiptAndSettle(
  o: BuyerSetup,
  job: OpenedJob,
  before: bigint[],
  unit: string,
  log: Log,
  answered: ReadonlyMap<number, LoggedResponse>,
): Promise<SettledReceipt> {
  const c = o.deployment.contracts;
  const jobId = job.jobId;
  const todo = await o.gateway.receipt(jobId.toString());
  // The session key signs only a receipt that matches the buyer's own log and the chain's count.
  const onChain = await read<{ count: number; units: number }>(o, c.JobMarket.address, jobMarketAbi, "job", [jobId]);
  checkReceiptToSign(todo, answered, { count: Number(onChain.count), units: Number(onChain.units) });
  const sig = await signBuyerReceipt(job.session, job.domain, { jobId, count: todo.count, units: todo.units, outputRoot: todo.outputRoot });
  const submitted = await o.gateway.submitReceipt(jobId.toString(), {
    count: todo.count,
    units: todo.units,
    outputRoot: todo.outputRoot,
    signature: sig,
  });
  log(
    `  receipt ${submitted.receiptId} for ${unit === "inferences" ? `${todo.count} inferences` : `${todo.count} requests (${todo.units} ${unit})`} submitted with every stage provider's signed part`,
  );

  const state = async () => (await o.gateway.job(jobId.toString())).receipts.find((r) => r.receiptId === submitted.receiptId);
  await rpc(o.chainUrl, "evm_mine");
  await rpc(o.chainUrl, "evm_mine");
  const revealed = await until(
    "the samples to be revealed",
    async () => {
      const r = await state();
      return r && (r.state === "revealed" || r.state === "settled") ? r : false;
    },
    60_000,
    250,
  );
  log(`  ${revealed.samples.length} sampled request(s) revealed with Merkle proofs; hand-offs checked on chain`);
  // Windows count from when the seed was fixed (just before the reveals): the demo's deployment windows.
  const skip = DEMO_WINDOWS.reveal + DEMO_WINDOWS.challenge + 1;
  await rpc(o.chainUrl, "evm_increaseTime", [skip]);
  await rpc(o.chainUrl, "evm_mine");
  log(`  fast-forwarded the local chain ${skip} s past the reveal and challenge windows`);
  await until("settlement", async () => (await state())?.state === "settled", 60_000, 250);
  // Providers withdraw their credits by themselves after settlement: earned = credit + withdrawn,
  // both read at one block (a withdrawal between the two reads counted that credit twice).
  const now = await balances(o);
  const credits = o.providers.map((address, i) => ({ address, amount: now[i] - before[i] }));
  log(`  receipt settled; earned: ${credits.map((x) => `${x.address.slice(0, 8)}… ${tokens(x.amount)}`).join(", ")}`);
  return { receiptId: submitted.receiptId, count: todo.count, units: todo.units, samples: revealed.samples.length, credits };
}

/** The providers' token balances plus unwithdrawn credits now (before a job, to tell what it earned them). */
export async function balances(o: BuyerSetup): Promise<bigint[]> {
  const c = o.deployment.contracts;
  // Both reads at one block: a provider withdrawing its credit between them would be counted twice.
  const blockNumber = await o.publicClient.getBlockNumber({ cacheTime: 0 });
  return Promise.all(
    o.providers.map(
      async (a) =>
        (await read<bigint>(o, c.ShardToken.address, shardTokenAbi, "balanceOf", [a], blockNumber)) +
        (await read<bigint>(o, c.JobMarket.address, jobMarketAbi, "credits", [a], blockNumber)),
    ),
  );
}

async function send(o: BuyerSetup, address: Address, abi: readonly unknown[], functionName: string, args: unknown[]) {
  const buyer = localWallet(o.chainUrl, o.buyerKey);
  const hash = await buyer.writeContract({ address, abi, functionName, args, account: buyer.account, chain: buyer.chain } as never);
  const receipt = await o.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
  return receipt;
}

function read<T>(
  o: BuyerSetup,
  address: Address,
  abi: readonly unknown[],
  functionName: string,
  args: unknown[] = [],
  blockNumber?: bigint,
): Promise<T> {
  return o.publicClient.readContract({ address, abi, functionName, args, blockNumber } as never) as Promise<T>;
}

export async function paidJob(o: BuyerSetup, log: Log): Promise<PaidJobResult> {
  const texts = ["receipt 42", "paid per inference", "ShardMesh 2026"];
  const before = await balances(o);
  const job = await openJob(o, 10, "inferences", log);
  const jobId = job.jobId;
  const results: PaidJobResult["texts"] = [];
  /** The buyer's own log of answers (infer checked each one's hashes against its tensors). */
  const answered = new Map<number, LoggedResponse>();
  for (const [nonce, text] of texts.entries()) {
    const x = recPreprocess(await decodeImage(await renderText([text], { fontSize: 40 })));
    const tensors = { x: tensorFromFloat32([...x.dims], x.data as Float32Array) };
    // The request's number in the job is its nonce: the signature buys this one request only.
    const signature = await signJobRequest(job.session, job.domain, { jobId, nonce: BigInt(nonce), requestHash: jobRequestHash(tensors) });
    const res = await o.gateway.infer({ modelId: o.modelId.toString(), jobId: jobId.toString(), input: { tensors } }, { signature, nonce });
    if (res.index !== null) answered.set(res.index, { requestHash: res.requestHash, responseHash: res.responseHash, nonce });
    const out = Object.values(res.output)[0];
    const [line] = ctcDecode({ dtype: "float32", dims: out.dims, data: new Float32Array(bytesFromTensor(out).slice().buffer) });
    results.push({ sent: text, read: line.text, stages: res.stages.map((s) => s.peerId) });
    log(
      `  request ${res.index}: "${text}" → "${line.text}" (signed by the session key; stages ${res.stages.map((s) => `${s.stage}@${s.peerId.slice(-6)}`).join(", ")})`,
    );
  }
  const r = await receiptAndSettle(o, job, before, "inferences", log, answered);
  return { jobId, texts: results, receiptId: r.receiptId, samples: r.samples, credits: r.credits };
}
