// Errors of the zk spot-check code. Stable `name`s: callers and tests match on them.

/** A value does not fit the packing or head arithmetic it is given to (wrong length, out of range). */
export class ZkInputError extends Error {
  override name = "ZkInputError";
}

/** The circuit build (wasm / zkey) for an instance is missing: run `node scripts/build-circuits.ts`. */
export class ZkArtifactMissingError extends Error {
  override name = "ZkArtifactMissingError";
}

/** Witness generation failed: the claimed input, output or weights do not satisfy the circuit. */
export class ZkWitnessError extends Error {
  override name = "ZkWitnessError";
}

/** The prover was closed (or its worker died) before the proof was made. */
export class ZkProverClosedError extends Error {
  override name = "ZkProverClosedError";
}

/** A proof took longer than the prover's timeout, or its signal aborted it. */
export class ZkProverTimeoutError extends Error {
  override name = "ZkProverTimeoutError";
}
