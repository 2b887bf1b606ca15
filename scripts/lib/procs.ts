// Every process a script starts is stopped on every way out of the script: a normal end, an
// error (uncaught or through process.exit), Ctrl-C, SIGTERM and SIGHUP.
//
// Each child runs in a process group of its own (`detached`), so stopping it stops what it
// started in turn (hardhat node's esbuild service, next's workers, node --test's test files and
// their chains and providers). On a signal the script stops its children (SIGTERM to each group,
// SIGKILL to what is left after a grace period) and exits; on any exit the groups still running
// are SIGKILLed synchronously. A second signal during the grace period kills at once.
// Only SIGKILL of the script itself escapes this: children with an IPC channel still exit then
// (the provider CLI exits when its channel closes).
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { constants } from "node:os";

const running = new Set<ChildProcess>();
const beforeExit: (() => Promise<void> | void)[] = [];
let installed = false;
let signalExitCode: number | undefined;
let stopping: Promise<void> | undefined;

/** Grace period between SIGTERM and SIGKILL when stopping children. */
export const STOP_GRACE_MS = 3000;

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal); // the child's whole process group
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** SIGTERMs one child's process group and waits for it to exit (SIGKILL after `graceMs`). */
export async function stopChild(child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  killGroup(child, "SIGTERM");
  const timer = setTimeout(() => killGroup(child, "SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

/** SIGTERM every child's process group, then SIGKILL those still running after `graceMs`. */
export async function stopAll(graceMs = STOP_GRACE_MS): Promise<void> {
  const children = [...running];
  for (const c of children) killGroup(c, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (children.some((c) => running.has(c)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const c of children) killGroup(c, "SIGKILL");
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopping) {
    for (const c of running) killGroup(c, "SIGKILL");
    process.exit(128 + constants.signals[signal]);
  }
  stopping = (async () => {
    for (const fn of beforeExit.splice(0).reverse()) await Promise.resolve(fn()).catch(() => {});
    await stopAll();
  })();
  void stopping.then(() => process.exit(signalExitCode ?? 128 + constants.signals[signal]));
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, onSignal);
  process.on("exit", () => {
    for (const c of running) killGroup(c, "SIGKILL");
  });
}

/**
 * Stops children on every exit path from now on. `exitCode` is what the script exits with after
 * a signal (default 128 + the signal's number; the demo, stopped by Ctrl-C by design, uses 0).
 */
export function stopChildrenOnExit(opts: { exitCode?: number } = {}): void {
  install();
  if (opts.exitCode !== undefined) signalExitCode = opts.exitCode;
}

/** Runs `fn` (e.g. a graceful shutdown) before the children are stopped on a signal. */
export function onSignalExit(fn: () => Promise<void> | void): void {
  install();
  beforeExit.push(fn);
}

/**
 * Registers a child started elsewhere (it should be `detached` to have its own process group).
 * When it exits, what is left of its group (processes it started and left behind) is killed.
 */
export function track<T extends ChildProcess>(child: T): T {
  install();
  running.add(child);
  child.once("exit", () => {
    running.delete(child);
    try {
      if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
    } catch {
      /* no group, or nothing left in it */
    }
  });
  return child;
}

/** `spawn` in a process group of its own, stopped with the script. stdin is never inherited. */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions = {}): ChildProcess {
  const stdio = opts.stdio ?? ["ignore", "inherit", "inherit"];
  // A child in a background process group that reads the terminal would be stopped (SIGTTIN).
  const noStdin = Array.isArray(stdio) ? ["ignore", ...stdio.slice(1)] : ["ignore", stdio, stdio];
  return track(spawn(cmd, args, { ...opts, stdio: noStdin as SpawnOptions["stdio"], detached: true }));
}

/** Runs a command to its end (output passed through) and resolves with its exit code. */
export function run(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<number> {
  const child = spawnTracked(cmd, args, opts);
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? constants.signals[signal] : 0)));
  });
}

/** How many tracked children are still running (for tests and diagnostics). */
export function runningChildren(): number {
  return running.size;
}
