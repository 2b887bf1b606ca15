// Re-execution check: what a verifier runs on a sampled request. It re-runs one stage on the
// revealed input bag and compares the result with the provider's claimed output bag, tensor by
// tensor, within the model's tolerance. Hashes are reported so the caller can also check the
// revealed tensors against the on-chain leaf.
import type { Hex } from "viem";
import { bagHash, maxAbsDiff, sortedNames, type TensorBag } from "../tensor/index.ts";
import type { StageRunner, RunOptions } from "./runner.ts";

export interface TensorVerdict {
  name: string;
  ok: boolean;
  maxAbsDiff: number;
  reason?: "missing" | "unexpected" | "dtype" | "shape" | "tolerance";
}

export interface Verdict {
  /** true when every tensor of the claimed bag matches the recomputed one within tolerance. */
  ok: boolean;
  /** true when the recomputed bag hashes exactly to the claimed bag. */
  exact: boolean;
  tolerance: number;
  maxAbsDiff: number;
  inputHash: Hex;
  claimedOutputHash: Hex;
  recomputedOutputHash: Hex;
  tensors: TensorVerdict[];
}

/** Compares two bags tensor by tensor. */
export function compareBags(claimed: TensorBag, recomputed: TensorBag, tolerance: number): TensorVerdict[] {
  const names = new Set([...Object.keys(claimed), ...Object.keys(recomputed)]);
  const out: TensorVerdict[] = [];
  for (const name of [...names].sort()) {
    const a = claimed[name];
    const b = recomputed[name];
    if (!a) out.push({ name, ok: false, maxAbsDiff: Infinity, reason: "missing" });
    else if (!b) out.push({ name, ok: false, maxAbsDiff: Infinity, reason: "unexpected" });
    else if (a.dtype !== b.dtype) out.push({ name, ok: false, maxAbsDiff: Infinity, reason: "dtype" });
    else if (a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i]))
      out.push({ name, ok: false, maxAbsDiff: Infinity, reason: "shape" });
    else {
      const d = maxAbsDiff(a, b);
      out.push(d <= tolerance ? { name, ok: true, maxAbsDiff: d } : { name, ok: false, maxAbsDiff: d, reason: "tolerance" });
    }
  }
  return out;
}

/**
 * Re-executes `runner`'s stage on `input` and judges `claimed`. Input errors (wrong shape, NaN…)
 * propagate as their named errors: a verifier must not convict on input it cannot run.
 */
export async function verifyStage(
  runner: StageRunner,
  input: TensorBag,
  claimed: TensorBag,
  tolerance: number,
  options: RunOptions = {},
): Promise<Verdict> {
  const recomputed = await runner.run(input, options);
  const tensors = compareBags(claimed, recomputed, tolerance);
  const claimedOutputHash = bagHash(claimed);
  const recomputedOutputHash = bagHash(recomputed);
  return {
    ok: tensors.every((t) => t.ok),
    exact: claimedOutputHash === recomputedOutputHash,
    tolerance,
    maxAbsDiff: Math.max(0, ...tensors.map((t) => t.maxAbsDiff)),
    inputHash: bagHash(input),
    claimedOutputHash,
    recomputedOutputHash,
    tensors,
  };
}

export { sortedNames };
