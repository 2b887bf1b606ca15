// Errors of the trace store (stable names; tests and callers match on them).

/** A (job, index, stage) is already traced for another input: the row a receipt rests on is never replaced. */
export class TraceIndexTakenError extends Error {
  override name = "TraceIndexTakenError";
}
