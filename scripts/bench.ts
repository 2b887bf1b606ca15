// `npm run bench -- <area>` runs scripts/bench/<area>.ts, which writes bench/results/<area>.json.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
const areas = readdirSync(`${root}scripts/bench`)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3));
const [area, ...rest] = process.argv.slice(2);
if (!area || !existsSync(`${root}scripts/bench/${area}.ts`)) {
  console.error(`usage: npm run bench -- <area> [options]   areas: ${areas.join(", ") || "(none yet)"}`);
  process.exit(2);
}
const res = spawnSync(process.execPath, [`${root}scripts/bench/${area}.ts`, ...rest], { stdio: "inherit", cwd: root });
process.exit(res.status ?? 1);
