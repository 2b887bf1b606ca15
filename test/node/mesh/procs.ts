// Test helper: provider processes (`shardmesh provider start --json`) as real children on
// 127.0.0.1. Each child has an IPC channel and exits when it closes, so none outlives the test.
import { spawn } from "node:child_process";
import type { ChildProcess, SpawnOptions } from "node:child_process";
import { createInterface } from "node:readline";

const BIN = new URL("../../../node/bin/shardmesh.js", import.meta.url).pathname;

export interface ProviderProc {
  child: ChildProcess;
  peerId: string;
  addr: string;
  gateway: string | null;
  events: Record<string, unknown>[];
  exited: Promise<number | null>;
}

/** Starts a process; the namespace network (test/network) passes one that runs inside a host. */
export type Spawner = (cmd: string, args: string[], options: SpawnOptions) => ChildProcess;

export async function startProviderProc(args: string[], timeoutMs = 60_000, spawner: Spawner = spawn): Promise<ProviderProc> {
  // A test mesh without a chain is a development mesh: its providers list each other unstaked.
  const mode = args.includes("--rpc") || args.includes("--unstaked") ? [] : ["--unstaked"];
  const child = spawner(process.execPath, [BIN, "provider", "start", ...args, ...mode, "--json"], {
    stdio: ["ignore", "pipe", "pipe", "ipc"],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  const events: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr!.on("data", (d) => {
    stderr += String(d);
    if (process.env.SHARDMESH_TEST_STDERR) process.stderr.write(`[${args.join(" ").slice(0, 40)}] ${d}`);
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = new Promise<ProviderProc>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`provider not ready in ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      let e: Record<string, unknown>;
      try {
        e = JSON.parse(line) as Record<string, unknown>;
      } catch {
        return;
      }
      e.receivedAt = Date.now();
      events.push(e);
      if (e.event === "ready") {
        clearTimeout(timer);
        resolve({
          child,
          peerId: String(e.peerId),
          addr: (e.addrs as string[])[0],
          gateway: (e.gateway as string | null) ?? null,
          events,
          exited,
        });
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`provider exited (${code}) before ready: ${stderr}`));
    });
  });
  return ready;
}

/** SIGKILL (or another signal) by PID, then wait for the exit. */
export async function stopProc(p: ProviderProc | undefined, signal: NodeJS.Signals = "SIGTERM"): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  const timer = setTimeout(() => p.child.kill("SIGKILL"), 10_000);
  await p.exited;
  clearTimeout(timer);
}

export { until } from "../../../scripts/lib/wait.ts";
