// Protocol id, wire version and limits of the pipeline protocol (node/src/pb/pipeline.proto).

/** Pipeline protocol: stage-to-stage activations (node/src/pb/pipeline.proto). */
export const PIPELINE_PROTOCOL = "/shardmesh/pipeline/1.0.0";
/**
 * Wire version carried in every pipeline frame; a peer answers other versions with an error.
 * 2: a job REQUEST beyond stage 0 must carry its upstream's hand-off, a RESPONSE before the last
 * stage carries its own (pipeline/handoff.ts); a version-1 peer would be refused by name on those.
 */
export const PIPELINE_VERSION = 2;

/** Largest payload (all tensors of one request) a pipeline frame may carry. */
export const MAX_PAYLOAD_BYTES = 32 * 1024 * 1024;
/** Largest protobuf header of a pipeline frame. */
export const MAX_HEADER_BYTES = 64 * 1024;
/** Most tensors in one bag. */
export const MAX_TENSORS_PER_FRAME = 64;

/** Bytes a pipeline stream may buffer unread before the reader stops pulling (backpressure). */
export const STREAM_READ_BUFFER_BYTES = 2 * MAX_PAYLOAD_BYTES;
/** Inbound pipeline streams one peer may hold open at once (one per hop is the norm). */
export const MAX_PIPELINE_STREAMS_PER_PEER = 4;
/** Inbound pipeline streams in total. */
export const MAX_PIPELINE_STREAMS = 256;
/** Requests run at once per pipeline stream; more wait in a queue (stream paused). */
export const MAX_INFLIGHT_PER_STREAM = 16;
/** Requests queued per stream beyond MAX_INFLIGHT_PER_STREAM before PipelineBusyError. */
export const MAX_QUEUED_PER_STREAM = 256;

/**
 * DATA_PLANE_REQUESTs one pipeline stream may make. A caller asks once per stream, when it opens
 * it (pipeline/client.ts); 2 leaves room for one retry. The next one closes the stream with
 * PipelineOfferLimitError: each request costs the provider fresh randomness, an offer kept for
 * DATA_PLANE_TOKEN_TTL_MS and a reply frame, so a stream must not ask for them by the thousand.
 */
export const MAX_DATA_PLANE_OFFERS_PER_STREAM = 2;

/** Default deadline of one hop (stage execution plus transfer). */
export const HOP_TIMEOUT_MS = 10_000;
/** Longest deadline a request may ask a provider for (a header's timeoutMs is clamped to it). */
export const MAX_HOP_TIMEOUT_MS = 10 * HOP_TIMEOUT_MS;
/**
 * A provider closes a sealed data-plane channel that carried no record either way for this long:
 * MAX_HOP_TIMEOUT_MS + HOP_TIMEOUT_MS (110 s). A channel with a request in flight is never idle
 * that long (the request ends or times out within MAX_HOP_TIMEOUT_MS and its answer is a record),
 * so only channels a caller abandoned reach it; each holds a socket and one of the peer's
 * MAX_PIPELINE_STREAMS_PER_PEER slots.
 */
export const DATA_PLANE_IDLE_TIMEOUT_MS = MAX_HOP_TIMEOUT_MS + HOP_TIMEOUT_MS;
/**
 * The caller retires its own idle channel (and the hop's control stream with it) earlier:
 * MAX_HOP_TIMEOUT_MS + HOP_TIMEOUT_MS / 2 (105 s), longer than any deadline it may give a request
 * and 5 s before the provider would, so an honest caller never sends a request on a channel the
 * provider is closing for idleness.
 */
export const DATA_PLANE_CALLER_IDLE_TIMEOUT_MS = MAX_HOP_TIMEOUT_MS + HOP_TIMEOUT_MS / 2;
