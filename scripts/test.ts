// The one test command (`npm test`): compiles, checks generated files, runs the Solidity
// fuzz/invariant tests, then every node:test file. Node's runner goes last so its summary
// (tests / pass / fail) is the closing output CI reads.
//
//   npm test                 everything
//   npm test -- contracts    only test/contracts (any folder under test/, several allowed)
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const only = process.argv.slice(2);
const wants = (area: string) => only.length === 0 || only.includes(area);

function run(title: string, cmd: string, args: string[], env: Record<string, string> = {}): void {
  console.log(`\n━━ ${title}: ${cmd} ${args.join(" ")}`);
  const res = spawnSync(cmd, args, { cwd: root, stdio: "inherit", env: { ...process.env, ...env } });
  if (res.status !== 0) {
    console.error(`\n✖ ${title} failed (exit ${res.status ?? res.signal})`);
    process.exit(res.status ?? 1);
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

const hardhat = join(root, "node_modules/.bin/hardhat");
run("compile contracts", hardhat, ["build", "--quiet"]);
if (existsSync(join(root, "scripts/generate-abis.ts"))) {
  run("generated ABIs are fresh", process.execPath, ["scripts/generate-abis.ts", "--check"]);
}
if (wants("contracts") && readdirSync(join(root, "contracts"), { recursive: true }).some((f) => String(f).endsWith(".t.sol"))) {
  run("solidity fuzz and invariant tests", hardhat, ["test", "solidity", "--no-compile"]);
}
for (const extra of ["circuits", "web"]) {
  const script = join(root, `scripts/pretest-${extra}.ts`);
  if (wants(extra) && existsSync(script)) run(`prepare ${extra} tests`, process.execPath, [script]);
}

const areas = readdirSync(join(root, "test")).filter((d) => statSync(join(root, "test", d)).isDirectory());
const files = areas.filter(wants).flatMap((d) => testFiles(join(root, "test", d)));
if (files.length === 0) {
  console.error(`no test files for ${only.join(", ") || "any area"}`);
  process.exit(1);
}
run("node:test", process.execPath, ["--test", "--test-reporter=spec", "--test-concurrency=1", ...files], {
  NODE_NO_WARNINGS: "1",
});
