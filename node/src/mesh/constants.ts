// Every protocol id, topic and limit of the mesh, in one place.

/** Pipeline protocol: stage-to-stage activations (node/src/pb/pipeline.proto). */
export const PIPELINE_PROTOCOL = "/shardmesh/pipeline/1.0.0";
/** Wire version carried in every pipeline frame; a peer answers other versions with an error. */
export const PIPELINE_VERSION = 1;
/** Shard transfer protocol: stage files by sha256 (node/src/pb/shard.proto). */
export const SHARD_PROTOCOL = "/shardmesh/shard/1.0.0";
/** kad-dht protocol prefix: a private DHT, off the public /ipfs/kad/1.0.0. */
export const DHT_PROTOCOL = "/shardmesh/kad/1.0.0";
/** Gossip topic for signed capability announcements. */
export const CAPABILITY_TOPIC = "shardmesh/capabilities/1";

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
/** Default deadline of one hop (stage execution plus transfer). */
export const HOP_TIMEOUT_MS = 10_000;
/** Deadline for opening a stream to a peer (dial + protocol negotiation). */
export const DIAL_TIMEOUT_MS = 3_000;

/** Capability announcements: how often a provider republishes, and when an entry expires. */
export const ANNOUNCE_INTERVAL_MS = 1_000;
export const DIRECTORY_TTL_MS = 4_000;
/** Largest capability announcement accepted. */
export const MAX_ANNOUNCEMENT_BYTES = 16 * 1024;

/** Shard transfer: chunk size, parallel peers, per-chunk deadline. */
export const SHARD_CHUNK_BYTES = 1024 * 1024;
export const SHARD_CHUNK_MAX = 4 * 1024 * 1024;
export const SHARD_PARALLEL_PEERS = 4;
export const SHARD_CHUNK_TIMEOUT_MS = 15_000;

/**
 * Connection monitor: a frozen peer is dropped within ~2-7 s. A killed peer is noticed at once
 * (the kernel closes its sockets); shorter ping timeouts caused false disconnects on a loaded
 * 2-core machine, and hop deadlines cover frozen peers per request anyway.
 */
export const PING_INTERVAL_MS = 2_000;
export const PING_TIMEOUT_MIN_MS = 2_000;
export const PING_TIMEOUT_MAX_MS = 5_000;

/** Trace store: tensors are kept at least this long, then until no receipt can need them (trace/janitor.ts); hashes stay. */
export const TRACE_RETENTION_MS = 24 * 60 * 60 * 1000;
