// Spot checks of a decoder stage: a session's stage is re-executed over its whole token sequence
// in one prefill pass (position 0, every position's input hidden state at once) and every
// position's output compared with what the provider returned, within the manifest's tolerance.
// Incremental decode and a one-shot pass differ by float rounding (fusions and reduction order
// change with the sequence length), so the comparison is never by hash.
import type { Tensor } from "../tensor/index.ts";
import { LlmError } from "./errors.ts";
import type { DecoderStageRunner } from "./stage-runner.ts";

export interface DecoderStageVerdict {
  ok: boolean;
  positions: number;
  maxAbsDiff: number;
  /** First position whose output differs by more than the tolerance (−1 if none). */
  firstBadPosition: number;
  tolerance: number;
}

let checkNo = 0;

/**
 * Re-runs `inputs` ([1, P, d], the hidden states the stage received, in position order) through
 * `runner` in one prefill step and compares with `outputs` ([1, P, d], what it returned).
 * Relative tolerance: |a − b| ≤ tolerance · max(1, |b|).
 */
export async function verifyDecoderStage(
  runner: DecoderStageRunner,
  inputName: string,
  outputName: string,
  inputs: Tensor,
  outputs: Tensor,
  tolerance: number,
  o: { signal?: AbortSignal } = {},
): Promise<DecoderStageVerdict> {
  const [b, P] = inputs.dims;
  if (b !== 1 || inputs.dims.length !== 3 || outputs.dims.length !== 3 || outputs.dims[0] !== 1 || outputs.dims[1] !== P) {
    throw new LlmError(`inputs [${inputs.dims}] and outputs [${outputs.dims}] must be [1, P, d] over the same positions`);
  }
  const id = `verify-${process.pid}-${checkNo++}`;
  await runner.open(id, { maxLength: P });
  try {
    const r = await runner.step(id, { stepId: 0, position: 0, bag: { [inputName]: inputs } }, o);
    const got = r.bag[outputName]?.data as Float32Array | undefined;
    const want = outputs.data as Float32Array;
    if (!got || got.length !== want.length) throw new LlmError(`re-execution gave no ${outputName} of ${want.length} values`);
    let maxAbsDiff = 0;
    let firstBadPosition = -1;
    const width = outputs.dims[2];
    for (let i = 0; i < got.length; i++) {
      const diff = Math.abs(got[i] - want[i]);
      if (!(diff <= tolerance * Math.max(1, Math.abs(want[i])))) {
        if (firstBadPosition < 0) firstBadPosition = Math.floor(i / width);
      }
      if (diff > maxAbsDiff || Number.isNaN(diff)) maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
    }
    return { ok: firstBadPosition < 0, positions: P, maxAbsDiff, firstBadPosition, tolerance };
  } finally {
    await runner.closeSession(id);
  }
}

/** The one hidden state of a trace side: a bag of exactly one float32 [1, P, d] tensor. */
function traceSide(bag: Readonly<Record<string, Tensor>>, side: string): { name: string; t: Tensor } {
  const entries = Object.entries(bag);
  if (entries.length !== 1) throw new LlmError(`a decoder stage's ${side} trace holds one tensor, not ${entries.length}`);
  const [name, t] = entries[0];
  if (t.dtype !== "float32" || t.dims.length !== 3 || t.dims[0] !== 1 || t.dims[1] < 1)
    throw new LlmError(`${side} ${name} is ${t.dtype} [${t.dims.join(",")}], not float32 [1, P, d]`);
  return { name, t };
}

/**
 * A spot check of a paid session's stage from its trace (the bags a provider keeps, ./trace.ts):
 * `input` and `output` are each one [1, P, d] hidden state over every position of the session.
 * Throws LlmError when the input is not such a bag (nothing to re-run); a claimed output of
 * another shape than the input's is a failed verdict.
 */
export async function verifyDecoderTrace(
  runner: DecoderStageRunner,
  input: Readonly<Record<string, Tensor>>,
  output: Readonly<Record<string, Tensor>>,
  tolerance: number,
  o: { signal?: AbortSignal } = {},
): Promise<DecoderStageVerdict> {
  const i = traceSide(input, "input");
  let out: { name: string; t: Tensor };
  try {
    out = traceSide(output, "output");
  } catch {
    return { ok: false, positions: i.t.dims[1], maxAbsDiff: Infinity, firstBadPosition: 0, tolerance };
  }
  if (out.t.dims[1] !== i.t.dims[1] || out.t.dims[2] !== i.t.dims[2])
    return { ok: false, positions: i.t.dims[1], maxAbsDiff: Infinity, firstBadPosition: 0, tolerance };
  return verifyDecoderStage(runner, i.name, out.name, i.t, out.t, tolerance, o);
}
