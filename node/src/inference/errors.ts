// Named errors of the inference engine. Every class has a stable `name` that callers (and the
// gateway's `{ error: { name } }` bodies) can rely on; tests assert these names.

export class InferenceError extends Error {
  override name = "InferenceError";
}

/** A bag lacks a tensor the stage needs, or holds one the hop does not carry. */
export class BagMismatchError extends InferenceError {
  override name = "BagMismatchError";
}
/** A stage file's sha256 differs from the manifest's: on load (manifest.ts) or after a fetch from peers (mesh/shards.ts). */
export class ShardHashMismatchError extends InferenceError {
  override name = "ShardHashMismatchError";
}
/** A manifest is malformed or inconsistent. */
export class ManifestError extends InferenceError {
  override name = "ManifestError";
}
/** onnxruntime could not load a model or failed while running it. */
export class SessionError extends InferenceError {
  override name = "SessionError";
}
/** A request did not finish within its timeout. */
export class InferenceTimeoutError extends InferenceError {
  override name = "InferenceTimeoutError";
}
/** The caller's AbortSignal fired. */
export class InferenceAbortedError extends InferenceError {
  override name = "InferenceAbortedError";
}
/** The runner's queue (requests or bytes in flight) is full. */
export class RunnerBusyError extends InferenceError {
  override name = "RunnerBusyError";
}
/** The runner was closed. */
export class RunnerClosedError extends InferenceError {
  override name = "RunnerClosedError";
}

// A buyer's request checked against the model's declared bounds (bounds.ts): the buyer's
// mistake, answered 4xx by the gateway before any hop, never charged to a provider.
/** The request's tensors do not match the model's inputs (names, count, dtype, rank, data size). */
export class InputMismatchError extends InferenceError {
  override name = "InputMismatchError";
}
/** A dim of a request tensor is outside the range the model's manifest declares. */
export class InputOutOfBoundsError extends InferenceError {
  override name = "InputOutOfBoundsError";
}
/** A request is larger than the model's bounds allow. */
export class InputTooLargeError extends InferenceError {
  override name = "InputTooLargeError";
}
