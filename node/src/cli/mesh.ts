// `shardmesh mesh status [--gateway <url>] [--json]`: peers, stages, load, latency, reachability
// and the path of the gateway's hop to each, as seen by a node's gateway.
import { ShardMeshClient } from "../sdk/index.ts";
import type { MeshStatus } from "../sdk/index.ts";
import { parseFlags } from "../util/args.ts";
import type { ParsedFlags } from "../util/args.ts";
import { formatTokens, table } from "../util/format.ts";

export const summary = "inspect the mesh: peers, stages, load, latency (status)";

const USAGE = `usage: shardmesh mesh status [--gateway <url>] [--json]
  --gateway <url>   a node's gateway (default $SHARDMESH_GATEWAY or http://127.0.0.1:8600)
  --json            print the raw JSON`;

/** `rec: 0,1; ocr: 2` — the stages a peer serves, per model. */
function stagesByModel(stages: readonly { modelId: string; stage: number }[]): string {
  const byModel = new Map<string, number[]>();
  for (const s of stages) byModel.set(s.modelId, [...(byModel.get(s.modelId) ?? []), s.stage]);
  return [...byModel].map(([model, list]) => `${model}: ${list.sort((a, b) => a - b).join(",")}`).join("; ");
}

/** The mesh as a table for people (prices per inference per stage, in tokens). */
export function formatMeshTable(status: MeshStatus): string {
  const rows = status.peers.map((p) => [
    `${(p.self ? "*" : " ") + p.peerId.slice(0, 8)}…${p.peerId.slice(-6)}`,
    stagesByModel(p.stages) || "-",
    p.stages
      .map((s) => formatTokens(s.price))
      .filter((v, i, a) => a.indexOf(v) === i)
      .join(", ") || "-",
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
  return table([head, ...rows]);
}

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== "status") {
    console.log(USAGE);
    return cmd === undefined || cmd === "help" || cmd === "--help" || cmd === "-h" ? 0 : 2;
  }
  let parsed: ParsedFlags;
  try {
    parsed = parseFlags(rest, { strings: ["gateway"], booleans: ["json"] }, (message) => new Error(message));
  } catch (err) {
    console.error(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (parsed.help) {
    console.log(USAGE);
    return 0;
  }
  const url = parsed.flags.get("gateway")?.at(-1) ?? process.env.SHARDMESH_GATEWAY ?? "http://127.0.0.1:8600";
  const json = parsed.bools.has("json");
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
