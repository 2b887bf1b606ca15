// A buyer's paid job in the demo: quotes signed by the providers over the mesh, escrow opened
// with a fresh session key, session-key-signed requests, a receipt the session key signs and
// the gateway submits with every stage provider's part, samples drawn and revealed, and the
// receipt settled after the challenge window (chain time fast-forwarded on the local chain).
import { parseEventLogs, parseEther, type Address, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { jobMarketAbi, shardTokenAbi } from "../../node/src/generated/abis.ts";
import type { Deployment } from "../../node/src/chain/deployments.ts";
import { DEMO_WINDOWS } from "../../node/src/chain/params.ts";
import { jobRequestHash, signJobRequest } from "../../node/src/jobs/session.ts";
import { decodeImage, renderText } from "../../node/src/ocr/image.ts";
import { ctcDecode, recPreprocess } from "../../node/src/ocr/rec.ts";
import { shardMeshDomain, signBuyerReceipt, signedQuoteFromJson } from "../../node/src/receipts/eip712.ts";
import { bytesFromTensor, tensorFromFloat32, type ShardMeshClient } from "../../node/src/sdk/index.ts";
import { rpc, tokens } from "../lib/chain.ts";
import { until } from "../lib/wait.ts";
import { localWallet } from "../lib/demo.ts";
import type { Log } from "./market.ts";

export interface PaidJobResult {
  jobId: bigint;
  texts: { sent: string; read: string }[];
  receiptId: string;
  samples: number;
  credits: { address: Address; amount: bigint }[];
}

export async function paidJob(
  o: {
    chainUrl: string;
    publicClient: PublicClient;
    deployment: Deployment;
    gateway: ShardMeshClient;
    modelId: bigint;
    buyerKey: number;
    providers: Address[];
  },
  log: Log,
): Promise<PaidJobResult> {
  const c = o.deployment.contracts;
  const buyer = localWallet(o.chainUrl, o.buyerKey);
  const send = async (address: Address, abi: readonly unknown[], functionName: string, args: unknown[]) => {
    const hash = await buyer.writeContract({ address, abi, functionName, args, account: buyer.account, chain: buyer.chain } as never);
    const receipt = await o.publicClient.waitForTransactionReceipt({ hash });
    if (receipt.status !== "success") throw new Error(`${functionName} reverted`);
    return receipt;
  };
  const read = <T>(address: Address, abi: readonly unknown[], functionName: string, args: unknown[] = []) =>
    o.publicClient.readContract({ address, abi, functionName, args } as never) as Promise<T>;

  const texts = ["receipt 42", "paid per inference", "ShardMesh 2026"];
  const balance = (a: Address) => read<bigint>(c.ShardToken.address, shardTokenAbi, "balanceOf", [a]);
  const before = await Promise.all(o.providers.map(balance));
  const { quotes } = await o.gateway.quotes(o.modelId.toString(), 10, buyer.account.address);
  const args = quotes.map(signedQuoteFromJson);
  log(
    `  ${args.length} quotes signed over the mesh (${args.map((a) => `stage ${a.quote.stage} by ${a.quote.provider.slice(0, 8)}…`).join(", ")})`,
  );

  const now = (await o.publicClient.getBlock()).timestamp;
  const session = privateKeyToAccount(generatePrivateKey());
  const request = {
    modelId: o.modelId,
    maxUnits: 10,
    expiresAt: now + 3600n + 4n * BigInt(DEMO_WINDOWS.reveal + DEMO_WINDOWS.challenge),
    sessionKey: session.address,
  };
  const escrow = await read<bigint>(c.JobMarket.address, jobMarketAbi, "escrowFor", [request, args]);
  await send(c.ShardToken.address, shardTokenAbi, "faucet", [parseEther("10")]);
  await send(c.ShardToken.address, shardTokenAbi, "approve", [c.JobMarket.address, escrow]);
  const opened = await send(c.JobMarket.address, jobMarketAbi, "openJob", [request, args]);
  const [ev] = parseEventLogs({ abi: jobMarketAbi, eventName: "JobOpened", logs: opened.logs });
  const jobId = ev.args.jobId;
  log(
    `  job ${jobId} opened by ${buyer.account.address.slice(0, 10)}…: escrow ${tokens(escrow)} for up to 10 inferences, session key ${session.address.slice(0, 10)}…`,
  );

  const results: PaidJobResult["texts"] = [];
  for (const text of texts) {
    const x = recPreprocess(await decodeImage(await renderText([text], { fontSize: 40 })));
    const tensors = { x: tensorFromFloat32([...x.dims], x.data as Float32Array) };
    const signature = await signJobRequest(session, shardMeshDomain(o.deployment.chainId, c.JobMarket.address), {
      jobId,
      requestHash: jobRequestHash(tensors),
    });
    const res = await o.gateway.infer({ modelId: o.modelId.toString(), jobId: jobId.toString(), input: { tensors } }, { signature });
    const out = Object.values(res.output)[0];
    const [line] = ctcDecode({ dtype: "float32", dims: out.dims, data: new Float32Array(bytesFromTensor(out).slice().buffer) });
    results.push({ sent: text, read: line.text });
    log(
      `  request ${res.index}: "${text}" → "${line.text}" (signed by the session key; stages ${res.stages.map((s) => `${s.stage}@${s.peerId.slice(-6)}`).join(", ")})`,
    );
  }

  const todo = await o.gateway.receipt(jobId.toString());
  const sig = await signBuyerReceipt(session, shardMeshDomain(o.deployment.chainId, c.JobMarket.address), {
    jobId,
    count: todo.count,
    units: todo.units,
    outputRoot: todo.outputRoot,
  });
  const submitted = await o.gateway.submitReceipt(jobId.toString(), {
    count: todo.count,
    units: todo.units,
    outputRoot: todo.outputRoot,
    signature: sig,
  });
  log(`  receipt ${submitted.receiptId} for ${todo.count} inferences submitted with every stage provider's signed part`);

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
  // Providers withdraw their credits by themselves after settlement: earned = credit + withdrawn.
  const credits = await Promise.all(
    o.providers.map(async (address, i) => ({
      address,
      amount: (await read<bigint>(c.JobMarket.address, jobMarketAbi, "credits", [address])) + (await balance(address)) - before[i],
    })),
  );
  log(`  receipt settled; earned: ${credits.map((x) => `${x.address.slice(0, 8)}… ${tokens(x.amount)}`).join(", ")}`);
  return { jobId, texts: results, receiptId: submitted.receiptId, samples: revealed.samples.length, credits };
}
