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
import { createPublicClient, http, parseEther } from "viem";
import type { PublicClient } from "viem";
import { DEV_KEYS, freePort, startLocalChain } from "../../scripts/lib/chain.ts";
import type { LocalChain } from "../../scripts/lib/chain.ts";
import { deployAll, writeDeployment } from "../../scripts/lib/deploy.ts";
import { localWallet } from "../../scripts/lib/demo.ts";
import { seedProvider } from "../../scripts/lib/seed.ts";
import { loadVerifierConfig } from "../../node/src/verifier/config.ts";
import { splitCls } from "./fixture.ts";

const BIN = new URL("../../node/bin/shardmesh.js", import.meta.url).pathname;
const KEY = DEV_KEYS[6];

const named = (name: string) => (err: Error) => {
  assert.equal(err.name, name, `${err.name}: ${err.message}`);
  return true;
};

describe("verifier config", () => {
  const base = ["--rpc", "http://127.0.0.1:1", "--staking-key", KEY, "--model", "1=./m/manifest.json"];

  it("parses flags: models, spot-check rate, poll interval, withdraw, no-dht", () => {
    const { config, json } = loadVerifierConfig([...base, "--model", "2=/abs/manifest.json", "--spot-check", "50000", "--poll-ms", "200", "--withdraw", "--no-dht", "--json"], {});
    assert.equal(json, true);
    assert.deepEqual(config.models.map((m) => m.modelId), ["1", "2"]);
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
      writeFileSync(file, JSON.stringify({ models: [{ modelId: "3", manifest: "models/m.json" }], dataDir: "data", chain: { rpcUrl: "http://127.0.0.1:2", deployment: "d.json" }, spotCheckPpm: 10 }));
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
  let manifest: string;

  before(async () => {
    work = mkdtempSync(join(tmpdir(), "shardmesh-vcli-"));
    chain = await startLocalChain({ port: await freePort() });
    const publicClient = createPublicClient({ transport: http(chain.url), pollingInterval: 100 }) as PublicClient;
    const deployment = await deployAll({ wallet: localWallet(chain.url, 0), publicClient });
    deploymentFile = join(writeDeployment(deployment, join(work, "deployments")));
    await seedProvider(localWallet(chain.url, 6), publicClient, deployment, { stake: parseEther("500"), peerId: new Uint8Array([0, 1, 2]), metadataURI: "test://verifier" });
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
      [BIN, "verifier", "start", "--rpc", chain.url, "--staking-key", KEY, "--deployment", deploymentFile, "--model", `1=${manifest}`,
        "--data-dir", join(work, "v"), "--key-file", join(work, "v", "node.key"), "--no-dht", "--poll-ms", "200", "--json"],
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
});
