// `shardmesh provider start --config <file> [flags]`: run a provider node until Ctrl-C.
import { loadProviderConfig, PROVIDER_FLAGS } from "../provider/config.ts";
import { startProvider } from "../provider/provider.ts";
import type { ProviderEvent } from "../provider/provider.ts";
import { progressBar } from "../util/progress.ts";

/** Longest a provider takes to shut down before it exits anyway. */
export const STOP_GRACE_MS = 5_000;

export const summary = "run a provider node: serve model stages on the mesh (start)";

const USAGE = `usage: shardmesh provider start [--config <file>] [flags]
${PROVIDER_FLAGS}`;

/**
 * What the operator is told about reachability: the verdict (a peer outside our networks tried to
 * connect back to us) and then, behind NAT, the relays we are actually dialable through.
 */
export function reachMessage(
  e: Extract<ProviderEvent, { event: "reach" | "relays" }>,
  config: { relay?: boolean; announce?: string[]; listen?: string[] },
): string {
  const short = (id: string) => `${id.slice(0, 8)}…${id.slice(-6)}`;
  if (e.event === "relays") {
    return e.relays.length
      ? `dialable through ${e.relays.length} relay${e.relays.length > 1 ? "s" : ""}: ${e.relays.map(short).join(", ")}`
      : "no relay reservation now: peers cannot dial this node until a relay takes one (looking for relays)";
  }
  if (e.status === "reachable") return `reachable at ${e.externalIp}${config.relay === false ? "" : " (offering relaying)"}`;
  if (e.status === "unknown") return "reachability unknown: no peer outside this node's networks could check it yet";
  // The default listen address is loopback: nobody outside can connect to it, and hole punches
  // (sockets bound where libp2p listens) cannot leave the machine. Say so once it matters.
  const loopback = !!config.listen?.length && config.listen.every((a) => /^\/ip4\/127\.|^\/ip6\/::1\//.test(a));
  const seen = `behind NAT (seen at ${e.externalIp})${
    loopback ? "; listening on loopback only: --listen /ip4/0.0.0.0/tcp/4001 lets peers connect and hops hole punch" : ""
  }`;
  if (config.announce?.length) return `${seen}; announcing ${config.announce.join(" ")} as pinned (--announce), no relay reservations`;
  if (config.relay === false) return `${seen}; relaying off (--no-relay): peers cannot dial this node, it serves on connections it opens`;
  return `${seen}: reserving relay slots; hops to peers are hole punched where both NATs allow`;
}

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== "start") {
    console.log(USAGE);
    return cmd === undefined || cmd === "help" || cmd === "--help" || cmd === "-h" ? 0 : 2;
  }
  let parsed: ReturnType<typeof loadProviderConfig>;
  try {
    parsed = loadProviderConfig(rest);
  } catch (err) {
    if ((err as Error).name !== "ProviderConfigError") throw err;
    console.error(`shardmesh provider: ${(err as Error).message}`);
    return 2;
  }
  const { config, json, help } = parsed;
  if (help) {
    console.log(USAGE);
    return 0;
  }
  const fetchBar = progressBar({ stream: process.stdout });
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
        fetchBar({ phase: "fetch", done: p.bytes, total: p.total || p.bytes, detail: `${p.sha256.slice(0, 12)} from ${p.peers} peer(s)` });
        break;
      }
      case "stage-ready":
        console.log(`serving   ${e.modelId} stage ${e.stage}`);
        break;
      case "ready":
        console.log(`ready${e.gateway ? `    gateway ${e.gateway}` : ""}`);
        break;
      case "reach":
      case "relays":
        console.log(reachMessage(e, config));
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
