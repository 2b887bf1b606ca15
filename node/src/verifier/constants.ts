// Protocol id and limits of the verifier: the tensor protocol (revealed tensors by job, request
// index and stage) and the verifier service's timing.

/** Tensor protocol: a verifier asks the provider that served a stage for its kept tensors. */
export const TENSOR_PROTOCOL = "/shardmesh/tensor/1.0.0";
/** Wire version inside every request (a peer answers other versions with TensorProtocolError). */
export const TENSOR_PROTOCOL_VERSION = 1;
/** Largest request frame (a small JSON object). */
export const MAX_TENSOR_REQUEST_BYTES = 1024;
/** Largest answer header frame (JSON: status and per-tensor name, dtype, dims, bytes). */
export const MAX_TENSOR_HEADER_BYTES = 64 * 1024;
/** Largest bag (sum of tensor data bytes) served or accepted by default. */
export const MAX_TENSOR_BAG_BYTES = 64 * 1024 * 1024;
/** Most tensors in one answer. */
export const MAX_TENSORS_PER_ANSWER = 64;
/** Deadline of one fetch (dial, request, header and every tensor frame). */
export const TENSOR_FETCH_TIMEOUT_MS = 30_000;
/** Deadline for the server to read a request after a stream opens. */
export const TENSOR_REQUEST_TIMEOUT_MS = 5_000;
/** Inbound tensor streams served at once. */
export const MAX_TENSOR_INBOUND_STREAMS = 16;
/** Fetch attempts before a provider is taken as unable to deliver a revealed tensor. */
export const TENSOR_FETCH_ATTEMPTS = 3;
/** Pause between fetch attempts. */
export const TENSOR_FETCH_RETRY_MS = 1_000;

/** Blocks a verifier waits past a seed's due block before fixing it itself (the submitter goes
 *  first); for a committee draw, blocks between the turns of a dispute's parties (votes.ts). */
export const SEED_GRACE_BLOCKS = 2n;
/** Seconds between the turns of a dispute's parties once a round can be closed or a verdict made
 *  final: the party of rank r (0: the lead) acts r × this after the deadline (votes.ts). */
export const RESOLVE_GRACE_SECONDS = 60n;

/** Turns a verifier that is no party to a dispute spreads over, after every party's turn (its own
 *  turn by a hash of its address and the dispute: such verifiers do not know each other). */
export const NON_PARTY_TURNS = 8n;

/** How often the verifier service reads new SpotCheck, Disputes and JobMarket events (SHARDMESH_VERIFIER_POLL_MS overrides). */
export const VERIFIER_POLL_MS = Number(process.env.SHARDMESH_VERIFIER_POLL_MS ?? 1_000);
/** Most blocks read per getLogs call. */
export const VERIFIER_LOG_RANGE = 5_000n;
/** Re-execution deadline of one stage check. */
export const VERIFIER_RUN_TIMEOUT_MS = 60_000;
/** Parts per million of other receipts' revealed leaves a verifier spot-checks unasked (default 0). */
export const DEFAULT_SPOT_CHECK_PPM = 0;
