// `shardmesh provider start --config <file> [flags]`: run a provider node until Ctrl-C.
import { loadProviderConfig, PROVIDER_FLAGS } from "../provider/config.ts";
import { startProvider } from "../provider/provider.ts";
import type { ProviderEvent } from "../provider/provider.ts";

/** Longest a provider takes to shut down before it exits anyway. */
export const STOP_GRACE_MS = 5_000;

export const summary = "run a provider node: serve model stages on the mesh (start)";

const USAGE = `usage: shardmesh provider start [--config <file>] [flags]
${PROVIDER_FLAGS}`;

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== "start") {
    console.log(USAGE);
    return cmd === undefined || cmd === "help" || cmd === "--help" ? 0 : 2;
  }
  const { config, json } = loadProviderConfig(rest);
  const print = (e: ProviderEvent): void => {
    if (json) {
      process.stdout.write(`${JSON.stringify(e)}\n`);
      return;
    }
    switch (e.event) {
      case "listening":
        console.log(`peer id   ${e.peerId}\nlistening ${e.addrs.join(" ")}`);
        break;
      case "shard-progress": {
        const p = e.progress;
        const pct = p.total ? Math.floor((100 * p.bytes) / p.total) : 100;
        const bar = "#".repeat(Math.floor(pct / 4)).padEnd(25, ".");
        process.stdout.write(`\rfetching ${p.sha256.slice(0, 12)} [${bar}] ${pct}% from ${p.peers} peer(s)${pct === 100 ? "\n" : ""}`);
        break;
      }
      case "stage-ready":
        console.log(`serving   ${e.modelId} stage ${e.stage}`);
        break;
      case "ready":
        console.log(`ready${e.gateway ? `    gateway ${e.gateway}` : ""}`);
        break;
      case "reach":
        // Discovered: a peer outside our networks tried to connect back to us.
        console.log(
          e.status === "reachable"
            ? `reachable at ${e.externalIp}${config.relay === false ? "" : " (offering relaying)"}`
            : `behind NAT (seen at ${e.externalIp})${config.relay === false ? "" : ": reachable through relays"}, hole punching to peers`,
        );
        break;
    }
  };
  const provider = await startProvider(config, { onEvent: print });
  await new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    // Spawned with an IPC channel (tests, supervisors): never outlive the parent.
    if (process.send) process.once("disconnect", resolve);
  });
  // Never hang on the way out: a stuck shutdown step must not keep the process alive.
  setTimeout(() => process.exit(1), STOP_GRACE_MS).unref();
  await provider.stop();
  return 0;
}
