// The README's `npm run demo`, end to end without the web app (the web app has its own
// browser tests): chain, contracts, the recogniser split and published, 4 provider processes
// (two fetch their stage file from the mesh), staking + peer-id binding, and a first request
// read back through the mesh. The demo exits by itself (DEMO_EXIT_WHEN_READY) and must leave
// no process behind.
//
// Then the demo stops every process it started on every way out (issue 11): after a failure
// midway (its hardhat node used to be left running) and after `kill -TERM` on the `npm run demo`
// process (which used to end npm only, leaving the demo, its chain and providers re-parented to
// init). Each run is tagged with an environment variable every descendant inherits; afterwards
// no process on the machine may carry the tag. (One file: the runs share .shardmesh/demo, so
// they must not run side by side.)
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { freePort } from "../../scripts/lib/chain.ts";
import { describeProcs, noneLeft, TAG, tagged } from "../tooling/leftovers.ts";

const root = new URL("../..", import.meta.url).pathname;

describe("npm run demo", { timeout: 240_000 }, () => {
  it("brings up the marketplace and reads rendered text back through the mesh", async () => {
    const tag = randomUUID();
    const env = { ...(await demoEnv(tag)), DEMO_EXIT_WHEN_READY: "1" };
    const child = spawn(process.execPath, ["scripts/demo.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 0, out);
    assert.match(out, /rendered "ShardMesh 2026" → recognised "ShardMesh 2026"/);
    assert.match(out, /provider-3: fetching its stage file from the mesh/);
    assert.match(out, /generated \d+ tokens through 2 stages \((stop|length)\): first text after \d+ ms/);
    assert.match(out, /the gateway routes both stages to 2 providers each/);
    assert.equal((out.match(/staked 5,000 SHARD, peer id bound/g) ?? []).length, 4);
    assert.match(out, /receipt 0 for 3 inferences submitted with every stage provider's signed part/);
    assert.match(out, /sampled request\(s\) revealed with Merkle proofs/);
    assert.match(out, /providers earned 0.006 SHARD in all = 3 inferences × 2 stages × 0.001 SHARD/);
    // The paid generation: per token, two turns, a receipt in tokens, settled, earnings checked.
    assert.equal((out.match(/request \d of job \d+: \d+ tokens charged \(\d+ prompt \+ \d+ sampled\) of \d+ reserved/g) ?? []).length, 2);
    assert.match(out, /receipt 0 for 2 requests \(\d+ tokens\) submitted with every stage provider's signed part/);
    assert.match(out, /providers earned [0-9.]+ SHARD = \d+ tokens × 2 stages × 0.001 SHARD/);
    assert.match(out, /\[7\/7\] ready/);
    const left = await noneLeft(tag);
    assert.deepEqual(left, [], `left running after the demo stopped itself:\n${describeProcs(left)}`);
  });
});

async function demoEnv(tag: string): Promise<NodeJS.ProcessEnv> {
  return {
    ...process.env,
    [TAG]: tag,
    DEMO_NO_WEB: "1",
    DEMO_LLM: "tiny",
    CHAIN_PORT: String(await freePort()),
    GATEWAY_PORT: String(await freePort()),
  };
}

describe("the demo leaves no process behind", { timeout: 240_000 }, () => {
  it("when it fails with its chain up (regression: the deployments folder cannot be written)", async () => {
    const tag = randomUUID();
    const work = mkdtempSync(join(tmpdir(), "shardmesh-cleanup-"));
    const file = join(work, "a-file");
    writeFileSync(file, "");
    // deployments/<chainId>.json goes below a regular file: the demo fails right after deploying.
    const env = { ...(await demoEnv(tag)), SHARDMESH_DEPLOYMENTS_DIR: join(file, "deployments") };
    try {
      const child = spawn(process.execPath, ["scripts/demo.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      assert.equal(code, 1, out);
      assert.match(out, /local chain \(hardhat node, pid \d+\)/);
      assert.match(out, /demo failed: ENOTDIR/);
      const left = await noneLeft(tag);
      assert.deepEqual(left, [], `left running after the failed demo:\n${describeProcs(left)}`);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  it("when it fails midway (the gateway port is taken once the chain and models are up)", async () => {
    const tag = randomUUID();
    const env = await demoEnv(tag);
    const blocker: Server = createServer();
    await new Promise<void>((r) => blocker.listen(Number(env.GATEWAY_PORT), "127.0.0.1", r));
    try {
      const child = spawn(process.execPath, ["scripts/demo.ts"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      let sawChain = false;
      child.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        // While the demo runs, its chain is a live tagged process: the tag scan can see it.
        if (!sawChain && /local chain \(hardhat node, pid \d+\)/.test(out)) sawChain = tagged(tag).length >= 2;
      });
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
      assert.equal(code, 1, out);
      assert.match(out, /\[3\/7\] providers/, "it failed where intended: starting the providers");
      assert.match(out, /demo failed: provider-1/);
      assert.ok(sawChain, "the tag scan saw the running chain");
      const left = await noneLeft(tag);
      assert.deepEqual(left, [], `left running after the failed demo:\n${describeProcs(left)}`);
    } finally {
      blocker.close();
    }
  });

  it("when `npm run demo` gets SIGTERM with the chain and providers running", async () => {
    const tag = randomUUID();
    const env = await demoEnv(tag);
    const npm = spawn("npm", ["run", "demo"], { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    npm.stderr.on("data", (d: Buffer) => (out += d.toString()));
    const ready = new Promise<void>((resolve) =>
      npm.stdout.on("data", (d: Buffer) => {
        out += d.toString();
        if (/the gateway routes both stages to 2 providers each/.test(out)) resolve();
      }),
    );
    const exited = new Promise<number | null>((resolve) => npm.once("exit", resolve));
    await Promise.race([ready, exited]);
    assert.equal(npm.exitCode, null, `the demo ended before its providers were up:\n${out}`);
    const running = tagged(tag);
    assert.ok(running.length >= 6, `npm, the demo, its chain and 4 providers carry the tag:\n${describeProcs(running)}`);
    npm.kill("SIGTERM");
    await exited;
    assert.match(out, /stopping providers, web app and chain/);
    const left = await noneLeft(tag);
    assert.deepEqual(left, [], `left running after SIGTERM to npm:\n${describeProcs(left)}`);
  });
});
