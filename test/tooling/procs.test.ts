// scripts/lib/procs.ts: every process a script starts (children and what they start in turn)
// is gone after the script ends, whichever way it ends: SIGTERM, SIGINT, an uncaught error,
// process.exit. Runs a fixture script (fixtures/spawner.ts) tagged with an environment variable
// every descendant inherits and scans /proc afterwards.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createInterface } from "node:readline";
import { describe, it } from "node:test";
import { describeProcs, noneLeft, TAG, tagged } from "./leftovers.ts";

const FIXTURE = new URL("./fixtures/spawner.ts", import.meta.url).pathname;

async function runFixture(
  mode: string,
  signal?: NodeJS.Signals,
): Promise<{ code: number | null; running: number; stderr: string; tag: string }> {
  const tag = randomUUID();
  const child = spawn(process.execPath, [FIXTURE, mode], { env: { ...process.env, [TAG]: tag }, stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", resolve));
  const up = await new Promise<string | undefined>((resolve) => {
    createInterface({ input: child.stdout }).once("line", resolve);
    void exited.then(() => resolve(undefined));
  });
  assert.ok(up, `the fixture did not start its children: ${stderr}`);
  const running = tagged(tag).length; // the script, 2 children, 2 grandchildren
  if (signal) child.kill(signal);
  else child.stdin.write("go\n");
  return { code: await exited, running, stderr, tag };
}

describe("processes a script starts are stopped with it", { timeout: 60_000 }, () => {
  for (const [mode, signal, code] of [
    ["signal", "SIGTERM", 143],
    ["signal", "SIGINT", 130],
    ["signal", "SIGHUP", 129],
    ["demo-exit", "SIGINT", 0],
    ["throw", undefined, 1],
    ["exit", undefined, 3],
  ] as const) {
    it(`${mode}${signal ? ` on ${signal}` : ""}: exit ${code}, no process left`, async () => {
      const r = await runFixture(mode, signal);
      assert.equal(r.running, 5, "the script, 2 children and 2 grandchildren were running");
      assert.equal(r.code, code, r.stderr);
      const left = await noneLeft(r.tag);
      assert.deepEqual(left, [], `left running:\n${describeProcs(left)}`);
    });
  }
});

describe("test helpers", () => {
  it("the tag scan finds a tagged process and stops finding it once it exits", async () => {
    const tag = randomUUID();
    const child = spawn(process.execPath, ["-e", "setTimeout(() => {}, 60_000)"], { env: { ...process.env, [TAG]: tag } });
    await new Promise((r) => child.once("spawn", r));
    assert.deepEqual(tagged(tag), [child.pid]);
    child.kill("SIGKILL");
    assert.deepEqual(await noneLeft(tag), []);
  });
});
