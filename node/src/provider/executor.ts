// Adapts the inference engine's StageRunner (typed tensors) to the pipeline's StageExecutor
// (wire tensors: ONNX dtype code + raw bytes).
import { fromWireTensor, toWireTensor } from "../tensor/tensor.ts";
import type { TensorBag } from "../tensor/tensor.ts";
import type { StageRunner } from "../inference/runner.ts";
import type { StageExecutor } from "../pipeline/server.ts";
import type { WireBag } from "../pipeline/tensor.ts";

export function toWireBag(bag: TensorBag): WireBag {
  const out: WireBag = {};
  for (const [name, t] of Object.entries(bag)) out[name] = toWireTensor(t);
  return out;
}

export function fromWireBag(bag: WireBag): TensorBag {
  const out: TensorBag = {};
  for (const [name, t] of Object.entries(bag)) out[name] = fromWireTensor(t);
  return out;
}

export function runnerExecutor(runner: StageRunner): StageExecutor & { close(): Promise<void> } {
  return {
    async run(bag, options) {
      // fromWireBag copies into fresh typed arrays, so they can move to the worker (no clone).
      return toWireBag(await runner.run(fromWireBag(bag), { signal: options.signal, transferInputs: true }));
    },
    close: () => runner.close(),
  };
}
