// `shardmesh verifier start`: flags and config file (named VerifierConfigError), and the real
// command as a child process against a hardhat node on a free port with the contracts deployed:
// it joins, reports its staked address as eligible, and exits cleanly on SIGTERM.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { createPublicClient, http, parseEther, parseEventLogs, sha256, toHex } from "viem";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { jobMarketAbi } from "../../node/src/generated/abis.ts";
import type { PublicClient } from "viem";
import { DEV_KEYS, freePort, startLocalChain } from "../../scripts/lib/chain.ts";
import type { LocalChain } from "../../scripts/lib/chain.ts";
import { deployAll, writeDeployment } from "../../scripts/lib/deploy.ts";
import { localWallet } from "../../scripts/lib/demo.ts";
import { seedProvider } from "../../scripts/lib/seed.ts";
import { seedModel } from "../../scripts/lib/seed.ts";
import { loadVerifierConfig } from "../../node/src/verifier/config.ts";
import { attachVerifier } from "../../node/src/verifier/attach.ts";
import type { VerifierEvent } from "../../node/src/verifier/service.ts";
import { loadManifest } from "../../node/src/inference/manifest.ts";
import { shardMeshContracts } from "../../node/src/chain/contracts.ts";
import type { Deployment } from "../../node/src/chain/deployments.ts";
import { waitTx } from "../../node/src/chain/provider.ts";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import { shardMeshDomain, signQuote } from "../../node/src/receipts/index.ts";
import { until } from "../node/mesh/procs.ts";
import { buildRealReceipt, hashOf, serveRequest, splitCls, startStageProvider, swapped } from "./fixture.ts";
import type { StageProvider } from "./fixture.ts";

const BIN = new URL("../../node/bin/shardmesh.js", import.meta.url).pathname;
const KEY = DEV_KEYS[6];

const named = (name: string) => (err: Error) => {
  assert.equal(err.name, name, `${err.name}: ${err.message}`);
  return true;
};

describe("verifier config", () => {
  const base = ["--rpc", "http://127.0.0.1:1", "--staking-key", KEY, "--model", "1=./m/manifest.json"];

  it("parses flags: models, spot-check rate, poll interval, withdraw, no-dht", () => {
    const { config, json } = loadVerifierConfig(
      [...base, "--model", "2=/abs/manifest.json", "--spot-check", "50000", "--poll-ms", "200", "--withdraw", "--no-dht", "--json"],
      {},
    );
    assert.equal(json, true);
    assert.deepEqual(
      config.models.map((m) => m.modelId),
      ["1", "2"],
    );
    assert.equal(config.models[1].manifest, "/abs/manifest.json");
    assert.ok(config.models[0].manifest.endsWith("/m/manifest.json"));
    assert.equal(config.spotCheckPpm, 50_000);
    assert.equal(config.pollMs, 200);
    assert.equal(config.withdraw, true);
    assert.equal(config.dht, false);
    assert.equal(config.chain?.rpcUrl, "http://127.0.0.1:1");
  });

  it("reads a config file with paths relative to it; flags win", () => {
    const dir = mkdtempSync(join(tmpdir(), "shardmesh-vcfg-"));
    try {
      const file = join(dir, "verifier.json");
      writeFileSync(
        file,
        JSON.stringify({
          models: [{ modelId: "3", manifest: "models/m.json" }],
          dataDir: "data",
          chain: { rpcUrl: "http://127.0.0.1:2", deployment: "d.json" },
          spotCheckPpm: 10,
        }),
      );
      const { config } = loadVerifierConfig(["--config", file, "--spot-check", "20"], { SHARDMESH_STAKING_KEY: KEY });
      assert.equal(config.models[0].manifest, join(dir, "models/m.json"));
      assert.equal(config.dataDir, join(dir, "data"));
      assert.equal(config.chain?.deployment, join(dir, "d.json"));
      assert.equal(config.stakingKey, KEY);
      assert.equal(config.spotCheckPpm, 20);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects bad input with VerifierConfigError", () => {
    for (const argv of [
      ["--rpc", "http://x", "--model", "1=m.json"], // no staking key
      ["--staking-key", KEY, "--model", "1=m.json"], // no rpc
      ["--rpc", "http://x", "--staking-key", KEY], // no model
      [...base, "--staking-key", "0x12"],
      [...base, "--model", "rec=m.json"],
      [...base, "--spot-check", "2000000"],
      [...base, "--poll-ms", "-1"],
      [...base, "--bogus", "1"],
      [...base, "stray"],
      [...base, "--rpc"],
    ]) {
      assert.throws(() => loadVerifierConfig(argv, {}), named("VerifierConfigError"), argv.join(" "));
    }
  });
});

describe("shardmesh verifier start (child process, hardhat node)", { timeout: 120_000 }, () => {
  let chain: LocalChain;
  let work: string;
  let deploymentFile: string;
  let deployment: Deployment;
  let publicClient: PublicClient;
  let manifest: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "shardmesh-vcli-"));
    chain = await startLocalChain({ port: await freePort() });
    publicClient = createPublicClient({ transport: http(chain.url), pollingInterval: 100 }) as PublicClient;
    deployment = await deployAll({ wallet: localWallet(chain.url, 0), publicClient });
    deploymentFile = join(writeDeployment(deployment, join(work, "deployments")));
    await seedProvider(localWallet(chain.url, 6), publicClient, deployment, {
      stake: parseEther("500"),
      peerId: new Uint8Array([0, 1, 2]),
      metadataURI: "test://verifier",
    });
    manifest = await splitCls();
  });

  after(async () => {
    await chain?.stop();
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it("starts, reports its staked address as an eligible verifier, and exits 0 on SIGTERM", async () => {
    mkdirSync(join(work, "v"), { recursive: true });
    const child = spawn(
      process.execPath,
      [
        BIN,
        "verifier",
        "start",
        "--rpc",
        chain.url,
        "--staking-key",
        KEY,
        "--deployment",
        deploymentFile,
        "--model",
        `1=${manifest}`,
        "--data-dir",
        join(work, "v"),
        "--key-file",
        join(work, "v", "node.key"),
        "--no-dht",
        "--poll-ms",
        "200",
        "--json",
      ],
      { stdio: ["ignore", "pipe", "pipe", "ipc"], env: { ...process.env, NODE_NO_WARNINGS: "1" } },
    );
    let stderr = "";
    child.stderr!.on("data", (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const events: Record<string, unknown>[] = [];
      const ready = await new Promise<Record<string, unknown>>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`verifier not ready: ${stderr}`)), 60_000);
        createInterface({ input: child.stdout! }).on("line", (line) => {
          const e = JSON.parse(line) as Record<string, unknown>;
          events.push(e);
          if (e.event === "ready") {
            clearTimeout(timer);
            resolve(e);
          }
        });
        void exited.then((code) => reject(new Error(`verifier exited (${code}): ${stderr}`)));
      });
      assert.equal(events[0].event, "listening");
      assert.equal(ready.chainId, 31337);
      assert.equal(String(ready.address).toLowerCase(), localWallet(chain.url, 6).account.address.toLowerCase());
      assert.equal(ready.staked, parseEther("500").toString());
      assert.equal(ready.eligible, true);
      assert.deepEqual(ready.models, ["1"]);
    } finally {
      child.kill("SIGTERM");
    }
    assert.equal(await exited, 0);
    assert.ok(!stderr.includes("error"), stderr);
  });

  it("catches a wrong stage output end to end: the CLI verifier and a verifier attached to another node challenge (VerifierInsufficientBondError until funded, then retried), vote and slash", async () => {
    const url = chain.url;
    const c = (i: number) => shardMeshContracts(deployment, { public: publicClient, wallet: localWallet(url, i) });
    const opts = (i: number) => ({ account: localWallet(url, i).account, chain: localWallet(url, i).chain });
    const rpc = async (method: string, params: unknown[] = []) => {
      await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
      });
    };
    const lm = await loadManifest(manifest);
    const modelId = await seedModel(localWallet(url, 0), publicClient, deployment, {
      onnxSha256: sha256(toHex(lm.manifest.model.sha256)),
      manifestHash: lm.hash,
      metadataURI: "test://cls",
      priceFloors: [1n, 1n],
    });
    const providers: StageProvider[] = [];
    const attachedNode = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    let child: ReturnType<typeof spawn> | undefined;
    let attached: Awaited<ReturnType<typeof attachVerifier>> | undefined;
    try {
      for (const i of [1, 2]) {
        const p = await startStageProvider();
        providers.push(p);
        await seedProvider(localWallet(url, i), publicClient, deployment, {
          stake: parseEther("1000"),
          peerId: p.node.peerId.toMultihash().bytes,
          metadataURI: "test://provider",
        });
        await attachedNode.dial(p.node.getMultiaddrs()[0]);
      }
      // Verifier 2: a verifier running on another node (key 7), attached as a provider process would.
      await seedProvider(localWallet(url, 7), publicClient, deployment, {
        stake: parseEther("500"),
        peerId: attachedNode.peerId.toMultihash().bytes,
        metadataURI: "test://verifier",
      });
      const attachedEvents: VerifierEvent[] = [];
      attached = await attachVerifier(
        { node: attachedNode },
        {
          publicClient,
          wallet: localWallet(url, 7),
          deployment,
          models: [{ modelId: modelId.toString(), manifest }],
          pollMs: 200,
          onEvent: (e) => attachedEvents.push(e),
        },
      );
      // Verifier 1: the CLI (key 6, staked in before()), reaching the providers through its bootstrap list.
      child = spawn(
        process.execPath,
        [
          BIN,
          "verifier",
          "start",
          "--rpc",
          url,
          "--staking-key",
          KEY,
          "--deployment",
          deploymentFile,
          "--model",
          `${modelId}=${manifest}`,
          "--data-dir",
          join(work, "v2"),
          "--key-file",
          join(work, "v2", "node.key"),
          "--no-dht",
          "--poll-ms",
          "200",
          "--json",
          ...providers.flatMap((p) => ["--bootstrap", `${p.node.getMultiaddrs()[0]}`]),
        ],
        { stdio: ["ignore", "pipe", "pipe", "ipc"], env: { ...process.env, NODE_NO_WARNINGS: "1" } },
      );
      const cliEvents: Record<string, unknown>[] = [];
      createInterface({ input: child.stdout! }).on("line", (line) => cliEvents.push(JSON.parse(line) as Record<string, unknown>));
      await until("CLI verifier ready", async () => cliEvents.some((e) => e.event === "ready"), 60_000, 100);

      // A job: p1 serves stage 0 honestly, p2 claims a wrong stage-1 output (consistent hand-offs).
      const served = await serveRequest(manifest, 3);
      const wrong = swapped(served.output);
      const domain = shardMeshDomain(31337, deployment.contracts.JobMarket.address);
      const expiry = (await publicClient.getBlock()).timestamp + 3600n;
      const quotes = await Promise.all(
        [1, 2].map((i, stage) =>
          signQuote(privateKeyToAccount(DEV_KEYS[i]), domain, {
            modelId,
            stage,
            provider: localWallet(url, i).account.address,
            buyer: localWallet(url, 5).account.address,
            price: 10n,
            maxUnits: 100,
            expiry,
            maxJobExpiry: expiry,
            nonce: BigInt(stage + 1),
          }),
        ),
      );
      const session = privateKeyToAccount(generatePrivateKey());
      const request = { modelId, maxUnits: 4, expiresAt: expiry, sessionKey: session.address };
      const escrow = await c(5).market.read.escrowFor([request, quotes]);
      await waitTx(publicClient, await c(5).token.write.faucet([escrow], opts(5)), "faucet");
      await waitTx(publicClient, await c(5).token.write.approve([deployment.contracts.JobMarket.address, escrow], opts(5)), "approve");
      const opened = await waitTx(publicClient, await c(5).market.write.openJob([request, quotes], opts(5)), "openJob");
      const jobId = parseEventLogs({ abi: jobMarketAbi, eventName: "JobOpened", logs: opened.logs })[0].args.jobId;
      const [p1, p2] = providers;
      p1.trace.record(
        {
          jobId: jobId.toString(),
          index: 0,
          modelId: modelId.toString(),
          stage: 0,
          inputHash: hashOf(served.input),
          outputHash: hashOf(served.hop),
          peerId: "gw",
        },
        { input: served.input, output: served.hop },
      );
      p2.trace.record(
        {
          jobId: jobId.toString(),
          index: 0,
          modelId: modelId.toString(),
          stage: 1,
          inputHash: hashOf(served.hop),
          outputHash: hashOf(wrong),
          peerId: "p1",
        },
        { input: served.hop, output: wrong },
      );
      const r = await buildRealReceipt(domain, jobId, session, [
        [
          {
            stage: 0,
            provider: localWallet(url, 1).account.address,
            signer: privateKeyToAccount(DEV_KEYS[1]),
            input: served.input,
            output: served.hop,
          },
          {
            stage: 1,
            provider: localWallet(url, 2).account.address,
            signer: privateKeyToAccount(DEV_KEYS[2]),
            input: served.hop,
            output: wrong,
          },
        ],
      ]);
      const p1c = c(1);
      await waitTx(
        publicClient,
        await p1c.market.write.submitReceipt([jobId, r.count, r.count, r.outputRoot, r.sessionSignature, r.parts], opts(1)),
        "submitReceipt",
      );
      await rpc("evm_mine");
      await waitTx(publicClient, await p1c.spotCheck.write.drawSamples([jobId, 0n], opts(1)), "drawSamples");
      await waitTx(
        publicClient,
        await p1c.spotCheck.write.revealBuyerLeaf([jobId, 0n, 0n, r.buyerTree.leaf(0), r.buyerTree.proof(0), r.route, r.records], opts(1)),
        "revealBuyerLeaf",
      );
      for (const stage of [0, 1]) {
        const tree = r.stageTrees.get(stage)!;
        const partIndex = BigInt(r.records.findIndex((x) => x.stage === stage));
        await waitTx(
          publicClient,
          await p1c.spotCheck.write.revealStageLeaf([jobId, 0n, 0n, partIndex, tree.leaf(0), tree.proof(0), r.route, r.records], opts(1)),
          "revealStageLeaf",
        );
      }
      const drawn = (await p1c.spotCheck.read.sample([jobId, 0n, 0n])).verifier;
      const verifiers = [localWallet(url, 6).account.address, localWallet(url, 7).account.address];
      assert.ok(verifiers.includes(drawn), `drawn verifier ${drawn} is one of the two`);

      // The drawn one finds the mismatch but holds no tokens beyond its stake: a named error, and
      // the leaf is retried; once it has the bond it challenges. The other one is the committee.
      const drawnKey = drawn === verifiers[0] ? 6 : 7;
      const bondErrors = () =>
        drawnKey === 6
          ? cliEvents.filter((e) => e.event === "error" && e.name === "VerifierInsufficientBondError").length
          : attachedEvents.filter((e) => e.event === "error" && e.name === "VerifierInsufficientBondError").length;
      await until("bond error", async () => bondErrors() > 0, 60_000, 100);
      assert.equal(await p1c.disputes.read.disputeCount(), 0n);
      const p = await c(0).params.read.paramsAt([1n]);
      await waitTx(publicClient, await c(drawnKey).token.write.faucet([p.challengeBond], opts(drawnKey)), "faucet");
      await until("challenge", async () => (await p1c.disputes.read.disputeCount()) === 1n, 60_000, 200).catch((err: Error) => {
        throw new Error(`${err.message}; CLI events ${JSON.stringify(cliEvents)}; attached events ${JSON.stringify(attachedEvents)}`);
      });
      const d = await p1c.disputes.read.dispute([0n]);
      assert.equal(d.challenger, drawn);
      assert.equal(d.accused, localWallet(url, 2).account.address);
      // The committee comes from a block after the challenge: the challenger draws it once that
      // block's hash is known (from anchor + 2; the sample was attested before the bond came, so
      // no other transaction follows the challenge here).
      await rpc("evm_mine");
      await rpc("evm_mine");
      await until("committee drawn", async () => (await p1c.disputes.read.committee([0n, 0n]))[0].length === 1, 60_000, 200);
      const [jurors, seats] = await p1c.disputes.read.committee([0n, 0n]);
      assert.deepEqual(
        jurors,
        verifiers.filter((v) => v !== drawn),
      );
      assert.deepEqual(seats, [3]);
      await until(
        "vote committed",
        async () => (await p1c.disputes.getEvents.VoteCommitted({ disputeId: 0n }, { fromBlock: 0n })).length === 1,
        60_000,
        200,
      );
      await rpc("evm_increaseTime", [p.commit + 1]);
      await rpc("evm_mine");
      await until("vote revealed", async () => (await p1c.disputes.read.dispute([0n])).votesFraud === 3, 60_000, 200);
      await rpc("evm_increaseTime", [p.voteReveal + 1]);
      await rpc("evm_mine");
      await until("round closed", async () => (await p1c.disputes.read.dispute([0n])).status === 2, 60_000, 200);
      await rpc("evm_increaseTime", [p.appeal + 1]);
      await rpc("evm_mine");
      await until("dispute upheld", async () => (await p1c.disputes.read.dispute([0n])).status === 3, 60_000, 200);
      const faults = await p1c.market.getEvents.ProviderFaulted({ jobId }, { fromBlock: 0n });
      assert.equal(faults.length, 1);
      assert.equal(faults[0].args.provider, localWallet(url, 2).account.address);
      // Both processes did their part, seen from their own event streams.
      const cliIsChallenger = drawn === verifiers[0];
      assert.ok(
        cliEvents.some((e) => e.event === (cliIsChallenger ? "challenged" : "vote-revealed")),
        JSON.stringify(cliEvents),
      );
      assert.ok(attachedEvents.some((e) => e.event === (cliIsChallenger ? "vote-revealed" : "challenged")));
      assert.ok(cliEvents.some((e) => e.event === "checked" && (e.check as { outcome: string }).outcome === "mismatch"));
    } finally {
      child?.kill("SIGTERM");
      await attached?.stop();
      await attachedNode.stop();
      for (const p of providers) await p.stop();
    }
  });
});
