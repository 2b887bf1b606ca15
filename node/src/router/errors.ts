// Errors of the router; `name` is stable.

/** No live provider serves a stage (or all of them failed for this request). */
export class RouterNoProviderError extends Error {
  override name = "RouterNoProviderError";
}
/**
 * Every provider of stage 0 refused the buyer's input as malformed (shape, dtype, encoding, NaN):
 * the buyer's mistake, answered 422, and no provider is penalised for it.
 */
export class RouterInputRefusedError extends Error {
  override name = "RouterInputRefusedError";
}

/** A stage's claimed input/output hash is not the hash of the tensors the gateway sent/received (it then fails over). */
export class RouterHashMismatchError extends Error {
  override name = "RouterHashMismatchError";
}

/**
 * A stage (not the last) of a job request answered without a valid HandOff signature over the
 * output the gateway received, by the staking address it is listed under (it then fails over,
 * and that provider is penalised): the next stage would have nothing to show at a hand-off claim.
 */
export class RouterHandOffError extends Error {
  override name = "RouterHandOffError";
}
