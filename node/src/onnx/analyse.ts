// Liveness analysis of a normalised graph. Cut c sits between node c-1 and node c (0 < c < n).
// A tensor t (not an initializer) is live across cut c when producer(t) < c <= lastUse(t), where
// producer is -1 for graph inputs and lastUse is n for graph outputs; a node "uses" the tensors
// it names as inputs and those its If/Loop/Scan bodies capture. crossing(c) is exactly the hop
// bag of PROTOCOL.md: skip connections and pass-through inputs included.
import { nodeCaptures, OnnxModelError, type ModelProto } from "./model.ts";

export interface Analysis {
  /** Number of top-level nodes. */
  n: number;
  /** Per node: non-initializer tensors it uses (inputs and captures), in order of appearance. */
  uses: string[][];
  /** Per node: initializers it uses (inputs and captures). */
  initUses: string[][];
  /** Per node: its outputs (empty names dropped). */
  outputs: string[][];
  producer: Map<string, number>;
  lastUse: Map<string, number>;
  initializers: Set<string>;
  graphInputs: string[];
  graphOutputs: string[];
}

export function analyse(m: ModelProto): Analysis {
  const g = m.graph!;
  const nodes = g.node ?? [];
  const n = nodes.length;
  const initializers = new Set((g.initializer ?? []).map((t) => t.name ?? ""));
  const graphInputs = (g.input ?? []).map((i) => i.name ?? "").filter((x) => !initializers.has(x));
  const graphOutputs = (g.output ?? []).map((o) => o.name ?? "");
  const producer = new Map<string, number>();
  const lastUse = new Map<string, number>();
  for (const x of graphInputs) producer.set(x, -1);
  const uses: string[][] = [];
  const initUses: string[][] = [];
  const outputs: string[][] = [];
  nodes.forEach((node, k) => {
    const names = [...(node.input ?? []).filter((x) => x !== ""), ...nodeCaptures(node)];
    const u: string[] = [];
    const iu: string[] = [];
    for (const x of names) {
      if (initializers.has(x)) {
        if (!iu.includes(x)) iu.push(x);
        continue;
      }
      if (!producer.has(x)) {
        throw new OnnxModelError(
          `node ${k} (${node.opType} ${node.name ?? ""}) uses ${x} before it is produced: graph not topologically sorted or tensor undefined`,
        );
      }
      if (!u.includes(x)) u.push(x);
      lastUse.set(x, k);
    }
    uses.push(u);
    initUses.push(iu);
    const outs = (node.output ?? []).filter((x) => x !== "");
    for (const o of outs) {
      if (producer.has(o) || initializers.has(o)) throw new OnnxModelError(`tensor ${o} is defined twice`);
      producer.set(o, k);
    }
    outputs.push(outs);
  });
  for (const o of graphOutputs) {
    if (!producer.has(o) && !initializers.has(o)) throw new OnnxModelError(`graph output ${o} is never produced`);
    lastUse.set(o, n);
  }
  return { n, uses, initUses, outputs, producer, lastUse, initializers, graphInputs, graphOutputs };
}

/** Tensors live across cut c (0 ≤ c ≤ n), ordered by producer then output position. */
export function crossing(a: Analysis, c: number): string[] {
  const out: string[] = [];
  if (c === 0) return [...a.graphInputs];
  if (c === a.n) return [...a.graphOutputs];
  for (const x of a.graphInputs) if ((a.lastUse.get(x) ?? -1) >= c) out.push(x);
  for (let k = 0; k < c; k++) for (const x of a.outputs[k]) if ((a.lastUse.get(x) ?? k) >= c) out.push(x);
  return out;
}

/** For every cut 0..n, the sum of `size(t)` over tensors crossing it (difference array). */
export function crossingTotals(a: Analysis, size: (t: string) => number): number[] {
  const diff = new Float64Array(a.n + 2);
  const add = (t: string, from: number, to: number) => {
    const s = size(t);
    diff[from] += s;
    diff[to + 1] -= s;
  };
  for (const x of a.graphInputs) add(x, 0, Math.max(0, a.lastUse.get(x) ?? 0));
  a.outputs.forEach((outs, k) => {
    for (const x of outs) {
      const u = a.lastUse.get(x);
      if (u !== undefined && u > k) add(x, k + 1, u);
    }
  });
  const totals: number[] = [];
  let run = 0;
  for (let c = 0; c <= a.n; c++) totals.push((run += diff[c]));
  return totals;
}
