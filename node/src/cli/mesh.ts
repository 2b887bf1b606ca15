// `shardmesh mesh status [--gateway <url>] [--json]`: peers, stages, load, latency, reachability
// and the path of the gateway's hop to each, as seen by a node's gateway.
import { ShardMeshClient } from "../sdk/index.ts";
import type { MeshStatus } from "../sdk/index.ts";

export const summary = "inspect the mesh: peers, stages, load, latency (status)";

const USAGE = `usage: shardmesh mesh status [--gateway <url>] [--json]
  --gateway <url>   a node's gateway (default $SHARDMESH_GATEWAY or http://127.0.0.1:8600)
  --json            print the raw JSON`;

export function formatMeshTable(status: MeshStatus): string {
  const rows = status.peers.map((p) => [
    (p.self ? "*" : " ") + p.peerId.slice(0, 8) + "…" + p.peerId.slice(-6),
    p.stages.map((s) => `${s.modelId}#${s.stage}`).join(",") || "-",
    p.stages
      .map((s) => s.price)
      .filter((v, i, a) => a.indexOf(v) === i)
      .join(",") || "-",
    `${p.load}/${p.capacity}`,
    p.latencyMs ? `${p.latencyMs.toFixed(1)} ms` : "-",
    `${p.served}/${p.failed}`,
    p.stakingAddress ? `${p.stakingAddress.slice(0, 8)}…` : "-",
    `${(p.ageMs / 1000).toFixed(1)} s`,
    // Behind NAT ("NAT") peers are dialled through relays; "+relay": it offers relaying.
    ({ reachable: "public", unreachable: "NAT" }[p.reach as string] ?? "?") + (p.relay ? "+relay" : ""),
    p.path ?? "-",
  ]);
  const head = ["PEER", "STAGES", "PRICE", "LOAD", "LATENCY", "OK/FAIL", "STAKER", "SEEN", "REACH", "PATH"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]))
      .join("  ")
      .trimEnd();
  return [line(head), ...rows.map(line)].join("\n");
}

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== "status") {
    console.log(USAGE);
    return cmd === undefined || cmd === "help" || cmd === "--help" ? 0 : 2;
  }
  let url = process.env.SHARDMESH_GATEWAY ?? "http://127.0.0.1:8600";
  let json = false;
  for (let i = 0; i < rest.length; i++) {
    if (rest[i] === "--gateway") url = rest[++i];
    else if (rest[i].startsWith("--gateway=")) url = rest[i].slice("--gateway=".length);
    else if (rest[i] === "--json") json = true;
    else {
      console.error(`unknown argument ${rest[i]}\n${USAGE}`);
      return 2;
    }
  }
  let status: MeshStatus;
  try {
    status = await new ShardMeshClient(url, { timeoutMs: 10_000 }).mesh();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code;
    console.error(`shardmesh: cannot read the mesh from ${url}: ${(err as Error).message}${cause ? ` (${cause})` : ""}`);
    return 1;
  }
  if (json) console.log(JSON.stringify(status, null, 2));
  else {
    console.log(`mesh seen from ${status.self} (${url}); * = this node\n`);
    console.log(formatMeshTable(status));
  }
  return 0;
}
