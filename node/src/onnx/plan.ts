// Cut planner: dynamic programming over the topological order, O(S·n²).
//  Phase 1 finds the smallest bottleneck B* = max_k cost(stage k) / speed(k).
//  Phase 2, among plans whose stages all take ≤ (1+slack)·B* and ≥ minShare·(total/Σspeed),
//  minimises the total bytes crossing the cuts (the lower bound prevents degenerate tiny stages;
//  it is dropped if nothing satisfies it). With speeds, a faster provider gets a bigger stage.
import { SplitError } from "./split.ts";

export interface PlanInput {
  /** Cost per node (FLOPs, or measured time). */
  cost: readonly number[];
  /** Bytes crossing each cut 0..n; Infinity marks a cut that must not be used. */
  crossBytes: readonly number[];
  stages: number;
  /** Relative speed of the provider of each stage (default all 1). */
  speeds?: readonly number[];
  /** Allowed bottleneck excess traded for fewer crossing bytes. Default 0.1. */
  slack?: number;
  /** Smallest stage as a share of the balanced time. Default 0.5. */
  minShare?: number;
}

export interface Plan {
  cuts: number[];
  stageCost: number[];
  /** max_k cost_k / speed_k of the chosen plan. */
  bottleneck: number;
  /** Best achievable bottleneck (phase 1). */
  optimalBottleneck: number;
  crossBytes: number;
}

export function planCuts(p: PlanInput): Plan {
  const n = p.cost.length;
  const S = p.stages;
  const speeds = p.speeds ?? Array.from({ length: S }, () => 1);
  if (!Number.isInteger(S) || S < 1) throw new SplitError(`stage count must be a positive integer, got ${S}`);
  if (S > n) throw new SplitError(`cannot cut ${n} nodes into ${S} stages`);
  if (speeds.length !== S || speeds.some((s) => !(s > 0))) throw new SplitError(`need ${S} positive speeds, got [${speeds.join(",")}]`);
  const prefix = [0];
  for (const c of p.cost) prefix.push(prefix[prefix.length - 1] + c);
  const seg = (i: number, j: number) => prefix[j] - prefix[i];
  const usable = (i: number) => i === 0 || Number.isFinite(p.crossBytes[i]);

  // Phase 1: f[k][j] = least bottleneck covering nodes [0, j) with k stages.
  const INF = Infinity;
  const f = Array.from({ length: S + 1 }, () => new Float64Array(n + 1).fill(INF));
  f[0][0] = 0;
  for (let k = 1; k <= S; k++) {
    for (let j = k; j <= n - (S - k); j++) {
      if (j < n && !usable(j)) continue;
      let best = INF;
      for (let i = k - 1; i < j; i++) {
        if (f[k - 1][i] === INF) continue;
        const v = Math.max(f[k - 1][i], seg(i, j) / speeds[k - 1]);
        if (v < best) best = v;
      }
      f[k][j] = best;
    }
  }
  const bStar = f[S][n];
  if (bStar === INF) throw new SplitError(`no valid ${S}-stage plan (too few usable cut positions)`);

  // Phase 2: least crossing bytes within the bottleneck slack (and, first, the lower bound).
  const upper = bStar * (1 + (p.slack ?? 0.1)) + 1e-9 * Math.abs(bStar);
  const total = prefix[n];
  const sumSpeed = speeds.reduce((a, b) => a + b, 0);
  const tryPhase2 = (lower: number): number[] | null => {
    const g = Array.from({ length: S + 1 }, () => new Float64Array(n + 1).fill(INF));
    const from = Array.from({ length: S + 1 }, () => new Int32Array(n + 1).fill(-1));
    g[0][0] = 0;
    for (let k = 1; k <= S; k++) {
      for (let j = k; j <= n - (S - k); j++) {
        if (j < n && !usable(j)) continue;
        for (let i = k - 1; i < j; i++) {
          if (g[k - 1][i] === INF) continue;
          const t = seg(i, j) / speeds[k - 1];
          if (t > upper || t < lower) continue;
          const v = g[k - 1][i] + (i > 0 ? p.crossBytes[i] : 0);
          if (v < g[k][j]) {
            g[k][j] = v;
            from[k][j] = i;
          }
        }
      }
    }
    if (g[S][n] === INF) return null;
    const cuts: number[] = [];
    let j = n;
    for (let k = S; k > 1; k--) {
      j = from[k][j];
      cuts.unshift(j);
    }
    return cuts;
  };
  const cuts = tryPhase2((p.minShare ?? 0.5) * (total / sumSpeed)) ?? tryPhase2(-INF);
  if (!cuts) throw new SplitError("planner found no plan within the slack (internal error)");
  return describePlan(p, cuts, bStar);
}

export function describePlan(p: Pick<PlanInput, "cost" | "crossBytes" | "speeds">, cuts: number[], optimal = NaN): Plan {
  const n = p.cost.length;
  const bounds = [0, ...cuts, n];
  const stageCost = bounds.slice(0, -1).map((s, i) => p.cost.slice(s, bounds[i + 1]).reduce((a, b) => a + b, 0));
  const speeds = p.speeds ?? stageCost.map(() => 1);
  return {
    cuts,
    stageCost,
    bottleneck: Math.max(...stageCost.map((c, i) => c / speeds[i])),
    optimalBottleneck: optimal,
    crossBytes: cuts.reduce((a, c) => a + p.crossBytes[c], 0),
  };
}
