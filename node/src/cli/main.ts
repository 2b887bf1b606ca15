// Dispatches `shardmesh <group> <command> ...` to node/src/cli/<group>.ts, each exporting
// `run(argv: string[]): Promise<number>` and a one-line `summary`. Groups load on demand (a
// command pays only for its own imports), each named here by its own import.
type CliModule = { run(argv: string[]): Promise<number>; summary: string };

const GROUPS: Record<string, () => Promise<CliModule>> = {
  model: () => import("./model.ts"),
  provider: () => import("./provider.ts"),
  mesh: () => import("./mesh.ts"),
  verifier: () => import("./verifier.ts"),
  generate: () => import("./generate.ts"),
  chat: () => import("./chat.ts"),
};

export async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  if (!group || group === "help" || group === "--help" || group === "-h") {
    console.log("usage: shardmesh <group> <command> [options]   (--help after any command for its options)\n");
    for (const [name, load] of Object.entries(GROUPS)) console.log(`  ${name.padEnd(10)} ${(await load()).summary}`);
    return 0;
  }
  const load = GROUPS[group];
  if (!load) {
    console.error(`shardmesh: unknown command group '${group}' (try: ${Object.keys(GROUPS).join(", ")})`);
    return 2;
  }
  return (await load()).run(rest);
}
