// Limits and scoring parameters of the router (./router.ts).

/** Failures decay with this half-life. */
export const PENALTY_HALF_LIFE_MS = 10_000;
/** A failed peer is avoided for this long while another provider exists. */
export const BENCH_MS = 2_000;
/** Most providers tried per stage within one request. */
export const MAX_ATTEMPTS_PER_STAGE = 4;
/** Hop deadline = clamp(HOP_TIMEOUT_FACTOR × expected latency + HOP_TIMEOUT_SLACK_MS, min, max). */
export const HOP_TIMEOUT_FACTOR = 8;
export const HOP_TIMEOUT_SLACK_MS = 1_500;
export const HOP_TIMEOUT_MIN_MS = 2_000;

/** Latency assumed for a provider never measured. */
export const DEFAULT_LATENCY_MS = 50;

/** How long a stage with no provider left waits for one to (re)appear in the directory. */
export const ROUTE_WAIT_MS = 2_000;
/** Peers whose figures are kept; beyond it, peers no longer in the directory and idle are dropped. */
export const MAX_TRACKED_PEERS = 1_024;
