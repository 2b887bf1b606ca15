// `npm run lint` (and a step of `npm test`): one toolchain per language, configuration committed.
//   TypeScript/JavaScript/JSON: Biome (biome.json) — formatting everywhere, lint rules in LINTED;
//     then tsc --noEmit over everything: node/, scripts/, test/ (tsconfig.json) and web/ with its
//     component tests (web/tsconfig.test.json).
//   Solidity: solhint — .solhint.json for the contracts, .solhint.tests.json for the Solidity
//     tests (test names, handlers); generated verifiers are skipped (.solhintignore).
// Every warning fails. Fix formatting with `npx biome format --write <files>`.
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { run, stopChildrenOnExit } from "./lib/procs.ts";
import { exitOnHelp } from "./lib/usage.ts";

const root = new URL("..", import.meta.url).pathname;
const bin = (name: string) => join(root, "node_modules/.bin", name);
/** Where Biome's lint rules apply: all the TypeScript (generated files are ignored in biome.json). */
const LINTED = ["scripts", "test", "web", "node", "hardhat.config.ts"];

function solidity(dir: string): string[] {
  return readdirSync(join(root, dir), { recursive: true })
    .map(String)
    .filter((f) => f.endsWith(".sol"))
    .map((f) => join(dir, f));
}
const contracts = solidity("contracts").filter((f) => !f.startsWith("contracts/verifiers/"));
const isTest = (f: string) => f.endsWith(".t.sol") || f.startsWith("contracts/test/");

const steps: [string, string, string[]][] = [
  ["format (biome)", bin("biome"), ["ci", "--linter-enabled=false", "--colors=off", "."]],
  ["lint TypeScript (biome)", bin("biome"), ["ci", "--formatter-enabled=false", "--error-on-warnings", "--colors=off", ...LINTED]],
  ["lint Solidity (solhint)", bin("solhint"), ["-c", ".solhint.json", "--max-warnings", "0", ...contracts.filter((f) => !isTest(f))]],
  ["lint Solidity tests (solhint)", bin("solhint"), ["-c", ".solhint.tests.json", "--max-warnings", "0", ...contracts.filter(isTest)]],
  ["typecheck node, scripts, tests", process.execPath, [bin("tsc"), "--noEmit", "-p", "tsconfig.json"]],
  ["typecheck web and its tests", process.execPath, [bin("tsc"), "--noEmit", "-p", "web/tsconfig.test.json"]],
];

exitOnHelp(`usage: npm run lint    Biome (format + lint), tsc --noEmit over node/scripts/test/web, solhint; every warning fails
  format what you touched with: npx biome format --write <files>`);
stopChildrenOnExit();
let failed = 0;
for (const [title, cmd, args] of steps) {
  const t = Date.now();
  const code = await run(cmd, args, { cwd: root, env: { ...process.env, NO_COLOR: "1" } });
  console.log(`${code === 0 ? "✓" : "✖"} ${title} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
  if (code !== 0) failed++;
}
process.exit(failed ? 1 : 0);
