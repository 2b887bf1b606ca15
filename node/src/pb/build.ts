// Regenerates the protobuf codecs: `node node/src/pb/build.ts`.
// protons emits TypeScript with enums and namespaces, which Node's type stripping cannot run,
// so each generated module is transpiled to `<name>.js` plus a `<name>.d.ts` declaration and
// only those are committed. Source of truth: the .proto files in this folder.
import { execFileSync } from "node:child_process";
import { readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const root = join(here, "../../..");
const protos = readdirSync(here).filter((f) => f.endsWith(".proto"));
execFileSync(
  join(root, "node_modules/.bin/protons"),
  protos.map((p) => join(here, p)),
  { stdio: "inherit" },
);
const generated = protos.map((p) => join(here, p.replace(/\.proto$/, ".ts")));
// protons 9 still writes code for protons-runtime 7 (`Codec<T>`); runtime 8, which the node uses,
// has the same functions but two type parameters (decoded, encoded).
for (const file of generated) {
  const src = readFileSync(file, "utf8")
    .replace(/\bCodec<([A-Za-z_.]+)>/g, "Codec<$1, $1>")
    .replace(/\b(message)<([A-Za-z_.]+)>\(/g, "$1<$2, $2>(");
  writeFileSync(file, src);
}
execFileSync(
  join(root, "node_modules/.bin/tsc"),
  [
    "--ignoreConfig",
    "--noCheck",
    "--declaration",
    "--module",
    "nodenext",
    "--moduleResolution",
    "nodenext",
    "--target",
    "es2023",
    "--skipLibCheck",
    "--outDir",
    here,
    ...generated,
  ],
  { stdio: "inherit" },
);
for (const file of generated) rmSync(file);
console.log(`generated ${protos.map((p) => p.replace(/\.proto$/, ".js")).join(", ")}`);
