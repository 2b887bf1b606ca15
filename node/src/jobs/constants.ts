// Protocol ids and limits of the job lifecycle (quotes, receipt parts, reveals, watchers).

/** Quote protocol: the gateway asks a provider for a fresh EIP-712 quote for (model, stage, maxCount). */
export const QUOTE_PROTOCOL = "/shardmesh/quote/1.0.0";
/** Receipt protocol: signed receipt parts from a stage provider's trace, and leaf reveals with proofs. */
export const RECEIPT_PROTOCOL = "/shardmesh/receipt/1.0.0";

/** Largest JSON message on either protocol (a part request carries up to MAX_PART_INDICES buyer leaves, ~170 bytes each). */
export const MAX_JOBS_MESSAGE_BYTES = 1024 * 1024;
/** Most requests in one receipt the gateway builds, and most buyer leaves a part or reveal request
 *  may carry (each provider checks all of them before signing; 4,096 × ~170 bytes < 1 MiB). The
 *  chain bounds a receipt further to MAX_SAMPLES · 1e6 / samplingRatePpm requests. */
export const MAX_PART_INDICES = 4_096;
/** Sampling.MAX_SAMPLES: the chain takes at most MAX_SAMPLES · 1e6 / rate requests per receipt. */
export const MAX_SAMPLES_PER_RECEIPT = 32;
/** Deadline of one quote/receipt exchange (dial, request, answer). */
export const JOBS_RPC_TIMEOUT_MS = 10_000;
/** Inbound streams per protocol at once. */
export const MAX_JOBS_INBOUND_STREAMS = 32;

/** Quotes the gateway collects per stage (cheapest, least loaded first). */
export const MAX_QUOTES_PER_STAGE = 3;
/** Quote lifetime, seconds after the chain's latest block time. */
export const QUOTE_TTL_SECONDS = 30 * 60;
/** Latest job expiry a quote allows, seconds after the chain's latest block time: the longest this
 *  provider lets a job lock its collateral (the contract also caps jobs at maxJobDuration). */
export const QUOTE_MAX_JOB_SECONDS = 7 * 24 * 3600;

/** How often watchers look at the chain (SHARDMESH_JOBS_POLL_MS overrides). */
export const JOBS_POLL_MS = Number(process.env.SHARDMESH_JOBS_POLL_MS ?? 1_000);
/** Default stake for `--register` when `--stake` is absent (token base units: 5,000 tokens). */
export const DEFAULT_REGISTER_STAKE = 5_000n * 10n ** 18n;
