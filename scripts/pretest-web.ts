// Run by scripts/test.ts before node:test for the web area: the component/logic tests (vitest +
// happy-dom) and the production build the browser e2e test serves. Either failing fails `npm test`.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { exitOnHelp } from "./lib/usage.ts";

exitOnHelp(`usage: node scripts/pretest-web.ts    the web app's component tests (vitest) and production build
  (run by npm test for the web area)`);

const root = new URL("..", import.meta.url).pathname;
const web = join(root, "web");

function step(title: string, args: string[]): void {
  console.log(`\n── web: ${title}`);
  const started = Date.now();
  const res = spawnSync(process.execPath, args, { cwd: web, stdio: "inherit", env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" } });
  if (res.status !== 0) {
    console.error(`✖ web: ${title} failed (exit ${res.status ?? res.signal})`);
    process.exit(res.status ?? 1);
  }
  console.log(`✓ web: ${title} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

step("component tests (vitest)", [join(root, "node_modules/vitest/vitest.mjs"), "run"]);
step("production build (next build)", [join(root, "node_modules/next/dist/bin/next"), "build"]);
