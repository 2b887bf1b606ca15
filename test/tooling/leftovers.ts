// Finding processes left behind: a test tags a run with an environment variable that every
// descendant inherits, and afterwards scans /proc for processes still carrying it (re-parented
// to init or not).
import { readdirSync, readFileSync } from "node:fs";

export const TAG = "SHARDMESH_CLEANUP_TEST_TAG";

/** PIDs of live processes whose environment carries `TAG=value` (zombies have none). */
export function tagged(value: string): number[] {
  const needle = `${TAG}=${value}`;
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      if (readFileSync(`/proc/${name}/environ`, "latin1").split("\0").includes(needle)) pids.push(Number(name));
    } catch {
      /* gone meanwhile, or not ours to read */
    }
  }
  return pids;
}

/** Waits (up to 5 s) until no process carries the tag; returns those still carrying it. */
export async function noneLeft(value: string): Promise<number[]> {
  const deadline = Date.now() + 5000;
  let left = tagged(value);
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = tagged(value);
  }
  return left;
}

export function describeProcs(pids: number[]): string {
  return pids
    .map((p) => {
      try {
        return `${p}: ${readFileSync(`/proc/${p}/cmdline`, "latin1").replaceAll("\0", " ").slice(0, 160)}`;
      } catch {
        return `${p}: (gone)`;
      }
    })
    .join("\n");
}
