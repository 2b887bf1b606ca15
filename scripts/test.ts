// The one test command (`npm test`): builds what the chosen tests need (contracts and web app,
// side by side), checks generated files, runs the Solidity fuzz/invariant tests, then the
// node:test files, two at a time, longest areas first (test/circuits builds its circuits itself,
// overlapping the other files). Node's runner goes last so its summary (tests / pass / fail) is
// the closing output CI reads.
//
//   npm test                 everything, lint and typecheck included (scripts/lint.ts)
//   npm test -- unit         the unit tests only (*.unit.test.ts anywhere under test/: one
//                            process, no build, no chain, no child process; under a minute)
//   npm test -- contracts    only test/contracts (any folder under test/, several allowed)
//
// Every step prints its duration; every process started is stopped with this one
// (scripts/lib/procs.ts), Ctrl-C and SIGTERM included.
import { existsSync, readdirSync, statSync } from "node:fs";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { run, spawnTracked, stopChildrenOnExit } from "./lib/procs.ts";
import { exitOnHelp } from "./lib/usage.ts";

const root = new URL("..", import.meta.url).pathname;
const only = process.argv.slice(2);
const UNIT = "unit";
const unitOnly = only.length === 1 && only[0] === UNIT;
const wants = (area: string) => only.length === 0 || only.includes(area);
const hardhat = join(root, "node_modules/.bin/hardhat");
/** node:test files run side by side, each in its own process: one per core. */
const TEST_CONCURRENCY = Math.max(2, availableParallelism());
/**
 * Test files start area by area in this order, the longest first, so that the long ones overlap
 * the many short ones. The circuit build check starts first of all (minutes on a fresh clone);
 * the other circuit files, which wait for that build, start last.
 */
const AREA_ORDER = ["web", "e2e", "demo", "abuse", "network", "verifier", "llm", "node", "contracts", "tooling"];

stopChildrenOnExit();
const started = Date.now();
const secs = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;

interface Step {
  title: string;
  cmd: string;
  args: string[];
  cwd?: string;
  env?: Record<string, string>;
}

function fail(title: string, code: number): never {
  console.error(`\n✖ ${title} failed (exit ${code})`);
  process.exit(code || 1);
}

/** Runs steps one after another, output passed through. */
async function serial(steps: Step[]): Promise<void> {
  for (const s of steps) {
    console.log(`\n━━ ${s.title}: ${s.cmd.replace(root, "")} ${s.args.map((a) => a.replace(root, "")).join(" ")}`);
    const t = Date.now();
    const code = await run(s.cmd, s.args, { cwd: s.cwd ?? root, env: { ...process.env, ...s.env } });
    if (code !== 0) fail(s.title, code);
    console.log(`✓ ${s.title} (${secs(t)})`);
  }
}

/**
 * Runs independent chains of steps side by side. Each chain's output is held and printed in one
 * piece when the chain ends (a line every 30 s says what is still running), so logs stay
 * readable; the first failure prints its output and stops everything.
 */
async function parallel(chains: Step[][]): Promise<void> {
  const live = chains.filter((c) => c.length > 0);
  if (live.length <= 1) return serial(live[0] ?? []);
  const runningTitles = new Set<string>();
  const ticker = setInterval(() => console.log(`  … still running: ${[...runningTitles].join(", ")} (${secs(started)})`), 30_000);
  try {
    await Promise.all(
      live.map(async (chain) => {
        for (const s of chain) {
          runningTitles.add(s.title);
          const t = Date.now();
          const child = spawnTracked(s.cmd, s.args, {
            cwd: s.cwd ?? root,
            env: { ...process.env, ...(process.stdout.isTTY ? { FORCE_COLOR: "1" } : { NO_COLOR: "1" }), ...s.env },
            stdio: ["ignore", "pipe", "pipe"],
          });
          const out: Buffer[] = [];
          child.stdout!.on("data", (d: Buffer) => out.push(d));
          child.stderr!.on("data", (d: Buffer) => out.push(d));
          const code = await new Promise<number>((resolve) => child.once("close", (c) => resolve(c ?? 1)));
          runningTitles.delete(s.title);
          console.log(`\n━━ ${s.title}: ${s.cmd.replace(root, "")} ${s.args.map((a) => a.replace(root, "")).join(" ")}`);
          process.stdout.write(Buffer.concat(out));
          if (code !== 0) fail(s.title, code);
          console.log(`✓ ${s.title} (${secs(t)})`);
        }
      }),
    );
  } finally {
    clearInterval(ticker);
  }
}

function testFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return testFiles(path);
    return name.endsWith(".test.ts") ? [path] : [];
  });
}

const areas = readdirSync(join(root, "test")).filter((d) => statSync(join(root, "test", d)).isDirectory());
exitOnHelp(
  `usage: npm test [-- unit | <area> …]
  (none)     everything: builds side by side, lint and typecheck, Solidity tests, then every node:test file
  unit       the *.unit.test.ts files only, side by side, no build (under a minute)
  <area> …   only these folders under test/, with only the builds they need
  areas: ${areas.join(", ")}`,
  only,
);
for (const a of only) {
  if (a !== UNIT && !areas.includes(a)) {
    console.error(`unknown test area "${a}"; areas: ${UNIT}, ${areas.join(", ")}`);
    process.exit(2);
  }
}
const rank = (area: string) => (AREA_ORDER.includes(area) ? AREA_ORDER.indexOf(area) : AREA_ORDER.length);
const ordered = [...areas].sort((a, b) => rank(a) - rank(b));
const slot = (f: string) => (f.endsWith("/test/circuits/build.test.ts") ? 0 : f.includes("/test/circuits/") ? 2 : 1);
const files = unitOnly
  ? ordered.flatMap((d) => testFiles(join(root, "test", d))).filter((f) => f.endsWith(".unit.test.ts"))
  : ordered
      .filter(wants)
      .flatMap((d) => testFiles(join(root, "test", d)))
      .sort((a, b) => slot(a) - slot(b));
if (files.length === 0) {
  console.error(`no test files for ${only.join(", ") || "any area"}`);
  process.exit(1);
}

if (!unitOnly) {
  const contracts: Step[] = [
    { title: "compile contracts", cmd: process.execPath, args: [hardhat, "build", "--quiet"] },
    { title: "generated ABIs are fresh", cmd: process.execPath, args: ["scripts/generate-abis.ts", "--check"] },
  ];
  const hasSolidityTests = readdirSync(join(root, "contracts"), { recursive: true }).some((f) => String(f).endsWith(".t.sol"));
  if (wants("contracts") && hasSolidityTests) {
    contracts.push({
      title: "solidity fuzz and invariant tests",
      cmd: process.execPath,
      args: [hardhat, "test", "solidity", "--no-compile"],
    });
  }
  const extra = (area: string): Step[] =>
    wants(area) && existsSync(join(root, `scripts/pretest-${area}.ts`))
      ? [{ title: `prepare ${area} tests`, cmd: process.execPath, args: [join(root, `scripts/pretest-${area}.ts`)] }]
      : [];
  // The whole suite also lints and type-checks everything (scripts/lint.ts, `npm run lint`).
  const lint: Step[] =
    only.length === 0 ? [{ title: "lint and typecheck", cmd: process.execPath, args: [join(root, "scripts/lint.ts")] }] : [];
  await parallel([contracts, extra("web"), lint]);
}

console.log(`\n(builds and checks: ${secs(started)})\n\n━━ node:test: ${files.length} files`);
// Nothing is printed after node's runner: its summary is the closing output CI reads.
const code = await run(process.execPath, ["--test", "--test-reporter=spec", `--test-concurrency=${TEST_CONCURRENCY}`, ...files], {
  cwd: root,
  env: { ...process.env, NODE_NO_WARNINGS: "1" },
});
process.exit(code);
