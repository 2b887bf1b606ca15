// The job lifecycle with real processes on 127.0.0.1: a hardhat node, the contracts, the
// PP-OCRv4 recogniser split in 2 stages and published, 3 provider processes that stake and bind
// their peer ids themselves (one serving stage 0 and the gateway, two serving stage 1). A buyer
// fetches quotes signed over the mesh, opens a job, sends session-key-signed requests (outputs
// checked against the whole model), signs the receipt through the gateway; the gateway collects
// every stage provider's signed part, submits, reveals the sampled leaves, settles after the
// window; providers withdraw count × price, the publisher gets its royalty, the buyer its refund.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as ort from "onnxruntime-node";
import { multiaddr } from "@multiformats/multiaddr";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { parseEventLogs, toHex } from "viem";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Address, Hex } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { jobMarketAbi } from "../../node/src/generated/abis.ts";
import { shardMeshDomain, signBuyerReceipt, signedQuoteFromJson } from "../../node/src/receipts/eip712.ts";
import { buildBuyerTree, encodeBuyerLeaves } from "../../node/src/receipts/leaves.ts";
import { ShardMeshClient, type GatewayApiError, bytesFromTensor, tensorFromFloat32 } from "../../node/src/sdk/index.ts";
import type { JsonTensor } from "../../node/src/sdk/index.ts";
import { OCR_MODELS } from "../../node/src/ocr/assets.ts";
import { decodeImage, renderText } from "../../node/src/ocr/image.ts";
import { ctcDecode, recPreprocess } from "../../node/src/ocr/rec.ts";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import { jobRequestHash, signJobRequest } from "../../node/src/jobs/session.ts";
import { callJson } from "../../node/src/jobs/wire.ts";
import { MAX_PART_INDICES, QUOTE_PROTOCOL, RECEIPT_PROTOCOL } from "../../node/src/jobs/constants.ts";
import type { JobsRemoteError } from "../../node/src/jobs/errors.ts";
import { localWallet } from "../../scripts/lib/demo.ts";
import { until } from "../node/mesh/procs.ts";
import { advance, openTestJob, restartChainProvider, rpc, sendTx, startChainProvider, startEnv, stopEnv, STAGE_PRICE } from "./harness.ts";
import { freePort } from "../../scripts/lib/chain.ts";
import type { Env } from "./harness.ts";

const BUYER_KEY = 5;
const MAX_INFERENCES = 8;
const TEXTS = ["ShardMesh 2026", "hello mesh", "receipt 42", "settle now"];
const MORE_TEXTS = ["second receipt", "restart 7"];

let env: Env;
let gateway: ShardMeshClient;
let gatewayAddr = "";
let gatewayProc: Awaited<ReturnType<typeof startChainProvider>>;
const providers: { address: Address; peerId: string; addr: string; stage: number }[] = [];

/** The EIP-712 domain job requests are signed in (chain id + JobMarket). */
const jobDomain = () => shardMeshDomain(31337, env.deployment.contracts.JobMarket.address);

async function input(text: string): Promise<Record<string, JsonTensor>> {
  const x = recPreprocess(await decodeImage(await renderText([text], { fontSize: 40 })));
  return { x: tensorFromFloat32([...x.dims], x.data as Float32Array) };
}

const send = (keyIndex: number, address: Address, abi: readonly unknown[], functionName: string, args: unknown[]) =>
  sendTx(env, keyIndex, address, abi, functionName, args);

async function chainTime(): Promise<bigint> {
  return (await env.publicClient.getBlock()).timestamp;
}

describe("job lifecycle across mesh and chain (real processes)", { timeout: 240_000 }, () => {
  before(async () => {
    env = await startEnv();
    const p1 = await startChainProvider(env, {
      keyIndex: 1,
      stages: [0],
      gateway: true,
      listenPort: await freePort(),
      gatewayPort: await freePort(),
    });
    gatewayProc = p1;
    const p2 = await startChainProvider(env, { keyIndex: 2, stages: [1], bootstrap: [p1.addr] });
    const p3 = await startChainProvider(env, { keyIndex: 3, stages: [1], bootstrap: [p1.addr] });
    providers.push({ ...p1, stage: 0 }, { ...p2, stage: 1 }, { ...p3, stage: 1 });
    gatewayAddr = p1.gateway!;
    gateway = new ShardMeshClient(gatewayAddr);
    // Registered (staked + bound) by the processes themselves, then accepted by the gateway's directory.
    await until(
      "providers bound on chain",
      async () => {
        for (const p of providers) {
          if ((await env.read.staking.read.providerOfPeer([toHex(peerIdFromString(p.peerId).toMultihash().bytes)])) !== p.address)
            return false;
        }
        return true;
      },
      60_000,
      250,
    );
    await until(
      "gateway quotes from all 3 providers",
      async () =>
        (await gateway.quotes(env.modelId.toString(), 1, localWallet(env.chain.url, BUYER_KEY).account.address)).quotes.length === 3,
      60_000,
      500,
    );
  });

  after(async () => {
    await stopEnv(env);
  });

  it("rejects quotes for a model nobody serves with JobsUnknownModelError", async () => {
    await assert.rejects(
      gateway.quotes("999999", 4, localWallet(env.chain.url, BUYER_KEY).account.address),
      (err: GatewayApiError) => err.errorName === "JobsUnknownModelError" && err.status === 404,
    );
  });

  it("quotes, opens a job, serves signed requests, receipts, reveals, settles, pays out and refunds", async () => {
    const c = env.deployment.contracts;
    const buyer = localWallet(env.chain.url, BUYER_KEY).account.address;
    const publisher = localWallet(env.chain.url, 0).account.address;

    // Quotes signed by the providers serving on the mesh, one per (stage, provider).
    const { quotes } = await gateway.quotes(env.modelId.toString(), MAX_INFERENCES, buyer);
    const args = quotes.map(signedQuoteFromJson);
    for (const a of args) assert.equal(a.quote.buyer, buyer, "quotes are made out to the buyer");
    assert.deepEqual(args.map((a) => a.quote.stage).sort(), [0, 1, 1]);
    assert.deepEqual(new Set(args.map((a) => a.quote.provider)), new Set(providers.map((p) => p.address)));
    for (const a of args) assert.equal(a.quote.price, STAGE_PRICE);

    // The buyer opens the job with a fresh session key (expiry beyond two receipts' windows).
    const wins = await env.read.params.read.paramsAt([1n]);
    const session = privateKeyToAccount(generatePrivateKey());
    const request = {
      modelId: env.modelId,
      maxUnits: MAX_INFERENCES,
      expiresAt: (await chainTime()) + 3600n + 4n * BigInt(wins.reveal + wins.challenge),
      sessionKey: session.address,
    };
    const opened = await openTestJob(env, BUYER_KEY, request, args);
    const { escrow } = opened;
    const jobId = opened.jobId.toString();

    // Signed requests; outputs equal the whole model's.
    const whole = await ort.InferenceSession.create(OCR_MODELS.rec);
    const serve = async (texts: string[], first: number) => {
      for (const [i, text] of texts.entries()) {
        const tensors = await input(text);
        // The request's number in the job is its nonce (signed: the signature buys this request only).
        const nonce = first + i;
        const signature = await signJobRequest(session, jobDomain(), {
          jobId: BigInt(jobId),
          nonce: BigInt(nonce),
          requestHash: jobRequestHash(tensors),
        });
        const res = await gateway.infer({ modelId: env.modelId.toString(), jobId, input: { tensors } }, { signature, nonce });
        assert.equal(res.nonce, nonce);
        assert.equal(res.index, first + i);
        assert.deepEqual(
          res.stages.map((s) => s.stage),
          [0, 1],
        );
        const out = Object.values(res.output)[0];
        const got = new Float32Array(bytesFromTensor(out).slice().buffer);
        const x = tensors.x;
        const ref = await whole.run({ x: new ort.Tensor("float32", new Float32Array(bytesFromTensor(x).slice().buffer), x.dims) });
        const want = Object.values(ref)[0].data as Float32Array;
        assert.equal(got.length, want.length);
        let maxDiff = 0;
        for (let k = 0; k < got.length; k++) maxDiff = Math.max(maxDiff, Math.abs(got[k] - want[k]));
        assert.ok(maxDiff < 1e-4, `stage-split output differs from the whole model by ${maxDiff}`);
        const [line] = ctcDecode({ dtype: "float32", dims: out.dims, data: got });
        const [wholeLine] = ctcDecode({ dtype: "float32", dims: out.dims, data: want });
        assert.equal(line.text, wholeLine.text);
        if (first + i === 0) assert.equal(line.text, text);
      }
    };

    // The session key signs what the gateway will submit; the gateway gathers every part and submits.
    const submit = async (from: number, count: number, receiptId: bigint) => {
      const todo = (await gateway.receipt(jobId)) as unknown as {
        from: number;
        count: number;
        units: number;
        outputRoot: Hex;
        requests: number[];
      };
      assert.equal(todo.from, from);
      assert.equal(todo.count, count);
      assert.equal(todo.units, count, "one unit per inference");
      const sig = await signBuyerReceipt(session, shardMeshDomain(31337, c.JobMarket.address), {
        jobId: BigInt(jobId),
        count: todo.count,
        units: todo.units,
        outputRoot: todo.outputRoot,
      });
      const submitted = (await gateway.submitReceipt(jobId, {
        count: todo.count,
        units: todo.units,
        outputRoot: todo.outputRoot,
        signature: sig,
      })) as {
        receiptId: string;
      };
      assert.equal(submitted.receiptId, receiptId.toString());
      const onChain = await env.read.market.read.receipt([BigInt(jobId), receiptId]);
      assert.equal(onChain.outputRoot, todo.outputRoot);
      assert.equal(onChain.from, from);
      assert.equal(onChain.to, count);
      assert.equal(onChain.submitter, providers[0].address);
      return todo;
    };

    // Two blocks later the gateway draws the samples and reveals them (stage leaves from each
    // provider); after the window (chain time moved forward) it settles.
    type R = {
      receiptId: string;
      state: string;
      samples: number[];
      parts: { stage: number; provider: Address; newCount: number }[];
      lastError?: string;
    };
    const receiptState = async (receiptId: bigint) =>
      ((await gateway.job(jobId)).receipts as unknown as R[]).find((r) => r.receiptId === receiptId.toString());
    const w = await env.read.params.read.paramsAt([BigInt((await env.read.market.read.job([BigInt(jobId)])).paramsVersion)]);
    const revealAndSettle = async (receiptId: bigint, requests: number) => {
      await rpc(env.chain.url, "evm_mine");
      await rpc(env.chain.url, "evm_mine");
      const revealed = await until(
        `samples of receipt ${receiptId} revealed`,
        async () => {
          const r = await receiptState(receiptId);
          return r?.state === "revealed" ? r : false;
        },
        60_000,
        250,
      );
      assert.ok(revealed.samples.length >= 1);
      const check = await env.read.spotCheck.read.receiptCheck([BigInt(jobId), receiptId]);
      assert.equal(check.resolved, check.samples, "every sample resolved clean");
      // Stage 0 by the gateway's provider for every request; stage 1 split among its providers.
      for (const stage of [0, 1])
        assert.equal(
          revealed.parts.filter((p) => p.stage === stage).reduce((n, p) => n + p.newCount, 0),
          requests,
        );
      await advance(env.chain.url, w.reveal + w.challenge + 1);
      await until(`receipt ${receiptId} settled`, async () => (await receiptState(receiptId))?.state === "settled", 60_000, 250);
      assert.equal((await env.read.market.read.receipt([BigInt(jobId), receiptId])).status, 2);
      return revealed;
    };

    await serve(TEXTS, 0);
    await submit(0, TEXTS.length, 0n);
    const first = await revealAndSettle(0n, TEXTS.length);

    // A second receipt (cumulative counts per provider); the gateway's process restarts right after
    // submitting it, reloads it from its data folder, then reveals and settles it.
    // A request the model cannot take (outside its request bounds) is refused by name before it is
    // admitted: it gets no index, and the job's request indices stay dense (a request that fails
    // after admission gives its unit back, jobs/admission.ts).
    const bad = { x: tensorFromFloat32([1, 1, 48, 320], new Float32Array(48 * 320)) };
    await assert.rejects(
      gateway.infer(
        { modelId: env.modelId.toString(), jobId, input: { tensors: bad } },
        {
          nonce: TEXTS.length,
          signature: await signJobRequest(session, jobDomain(), {
            jobId: BigInt(jobId),
            nonce: BigInt(TEXTS.length),
            requestHash: jobRequestHash(bad),
          }),
        },
      ),
      (err: GatewayApiError) => err.status === 400 && err.errorName === "InputOutOfBoundsError",
    );
    await serve(MORE_TEXTS, TEXTS.length);
    const todo2 = await submit(TEXTS.length, TEXTS.length + MORE_TEXTS.length, 1n);
    assert.deepEqual(todo2.requests, [TEXTS.length, TEXTS.length + 1]);
    const p1 = await restartChainProvider(env, gatewayProc);
    assert.equal(p1.gateway, gatewayAddr);
    const second = await revealAndSettle(1n, MORE_TEXTS.length);
    await whole.release();

    // Every provider withdraws count × price.
    const expected = new Map<Address, bigint>();
    for (const p of [...first.parts, ...second.parts])
      expected.set(p.provider, (expected.get(p.provider) ?? 0n) + BigInt(p.newCount) * STAGE_PRICE);
    const withdrawn = async (account: Address) => {
      const logs = await env.read.market.getEvents.Withdrawn({ account }, { fromBlock: 0n });
      return logs.reduce((s, l) => s + (l.args.amount ?? 0n), 0n);
    };
    await until(
      "providers withdrew their credits",
      async () => {
        for (const [a, amount] of expected) if ((await withdrawn(a)) !== amount) return false;
        return true;
      },
      60_000,
      250,
    );
    for (const [a] of expected) assert.equal(await env.read.market.read.credits([a]), 0n);
    const providerPay = [...expected.values()].reduce((s, v) => s + v, 0n);
    assert.equal(providerPay, BigInt(TEXTS.length + MORE_TEXTS.length) * 2n * STAGE_PRICE);

    // The publisher's royalty (500 bps of provider pay).
    const royalties = await env.read.market.getEvents.Credited({ account: publisher }, { fromBlock: 0n });
    const royalty = royalties.filter((l) => l.args.kind === 1 && l.args.jobId === BigInt(jobId)).reduce((s, l) => s + l.args.amount!, 0n);
    assert.equal(royalty, (providerPay * 500n) / 10_000n);

    // After expiry the job closes and the unused escrow is refunded to the buyer.
    const job = await env.read.market.read.job([BigInt(jobId)]);
    assert.ok(job.escrow > 0n);
    await advance(env.chain.url, Number(job.expiresAt - (await chainTime())) + 1);
    const closed = await send(BUYER_KEY, c.JobMarket.address, jobMarketAbi, "closeJob", [BigInt(jobId)]);
    const [closeEv] = parseEventLogs({ abi: jobMarketAbi, eventName: "JobClosed", logs: closed.logs });
    assert.equal(closeEv.args.refund, job.escrow);
    assert.equal(
      closeEv.args.refund,
      // No verifier runs here: the verifier fee is paid only for attested samples and stays in escrow.
      escrow - providerPay - royalty - (providerPay * BigInt(job.treasuryFeeBps)) / 10_000n,
    );
    // A closed job takes no more requests.
    const late = await input("too late");
    await assert.rejects(
      gateway.infer(
        { modelId: env.modelId.toString(), jobId, input: { tensors: late } },
        {
          nonce: 0,
          signature: await signJobRequest(session, jobDomain(), { jobId: BigInt(jobId), nonce: 0n, requestHash: jobRequestHash(late) }),
        },
      ),
      (err: GatewayApiError) => err.errorName === "JobsJobUnavailableError" && err.status === 409,
    );
    const before = await env.read.token.read.balanceOf([buyer]);
    await send(BUYER_KEY, c.JobMarket.address, jobMarketAbi, "withdraw", []);
    assert.equal((await env.read.token.read.balanceOf([buyer])) - before, job.escrow);
  });

  it("a job quoted by one provider per stage: routed only to them; forged requests, overuse and bad receipt signatures are refused by name", async () => {
    const c = env.deployment.contracts;
    const [p1, p2] = providers;
    const { quotes } = await gateway.quotes(env.modelId.toString(), 3, localWallet(env.chain.url, BUYER_KEY).account.address);
    const args = quotes.map(signedQuoteFromJson).filter((a) => a.quote.provider === p1.address || a.quote.provider === p2.address);
    assert.equal(args.length, 2);
    const session = privateKeyToAccount(generatePrivateKey());
    const request = { modelId: env.modelId, maxUnits: 3, expiresAt: (await chainTime()) + 3600n, sessionKey: session.address };
    const jobId = (await openTestJob(env, BUYER_KEY, request, args, "1")).jobId.toString();

    // A request signed by another key than the job's session key.
    const forgedInput = await input("forged");
    const forged = await signJobRequest(privateKeyToAccount(generatePrivateKey()), jobDomain(), {
      jobId: BigInt(jobId),
      nonce: 0n,
      requestHash: jobRequestHash(forgedInput),
    });
    await assert.rejects(
      gateway.infer({ modelId: env.modelId.toString(), jobId, input: { tensors: forgedInput } }, { signature: forged, nonce: 0 }),
      (err: GatewayApiError) => err.errorName === "GatewayUnauthorizedError" && err.status === 401,
    );
    // The session key's own signature, but for another job: EIP-712 binds it to this job.
    const replayed = await signJobRequest(session, jobDomain(), {
      jobId: BigInt(jobId) + 1n,
      nonce: 0n,
      requestHash: jobRequestHash(forgedInput),
    });
    await assert.rejects(
      gateway.infer({ modelId: env.modelId.toString(), jobId, input: { tensors: forgedInput } }, { signature: replayed, nonce: 0 }),
      (err: GatewayApiError) => err.errorName === "GatewayUnauthorizedError" && err.status === 401,
    );
    await assert.rejects(
      gateway.infer({ modelId: env.modelId.toString(), jobId, input: { tensors: forgedInput } }, { signature: "0x1234", nonce: 0 }),
      (err: GatewayApiError) => err.errorName === "GatewayUnauthorizedError",
    );
    assert.equal((await gateway.job(jobId)).served, 0);
    await assert.rejects(
      gateway.receipt(jobId),
      (err: GatewayApiError) => err.errorName === "JobsNothingToReceiptError" && err.status === 409,
    );

    // Three signed requests, stage 1 always on the quoted provider (p3 serves stage 1 too).
    for (const [nonce, text] of ["one", "two", "three"].entries()) {
      const tensors = await input(text);
      const signature = await signJobRequest(session, jobDomain(), {
        jobId: BigInt(jobId),
        nonce: BigInt(nonce),
        requestHash: jobRequestHash(tensors),
      });
      const res = await gateway.infer({ modelId: env.modelId.toString(), jobId, input: { tensors } }, { signature, nonce });
      assert.deepEqual(
        res.stages.map((s) => s.peerId),
        [p1.peerId, p2.peerId],
      );
    }
    const extra = await input("four");
    await assert.rejects(
      gateway.infer(
        { modelId: env.modelId.toString(), jobId, input: { tensors: extra } },
        {
          nonce: 3,
          signature: await signJobRequest(session, jobDomain(), { jobId: BigInt(jobId), nonce: 3n, requestHash: jobRequestHash(extra) }),
        },
      ),
      (err: GatewayApiError) => err.errorName === "JobsJobUnavailableError" && err.status === 409,
    );

    // Receipt: a stranger's signature and a wrong count are refused before any transaction.
    const todo = await gateway.receipt(jobId);
    assert.equal(todo.count, 3);
    const domain = shardMeshDomain(31337, c.JobMarket.address);
    const stranger = await signBuyerReceipt(privateKeyToAccount(generatePrivateKey()), domain, {
      jobId: BigInt(jobId),
      count: 3,
      units: 3,
      outputRoot: todo.outputRoot,
    });
    await assert.rejects(
      gateway.submitReceipt(jobId, { count: 3, units: 3, outputRoot: todo.outputRoot, signature: stranger }),
      (err: GatewayApiError) => err.errorName === "JobsBadReceiptSignatureError" && err.status === 401,
    );
    const short = await signBuyerReceipt(session, domain, { jobId: BigInt(jobId), count: 2, units: 2, outputRoot: todo.outputRoot });
    await assert.rejects(
      gateway.submitReceipt(jobId, { count: 2, units: 2, outputRoot: todo.outputRoot, signature: short }),
      (err: GatewayApiError) => err.errorName === "JobsReceiptMismatchError" && err.status === 409,
    );
    assert.equal((await env.read.market.read.job([BigInt(jobId)])).receiptCount, 0);
    const good = await signBuyerReceipt(session, domain, { jobId: BigInt(jobId), count: 3, units: 3, outputRoot: todo.outputRoot });
    await gateway.submitReceipt(jobId, { count: 3, units: 3, outputRoot: todo.outputRoot, signature: good });
    const terms = await env.read.market.read.stageTerms([BigInt(jobId), 1n, p2.address]);
    assert.equal(terms.served, 3);
  });

  it("admits a job's requests atomically under its number: a failed request gives its unit back, 10 concurrent on a 2-unit job serve exactly 2", async () => {
    const [p1, p2] = providers;
    const buyer = localWallet(env.chain.url, BUYER_KEY).account.address;
    const { quotes } = await gateway.quotes(env.modelId.toString(), 2, buyer);
    const args = quotes.map(signedQuoteFromJson).filter((a) => a.quote.provider === p1.address || a.quote.provider === p2.address);
    const session = privateKeyToAccount(generatePrivateKey());
    const request = { modelId: env.modelId, maxUnits: 2, expiresAt: (await chainTime()) + 3600n, sessionKey: session.address };
    const { jobId } = await openTestJob(env, BUYER_KEY, request, args, "1");
    const signed = async (tensors: Record<string, JsonTensor>, nonce: number) => ({
      nonce,
      signature: await signJobRequest(session, jobDomain(), { jobId, nonce: BigInt(nonce), requestHash: jobRequestHash(tensors) }),
    });

    // A correctly signed request whose tensor's bytes do not fill its dims: it fails on the way,
    // and must neither use a unit nor leave a hole in the job's request indices.
    const good = await input("admit");
    const broken = { x: { ...good.x, data: good.x.data.slice(0, 64) } };
    await assert.rejects(
      gateway.infer({ modelId: env.modelId.toString(), jobId: jobId.toString(), input: { tensors: broken } }, await signed(broken, 0)),
    );

    // 10 signed requests at once (nonces 0..9), the job id spelled three ways: exactly 2 are served
    // (nonces 0 and 1; the job's other nonces are out of its range).
    const texts = Array.from({ length: 10 }, (_, i) => `concurrent ${i}`);
    const inputs = await Promise.all(texts.map((t) => input(t)));
    const results = await Promise.allSettled(
      inputs.map(async (tensors, i) =>
        gateway.infer(
          { modelId: env.modelId.toString(), jobId: "0".repeat(i % 3) + jobId.toString(), input: { tensors } },
          await signed(tensors, i),
        ),
      ),
    );
    const served = results.filter((r) => r.status === "fulfilled").map((r) => r.value.index);
    assert.deepEqual(served.sort(), [0, 1], `served ${served.length} of 10 on a 2-unit job`);
    assert.deepEqual(
      results.slice(0, 2).map((r) => r.status),
      ["fulfilled", "fulfilled"],
      "nonces 0 and 1 served",
    );
    for (const r of results) {
      if (r.status === "rejected") {
        const e = r.reason as GatewayApiError;
        assert.ok(
          (e.errorName === "JobsJobUnavailableError" && e.status === 409) ||
            (e.errorName === "JobsNonceOutOfRangeError" && e.status === 400),
          `${e.errorName}: ${e.message}`,
        );
      }
    }
    const status = await gateway.job(`00${jobId}`);
    assert.equal(status.served, 2);
    // The receipt counts the 2 answered requests.
    const todo = await gateway.receipt(jobId.toString());
    assert.equal(todo.count, 2);
  });

  it("a provider refuses to sign a part for requests it did not serve (JobsPartNotServedError)", async () => {
    const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    try {
      const p2 = providers[1];
      await node.dial(multiaddr(p2.addr));
      // A receipt whose buyer leaves route requests this provider never served to it at stage 1.
      const leaves = Array.from({ length: 8 }, (_, k) => ({
        index: k,
        nonce: BigInt(1_000 + k),
        units: 1,
        requestHash: `0x${"22".repeat(32)}` as Hex,
        responseHash: `0x${"33".repeat(32)}` as Hex,
        route: [providers[0].address, p2.address],
      }));
      const ask = { op: "part", jobId: "1", stage: 1, buyer: encodeBuyerLeaves(leaves), outputRoot: buildBuyerTree(leaves).root };
      await assert.rejects(
        callJson(node, p2.peerId, RECEIPT_PROTOCOL, ask),
        (err: JobsRemoteError) => err.name === "JobsRemoteError" && err.remoteName === "JobsPartNotServedError",
      );
      // Stage 0 of job 1 routes to someone else: nothing of this receipt is this provider's there.
      await assert.rejects(
        callJson(node, p2.peerId, RECEIPT_PROTOCOL, { ...ask, stage: 0 }),
        (err: JobsRemoteError) => err.remoteName === "JobsPartNotServedError",
      );
      // Leaves that do not hash to the outputRoot to sign.
      await assert.rejects(
        callJson(node, p2.peerId, RECEIPT_PROTOCOL, { ...ask, outputRoot: `0x${"11".repeat(32)}` }),
        (err: JobsRemoteError) => err.remoteName === "JobsPartRootMismatchError",
      );
      await assert.rejects(
        callJson(node, p2.peerId, QUOTE_PROTOCOL, {
          modelId: env.modelId.toString(),
          stage: 0,
          maxUnits: 4,
          buyer: localWallet(env.chain.url, BUYER_KEY).account.address,
        }),
        (err: JobsRemoteError) => err.remoteName === "JobsNotServedError",
      );
      // Oversized requests are refused before sending; malformed ones get a named protocol error.
      const many = (n: number) => ({
        from: 0,
        routes: [[providers[0].address, p2.address]],
        leaves: Array.from({ length: n }, (_, k) => [String(k), 1, `0x${"22".repeat(32)}`, `0x${"33".repeat(32)}`, 0]),
      });
      await assert.rejects(
        callJson(node, p2.peerId, RECEIPT_PROTOCOL, { ...ask, buyer: many(20_000) }),
        (err: Error) => err.name === "JobsProtocolError",
      );
      await assert.rejects(
        callJson(node, p2.peerId, RECEIPT_PROTOCOL, { ...ask, buyer: many(MAX_PART_INDICES + 1) }),
        (err: JobsRemoteError) => err.remoteName === "JobsProtocolError",
      );
      await assert.rejects(
        callJson(node, p2.peerId, RECEIPT_PROTOCOL, { ...ask, buyer: { ...ask.buyer, from: -1 } }),
        (err: JobsRemoteError) => err.remoteName === "JobsProtocolError",
      );
    } finally {
      await node.stop();
    }
  });
});
