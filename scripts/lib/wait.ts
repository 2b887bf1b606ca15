// Waiting, bounded, for something to come true: a chain state, a process's announcement, a
// receipt's settlement. Shared by the scripts and the tests.

/** A wait ran out of time; the message names what was awaited and the probe's last error. */
export class WaitTimeoutError extends Error {
  override name = "WaitTimeoutError";
}

/**
 * Calls `probe` every `everyMs` until it returns a truthy value (returned) or `timeoutMs` has
 * passed (WaitTimeoutError). A probe that throws counts as "not yet"; its last error goes into
 * the timeout's message.
 */
export async function until<T>(what: string, probe: () => Promise<T | undefined | false>, timeoutMs = 20_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new WaitTimeoutError(`timed out waiting for ${what}${last ? ` (last error: ${(last as Error).message})` : ""}`);
}
