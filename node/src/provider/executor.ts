// Adapts the inference engine's StageRunner (typed tensors) to the pipeline's StageExecutor
// (wire tensors: ONNX dtype code + raw bytes).
import { fromWireBag, toWireBag } from "../tensor/index.ts";
import type { StageRunner } from "../inference/runner.ts";
import type { StageExecutor } from "../pipeline/server.ts";

export function runnerExecutor(runner: StageRunner): StageExecutor & { close(): Promise<void> } {
  return {
    async run(bag, options) {
      // fromWireBag copies into fresh typed arrays, so they can move to the worker (no clone).
      return toWireBag(await runner.run(fromWireBag(bag), { signal: options.signal, transferInputs: true }));
    },
    close: () => runner.close(),
  };
}
