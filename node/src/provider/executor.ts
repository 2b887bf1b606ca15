// Adapts the inference engine's StageRunner (typed tensors) to the pipeline's StageExecutor
// (wire tensors: ONNX dtype code + raw bytes), checking what arrives against the model's bounds
// first: a stage-0 bag is a buyer's request (checkRequest), a later stage's bag at most the hop's
// bound (hopMaxBytes). A refusal names the input's fault (Input*Error), so the caller's router
// does not charge this provider for it.
import { bagBytes, fromWireBag, toWireBag } from "../tensor/index.ts";
import type { WireBag } from "../tensor/index.ts";
import type { StageRunner } from "../inference/runner.ts";
import { checkRequest, hopMaxBytes, type RequestBounds } from "../inference/bounds.ts";
import { InputTooLargeError } from "../inference/errors.ts";
import type { Manifest } from "../inference/manifest.ts";
import type { StageExecutor } from "../pipeline/server.ts";

/** The check of stage `s`'s incoming bag under a model's bounds. */
export function stageInputCheck(m: Manifest, bounds: RequestBounds, s: number): (bag: WireBag) => void {
  if (s === 0) return (bag) => checkRequest(bounds, bag);
  const max = hopMaxBytes(m, bounds, s - 1);
  return (bag) => {
    const n = bagBytes(bag);
    if (n > max) throw new InputTooLargeError(`stage ${s} input of ${n} bytes is over the hop's bound of ${max}`);
  };
}

export function runnerExecutor(runner: StageRunner, check?: (bag: WireBag) => void): StageExecutor & { close(): Promise<void> } {
  return {
    async run(bag, options) {
      check?.(bag);
      // fromWireBag copies into fresh typed arrays, so they can move to the worker (no clone).
      return toWireBag(await runner.run(fromWireBag(bag), { signal: options.signal, transferInputs: true }));
    },
    close: () => runner.close(),
  };
}
