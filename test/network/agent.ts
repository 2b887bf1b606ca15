// Processes inside the test network's hosts, driven over Node's IPC channel (it survives
// `ip netns exec`, which keeps file descriptors and environment). The parent calls named commands
// and awaits their answers; the child serves a table of handlers and exits when the parent goes.
import type { ChildProcess } from "node:child_process";
import { once } from "node:events";
import type { Host } from "./netns.ts";

/** Deadline of one command unless the caller passes its own. */
export const AGENT_CALL_TIMEOUT_MS = 30_000;

export interface Agent {
  host: Host;
  child: ChildProcess;
  /** Run a command in the child; rejects with the child's error (same name and message). */
  call<T = unknown>(cmd: string, args?: unknown, timeoutMs?: number): Promise<T>;
  /** Lines the child wrote to stderr (for failure messages). */
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

type Reply = { id: number; ok: true; value: unknown } | { id: number; ok: false; name: string; message: string };

/** Start `script` (a module calling serveAgent) inside `host`; resolves once it is ready. */
export async function startAgent(host: Host, script: string, args: string[] = [], env: Record<string, string> = {}): Promise<Agent> {
  const child = host.spawn(process.execPath, [script, ...args], {
    stdio: ["ignore", "inherit", "pipe", "ipc"],
    env: { ...process.env, NODE_NO_WARNINGS: "1", ...env },
  });
  let err = "";
  child.stderr!.on("data", (d) => {
    err += String(d);
    if (process.env.SHARDMESH_TEST_STDERR) process.stderr.write(`[${host.name}] ${d}`);
  });
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  let next = 1;
  child.on("message", (m: Reply | { ready: true }) => {
    if ("ready" in m) return;
    const p = pending.get(m.id);
    if (!p) return;
    pending.delete(m.id);
    if (m.ok) p.resolve(m.value);
    else p.reject(Object.assign(new Error(m.message), { name: m.name }));
  });
  const exited = once(child, "exit");
  void exited.then(([code, signal]) => {
    for (const p of pending.values()) p.reject(new Error(`agent on ${host.name} exited (${code ?? signal}): ${err.slice(-2000)}`));
    pending.clear();
  });
  await Promise.race([
    once(child, "message"),
    exited.then(([code]) => {
      throw new Error(`agent on ${host.name} exited (${code}) before ready: ${err.slice(-2000)}`);
    }),
  ]);
  return {
    host,
    child,
    stderr: () => err,
    call<T>(cmd: string, a?: unknown, timeoutMs = AGENT_CALL_TIMEOUT_MS): Promise<T> {
      const id = next++;
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => {
          pending.delete(id);
          reject(new Error(`agent ${host.name}: ${cmd} did not answer in ${timeoutMs} ms`));
        }, timeoutMs);
        pending.set(id, {
          resolve: (v) => {
            clearTimeout(timer);
            resolve(v as T);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        });
        child.send({ id, cmd, args: a });
      });
    },
    async kill(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      await exited;
    },
  };
}

/** Child side: answer the parent's commands with `handlers`; exit when the parent disconnects. */
export function serveAgent(handlers: Record<string, (args: never) => unknown>): void {
  process.on("disconnect", () => process.exit(0));
  process.on("message", async (m: { id: number; cmd: string; args: never }) => {
    let reply: Reply;
    try {
      const h = handlers[m.cmd];
      if (!h) throw new Error(`unknown command ${m.cmd}`);
      reply = { id: m.id, ok: true, value: await h(m.args) };
    } catch (err) {
      const e = err as Error;
      reply = { id: m.id, ok: false, name: e?.name ?? "Error", message: e?.message ?? String(err) };
    }
    process.send?.(reply);
  });
  process.send?.({ ready: true });
}
