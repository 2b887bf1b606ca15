// A broken hand-off faults the side that lied, never its honest neighbour (issue 10 item 1), with
// real processes on 127.0.0.1: a hardhat node with every contract, the recogniser split in 2
// stages, a provider serving stage 0 and the gateway (the cheater) and one serving stage 1 (honest).
// The stage-0 provider sends the honest activations (so the router passes them on and its HandOff
// signature is over them) but records and reveals another output hash — what a cheater does to
// make its neighbour look wrong (as the gateway it also gets that into the receipt). SpotCheck opens a hand-off claim at boundary 1; the
// stage-1 provider's watcher presents the HandOff it kept, and the stage-0 provider is faulted
// (HandOffContradicted). On the old node nothing was signed, kept or presented: the claim ran
// out and the honest stage-1 provider was slashed (HandOffUnbacked).
// And a gateway that reveals its own leaves but not the stage-1 provider's (gone, or withholding
// on purpose) cannot get it faulted either: the provider reveals its own leaf itself (the old
// node did not: Unrevealed).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { keccak256, toHex } from "viem";
import type { Address, Hex } from "viem";
import { peerIdFromString } from "@libp2p/peer-id";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { spotCheckAbi } from "../../node/src/generated/abis.ts";
import { shardMeshDomain, signBuyerReceipt, signedQuoteFromJson } from "../../node/src/receipts/eip712.ts";
import { ShardMeshClient, tensorFromFloat32 } from "../../node/src/sdk/index.ts";
import { decodeImage, renderText } from "../../node/src/ocr/image.ts";
import { recPreprocess } from "../../node/src/ocr/rec.ts";
import { jobRequestHash, signJobRequest } from "../../node/src/jobs/session.ts";
import { localWallet } from "../../scripts/lib/demo.ts";
import { freePort } from "../../scripts/lib/chain.ts";
import { stopProc, until } from "../node/mesh/procs.ts";
import { advance, openTestJob, rpc, sendTx, startChainProvider, startEnv, stopEnv } from "./harness.ts";
import type { Env } from "./harness.ts";

const BUYER_KEY = 5;
/** IJobMarket.FaultReason */
const REASON = { HandOffContradicted: 4, HandOffUnbacked: 5 } as const;

let env: Env;

const send = (keyIndex: number, address: Address, abi: readonly unknown[], functionName: string, args: unknown[]) =>
  sendTx(env, keyIndex, address, abi, functionName, args);

describe("a broken hand-off faults the upstream that lied, not the honest downstream (real processes)", { timeout: 240_000 }, () => {
  let upstream: Awaited<ReturnType<typeof startChainProvider>>;
  let downstream: Awaited<ReturnType<typeof startChainProvider>>;
  let gateway: ShardMeshClient;

  before(async () => {
    env = await startEnv();
    upstream = await startChainProvider(env, {
      keyIndex: 1,
      stages: [0],
      gateway: true,
      listenPort: await freePort(),
      gatewayPort: await freePort(),
    });
    downstream = await startChainProvider(env, { keyIndex: 2, stages: [1], bootstrap: [upstream.addr] });
    gateway = new ShardMeshClient(upstream.gateway!);
    await until(
      "providers bound on chain",
      async () => {
        for (const p of [upstream, downstream])
          if ((await env.read.staking.read.providerOfPeer([toHex(peerIdFromString(p.peerId).toMultihash().bytes)])) !== p.address)
            return false;
        return true;
      },
      60_000,
      250,
    );
    const buyer = localWallet(env.chain.url, BUYER_KEY).account.address;
    await until(
      "gateway quotes from both providers",
      async () => (await gateway.quotes(env.modelId.toString(), 1, buyer)).quotes.length === 2,
      60_000,
      500,
    );
  });

  after(async () => {
    await stopEnv(env);
  });

  /** Opens a 2-unit job on both providers' quotes and serves one request under it (nonce 0). */
  async function oneRequest() {
    const c = env.deployment.contracts;
    const buyer = localWallet(env.chain.url, BUYER_KEY).account.address;
    const { quotes } = await gateway.quotes(env.modelId.toString(), 2, buyer);
    const args = quotes.map(signedQuoteFromJson);
    const session = privateKeyToAccount(generatePrivateKey());
    const wins = await env.read.params.read.paramsAt([1n]);
    const request = {
      modelId: env.modelId,
      maxUnits: 2,
      expiresAt: (await env.publicClient.getBlock()).timestamp + 3600n + 4n * BigInt(wins.reveal + wins.challenge + wins.handOff),
      sessionKey: session.address,
    };
    const jobId = (await openTestJob(env, BUYER_KEY, request, args)).jobId.toString();
    const domain = shardMeshDomain(31337, c.JobMarket.address);

    // One honest request through both stages.
    const x = recPreprocess(await decodeImage(await renderText(["hand off"], { fontSize: 40 })));
    const tensors = { x: tensorFromFloat32([...x.dims], x.data as Float32Array) };
    const signature = await signJobRequest(session, domain, { jobId: BigInt(jobId), nonce: 0n, requestHash: jobRequestHash(tensors) });
    const res = await gateway.infer({ modelId: env.modelId.toString(), jobId, input: { tensors } }, { signature, nonce: 0 });
    assert.deepEqual(
      res.stages.map((s) => s.peerId),
      [upstream.peerId, downstream.peerId],
    );
    return { jobId, domain, session, wins };
  }

  /** The buyer signs the receipt of the job's one request; the gateway submits it (receipt 0). */
  async function submitReceipt(jobId: string, domain: ReturnType<typeof shardMeshDomain>, session: ReturnType<typeof privateKeyToAccount>) {
    const todo = (await gateway.receipt(jobId)) as unknown as { count: number; units: number; outputRoot: Hex };
    const sig = await signBuyerReceipt(session, domain, { jobId: BigInt(jobId), ...todo });
    await gateway.submitReceipt(jobId, { ...todo, signature: sig });
  }

  it("the stage-1 provider presents the stage-0 provider's HandOff; stage 0 is faulted, stage 1 is not", async () => {
    const { jobId, domain, session, wins } = await oneRequest();

    // The cheat: stage 0 rewrites the output hash it recorded (and will sign its part over and
    // reveal). It is the gateway too, so it rewrites its record of the route's hashes as well (an
    // honest gateway refuses a part whose root differs from what it received: only a gateway in
    // league with the upstream gets such a receipt on chain).
    const db = new DatabaseSync(join(env.work, "provider-1", "data", "trace.sqlite"));
    const lie: Hex = keccak256(toHex("not what was sent"));
    const changed = db.prepare("UPDATE trace SET output_hash = ? WHERE job_id = ? AND stage = 0").run(lie, jobId).changes;
    assert.equal(Number(changed), 1);
    const rec = db.prepare("SELECT stages FROM requests WHERE job_id = ?").get(jobId) as { stages: string };
    const stages = (JSON.parse(rec.stages) as { stage: number; outputHash: string }[]).map((s) =>
      s.stage === 0 ? { ...s, outputHash: lie } : s,
    );
    db.prepare("UPDATE requests SET stages = ? WHERE job_id = ?").run(JSON.stringify(stages), jobId);
    db.close();

    // The buyer signs the receipt; the gateway submits it, draws the sample (the only request) and reveals it.
    await submitReceipt(jobId, domain, session);
    await rpc(env.chain.url, "evm_mine");
    await rpc(env.chain.url, "evm_mine");
    const opened0 = await until(
      "hand-off claim opened at boundary 1",
      async () => {
        const logs = await env.read.spotCheck.getEvents.HandOffClaimOpened({ jobId: BigInt(jobId) }, { fromBlock: 0n });
        return logs.length > 0 ? logs : false;
      },
      60_000,
      250,
    );
    assert.equal(opened0[0].args.boundary, 1n);

    // The honest downstream's watcher answers within the claim window; if it does not (the old
    // node), the window runs out and the gateway reports the sample, which faults the downstream.
    const resolved = async () => (await env.read.spotCheck.read.sample([BigInt(jobId), 0n, 0n])).resolved;
    const answered = await until("claim answered", resolved, 30_000, 250).then(
      () => true,
      () => false,
    );
    if (!answered) {
      await advance(env.chain.url, wins.reveal + wins.handOff + 1);
      await until("sample resolved after the windows", resolved, 60_000, 250);
    }
    const faults = await env.read.market.getEvents.ProviderFaulted({ jobId: BigInt(jobId) }, { fromBlock: 0n });
    const got = faults.map((f) => [f.args.provider, f.args.reason]);
    assert.deepEqual(got, [[upstream.address, REASON.HandOffContradicted]], "only the upstream that contradicted its own hand-off");
    assert.ok(answered, "answered before the claim's deadline");
    const presented = await env.read.spotCheck.getEvents.HandOffClaimAnswered({ jobId: BigInt(jobId) }, { fromBlock: 0n });
    assert.equal(presented.length, 1);
    assert.equal(presented[0].args.upstream, upstream.address);
  });

  it("a provider whose leaf the gateway does not reveal reveals it itself; nobody is faulted (issue 10 item 17)", async () => {
    const { jobId, domain, session, wins } = await oneRequest();
    await submitReceipt(jobId, domain, session);
    // The stage-1 provider is away while the gateway reveals: the gateway reveals the buyer leaf
    // and its own stage-0 leaf, then goes away itself (or withholds stage 1's leaf on purpose).
    await stopProc(downstream);
    env.procs = env.procs.filter((p) => p.child !== downstream.child);
    await rpc(env.chain.url, "evm_mine");
    await rpc(env.chain.url, "evm_mine");
    await until(
      "the gateway revealed the buyer leaf and stage 0",
      async () => {
        const sample = await env.read.spotCheck.read.sample([BigInt(jobId), 0n, 0n]);
        return sample.buyerRevealed && (sample.stageMask & 1) === 1;
      },
      60_000,
      250,
    );
    await stopProc(upstream);
    env.procs = env.procs.filter((p) => p.child !== upstream.child);
    downstream = await startChainProvider(env, downstream.opts);
    // Half the reveal window later the stage-1 provider reveals its own leaf; the sample resolves clean.
    await advance(env.chain.url, Math.ceil(wins.reveal / 2) + 1);
    const resolved = async () => (await env.read.spotCheck.read.sample([BigInt(jobId), 0n, 0n])).resolved;
    const revealed = await until("stage 1 revealed by its own provider", resolved, 60_000, 250).then(
      () => true,
      () => false,
    );
    if (!revealed) {
      // The old node: nobody reveals stage 1; after the window anyone reports the sample.
      await advance(env.chain.url, wins.reveal);
      const route = [upstream.address, downstream.address];
      await send(0, env.deployment.contracts.SpotCheck.address, spotCheckAbi, "reportMissing", [BigInt(jobId), 0n, 0n, route]);
    }
    const faults = await env.read.market.getEvents.ProviderFaulted({ jobId: BigInt(jobId) }, { fromBlock: 0n });
    assert.deepEqual(
      faults.map((f) => [f.args.provider, f.args.reason]),
      [],
      "no provider faulted",
    );
    assert.ok(revealed, "the sample resolved with every leaf revealed");
    const sample = await env.read.spotCheck.read.sample([BigInt(jobId), 0n, 0n]);
    assert.equal(sample.stageMask, 3);
    assert.equal(sample.faulted, false);
  });
});
