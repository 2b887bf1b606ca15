// `npm run bench -- <area>` runs scripts/bench/<area>.ts, which builds what it needs (or fails)
// and writes bench/results/<area>.json only with its figures (scripts/lib/bench.ts). The bench
// runs in a process group of its own, stopped with this one (Ctrl-C, SIGTERM: scripts/lib/procs.ts).
import { existsSync, readdirSync } from "node:fs";
import { run, stopChildrenOnExit } from "./lib/procs.ts";
import { exitOnHelp } from "./lib/usage.ts";

const root = new URL("..", import.meta.url).pathname;
const areas = readdirSync(`${root}scripts/bench`)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3));
const [area, ...rest] = process.argv.slice(2);
const USAGE = `usage: npm run bench -- <area> [options]   areas: ${areas.join(", ") || "(none yet)"}
  builds what the area needs (or fails) and writes bench/results/<area>.json with its figures (README: Benchmarks)`;
// Before any area runs: \`npm run bench -- zk --help\` must not start a benchmark.
exitOnHelp(USAGE);
if (!area || !existsSync(`${root}scripts/bench/${area}.ts`)) {
  console.error(USAGE);
  process.exit(2);
}
stopChildrenOnExit();
process.exit(await run(process.execPath, [`${root}scripts/bench/${area}.ts`, ...rest], { cwd: root }));
