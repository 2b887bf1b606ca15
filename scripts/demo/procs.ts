// Child processes of the demo: spawned with an IPC channel (so they exit with the demo), in
// process groups stopped with the demo on every exit path (scripts/lib/procs.ts), JSON-line
// events parsed from stdout.
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { spawnTracked } from "../lib/procs.ts";

export interface DemoProcess {
  name: string;
  child: ChildProcess;
  /** Resolves with the first JSON event for which `match` returns true. */
  waitFor<T = Record<string, unknown>>(match: (e: Record<string, unknown>) => boolean, timeoutMs: number): Promise<T>;
}

export function spawnJsonProcess(
  name: string,
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; onLine?: (line: string) => void } = {},
): DemoProcess {
  const child = spawnTracked(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "pipe", "pipe", "ipc"] });
  const events: Record<string, unknown>[] = [];
  const waiters = new Set<(e: Record<string, unknown>) => void>();
  createInterface({ input: child.stdout! }).on("line", (line) => {
    let e: Record<string, unknown> | undefined;
    try {
      e = JSON.parse(line) as Record<string, unknown>;
    } catch {
      opts.onLine?.(line);
      return;
    }
    events.push(e);
    for (const w of waiters) w(e);
  });
  const stderr: string[] = [];
  createInterface({ input: child.stderr! }).on("line", (line) => {
    stderr.push(line);
    if (stderr.length > 40) stderr.shift();
  });
  return {
    name,
    child,
    waitFor<T>(match: (e: Record<string, unknown>) => boolean, timeoutMs: number): Promise<T> {
      const seen = events.find(match);
      if (seen) return Promise.resolve(seen as T);
      return new Promise<T>((resolve, reject) => {
        const done = (err?: Error, e?: Record<string, unknown>) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          child.off("exit", onExit);
          if (err) reject(err);
          else resolve(e as T);
        };
        const waiter = (e: Record<string, unknown>) => {
          if (match(e)) done(undefined, e);
        };
        const onExit = (code: number | null) => done(new Error(`${name} exited (${code}) before it was ready:\n${stderr.join("\n")}`));
        const timer = setTimeout(() => done(new Error(`${name} was not ready after ${timeoutMs} ms:\n${stderr.join("\n")}`)), timeoutMs);
        waiters.add(waiter);
        child.once("exit", onExit);
      });
    },
  };
}

/** Spawns a plain process whose stderr is passed through (e.g. `next start`). */
export function spawnPlain(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  return spawnTracked(cmd, args, { cwd: opts.cwd, env: { ...process.env, ...opts.env }, stdio: ["ignore", "ignore", "inherit"] });
}

export async function waitForHttp(url: string, timeoutMs: number, alive: () => boolean = () => true): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!alive()) throw new Error(`${url}: the server exited`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status < 500) return;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
