#!/usr/bin/env node
// ShardMesh CLI entry. The sources are TypeScript run with Node's built-in type stripping
// (Node >= 22.13), so there is no build step.
import { main } from "../src/cli/main.ts";

// `shardmesh … | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(0);
    throw err;
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code ?? 0),
  (err) => {
    console.error(`shardmesh: ${err?.name ?? "Error"}: ${err?.message ?? err}`);
    process.exit(1);
  },
);
