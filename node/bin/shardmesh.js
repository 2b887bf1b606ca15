#!/usr/bin/env node
// ShardMesh CLI entry. The sources are TypeScript run with Node's built-in type stripping (on by
// default from Node 22.18), so there is no build step. Plain JavaScript until the version check.
const [major, minor] = process.versions.node.split(".").map(Number);
if (!(major > 23 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18))) {
  console.error(
    `shardmesh: Node ${process.version} cannot run ShardMesh (needs >= 22.18): run it as \`npx shardmesh …\` in the project (npm puts its pinned Node first on PATH), or install Node >= 22.18.`,
  );
  process.exit(1);
}

// `shardmesh … | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

const { main } = await import("../src/cli/main.ts");
main(process.argv.slice(2)).then(
  (code) => process.exit(code ?? 0),
  (err) => {
    console.error(`shardmesh: ${err?.name ?? "Error"}: ${err?.message ?? err}`);
    process.exit(1);
  },
);
