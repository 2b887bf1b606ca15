// Errors of reachability, relaying and hole punching. Each has a stable `name`.

/** The dial-back check was refused, failed or answered nonsense. */
export class ReachCheckError extends Error {
  override name = "ReachCheckError";
}
/** The checker refused: this peer asked again too soon, or the checker is busy. */
export class ReachRateLimitedError extends ReachCheckError {
  override name = "ReachRateLimitedError";
}
/** TCP simultaneous open did not produce a connection before its deadline. */
export class PunchFailedError extends Error {
  override name = "PunchFailedError";
}
