// Limits of the trace store.

/** Tensors are kept at least this long, then until no receipt can need them (trace/janitor.ts); hashes stay. */
export const TRACE_RETENTION_MS = 24 * 60 * 60 * 1000;
