// The README's `npm run demo`, end to end without the web app (the web app has its own
// browser tests): chain, contracts, the recogniser split and published, 4 provider processes
// (two fetch their stage file from the mesh), staking + peer-id binding, and a first request
// read back through the mesh. The demo exits by itself (DEMO_EXIT_WHEN_READY) and must leave
// no process behind.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { describe, it } from "node:test";
import { freePort } from "../../scripts/lib/chain.ts";

const root = new URL("../..", import.meta.url).pathname;

describe("npm run demo", { timeout: 240_000 }, () => {
  it("brings up the marketplace and reads rendered text back through the mesh", async () => {
    const env = {
      ...process.env,
      DEMO_EXIT_WHEN_READY: "1",
      DEMO_NO_WEB: "1",
      DEMO_LLM: "tiny",
      CHAIN_PORT: String(await freePort()),
      GATEWAY_PORT: String(await freePort()),
    };
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
    assert.equal((out.match(/staked 5000 SHARD, peer id bound/g) ?? []).length, 4);
    assert.match(out, /receipt 0 for 3 inferences submitted with every stage provider's signed part/);
    assert.match(out, /sampled request\(s\) revealed with Merkle proofs/);
    assert.match(out, /providers earned 0.006 SHARD in all = 3 inferences × 2 stages × 0.001 SHARD/);
    assert.match(out, /\[7\/7\] ready/);
  });
});
