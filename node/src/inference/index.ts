// Public API of the inference engine (tensors are node/src/tensor): manifests, the worker-thread stage
// runner, the chained pipeline and the verifier's re-execution check.
export * from "./errors.ts";
export * from "./manifest.ts";
export * from "./bounds.ts";
export * from "./runner.ts";
export * from "./pipeline.ts";
export { compareBags, verifyStage, type TensorVerdict, type Verdict } from "./verify.ts";
