// Named errors of malformed tensors and bags, in any of their forms (typed, wire, canonical
// bytes, JSON). Every class has a stable `name`; tests and the gateway's `{ error: { name } }`
// bodies rely on it.

export class TensorError extends Error {
  override name = "TensorError";
}

/** A tensor's dims are invalid, or do not match what the stage declares. */
export class TensorShapeError extends TensorError {
  override name = "TensorShapeError";
}
/** A tensor's dtype is unsupported, or not the one the stage declares. */
export class TensorDtypeError extends TensorError {
  override name = "TensorDtypeError";
}
/** A tensor (or bag) is larger than the configured limit. */
export class TensorTooLargeError extends TensorError {
  override name = "TensorTooLargeError";
}
/** A float tensor holds NaN or ±Infinity. */
export class TensorNotFiniteError extends TensorError {
  override name = "TensorNotFiniteError";
}
/** Canonical or wire tensor bytes are truncated or inconsistent with the tensor's dims. */
export class TensorEncodingError extends TensorError {
  override name = "TensorEncodingError";
}
/** A JSON tensor bag (the gateway's and the SDK's form) is malformed. */
export class TensorJsonError extends TensorError {
  override name = "TensorJsonError";
}
