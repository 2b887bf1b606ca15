// Builds what a script needs on demand, with progress: the contracts (Hardhat's build is
// incremental: ~2 s when nothing changed) and the zk circuits (cached in circuits/build/).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { run } from "./procs.ts";

const root = new URL("../..", import.meta.url).pathname;
const HARDHAT = join(root, "node_modules/.bin/hardhat");
/** How often a long build says it is still working. */
export const BUILD_PROGRESS_EVERY_MS = 30_000;

export class BuildFailedError extends Error {
  override name = "BuildFailedError";
}

async function withTicker<T>(what: string, log: (line: string) => void, work: Promise<T>): Promise<T> {
  const started = Date.now();
  const timer = setInterval(() => log(`  … still ${what} (${Math.round((Date.now() - started) / 1000)} s)`), BUILD_PROGRESS_EVERY_MS);
  try {
    return await work;
  } finally {
    clearInterval(timer);
  }
}

/** Compiles the contracts (only what changed); the first build takes minutes with solc-js. */
export async function buildContracts(log: (line: string) => void = console.log): Promise<void> {
  const first = !existsSync(join(root, "artifacts/contracts"));
  if (first) log("compiling the contracts (first run only: a few minutes with the WebAssembly solc) …");
  const started = Date.now();
  const code = await withTicker(
    "compiling the contracts",
    log,
    run(process.execPath, [HARDHAT, "build", ...(first ? [] : ["--quiet"])], { cwd: root }),
  );
  if (code !== 0) throw new BuildFailedError(`the contracts did not compile (hardhat build exit ${code})`);
  if (first) log(`  contracts compiled in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** Builds the named circuit instances of circuits/circuits.json when missing or stale; fails when the committed verifiers or keys do not match them. */
export async function buildCircuits(names: string[], log: (line: string) => void = console.log): Promise<void> {
  const code = await withTicker(
    "building circuits",
    log,
    run(process.execPath, [join(root, "scripts/build-circuits.ts"), "--check", ...names], { cwd: root }),
  );
  if (code !== 0) throw new BuildFailedError(`circuit build failed (${names.join(", ")}; exit ${code})`);
}
