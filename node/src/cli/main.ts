// Dispatches `shardmesh <group> <command> ...` to node/src/cli/<group>.ts, each exporting
// `run(argv: string[]): Promise<number>` and a one-line `summary`.
const GROUPS = ["model", "provider", "mesh", "verifier", "chain", "generate", "chat"] as const;

type CliModule = { run(argv: string[]): Promise<number>; summary: string };

export async function main(argv: string[]): Promise<number> {
  const [group, ...rest] = argv;
  if (!group || group === "help" || group === "--help" || group === "-h") {
    console.log("usage: shardmesh <group> <command> [options]\n");
    for (const g of GROUPS) {
      const mod = await load(g);
      if (mod) console.log(`  ${g.padEnd(10)} ${mod.summary}`);
    }
    return 0;
  }
  if (!(GROUPS as readonly string[]).includes(group)) {
    console.error(`shardmesh: unknown command group '${group}' (try: ${GROUPS.join(", ")})`);
    return 2;
  }
  const mod = await load(group);
  if (!mod) {
    console.error(`shardmesh: '${group}' is not available in this build`);
    return 2;
  }
  return mod.run(rest);
}

async function load(group: string): Promise<CliModule | undefined> {
  try {
    return (await import(`./${group}.ts`)) as CliModule;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_MODULE_NOT_FOUND" && String((err as Error).message).includes(`/cli/${group}.ts`))
      return undefined;
    throw err;
  }
}
