// Errors of the chain module; `name` is stable (tests and callers match on it).
export class DeploymentNotFoundError extends Error {
  override name = "DeploymentNotFoundError";
}
export class DeploymentInvalidError extends Error {
  override name = "DeploymentInvalidError";
}
export class ChainEventMissingError extends Error {
  override name = "ChainEventMissingError";
}
export class ChainTxRevertedError extends Error {
  override name = "ChainTxRevertedError";
}
export class ChainConfigError extends Error {
  override name = "ChainConfigError";
}
