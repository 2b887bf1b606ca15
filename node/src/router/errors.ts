// Errors of the router; `name` is stable.

/** No live provider serves a stage (or all of them failed for this request). */
export class RouterNoProviderError extends Error {
  override name = "RouterNoProviderError";
}
