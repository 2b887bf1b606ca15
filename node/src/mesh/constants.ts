// Protocol ids, topics and limits of the mesh: dialing, the DHT, capability gossip, shard transfer,
// the connection monitor. (The pipeline protocol's are in node/src/pipeline/constants.ts.)

/** Shard transfer protocol: stage files by sha256 (node/src/pb/shard.proto). */
export const SHARD_PROTOCOL = "/shardmesh/shard/1.0.0";
/** kad-dht protocol prefix: a private DHT, off the public /ipfs/kad/1.0.0. */
export const DHT_PROTOCOL = "/shardmesh/kad/1.0.0";
/** Gossip topic for signed capability announcements. */
export const CAPABILITY_TOPIC = "shardmesh/capabilities/1";

/** Deadline for opening a stream to a peer (dial + protocol negotiation). */
export const DIAL_TIMEOUT_MS = 3_000;
/**
 * The same through a relay (a provider behind NAT): the relay's hop and stop exchanges, then
 * noise and the muxer across two links before the first stream. 3 s was too short for the first
 * relayed dial on a loaded 2-core machine (the namespace network test lost its first requests);
 * libp2p's own per-address dial timeout is 6 s.
 */
export const RELAYED_DIAL_TIMEOUT_MS = 10_000;

/** Capability announcements: how often a provider republishes, and when an entry expires. */
export const ANNOUNCE_INTERVAL_MS = 1_000;
export const DIRECTORY_TTL_MS = 4_000;
/** Largest capability announcement accepted. */
export const MAX_ANNOUNCEMENT_BYTES = 16 * 1024;
/**
 * Caps on what an announcement may claim (parseAnnouncement refuses more): a peer's numbers feed
 * the router's choice and the gateway's listings, so a claim of capacity 1e9 or a thousand models
 * is refused rather than believed.
 */
/** Addresses an announcement may list (a relayed node lists several per relay). */
export const MAX_ANNOUNCEMENT_ADDRS = 64;
export const MAX_ANNOUNCED_MODELS = 32;
/** Stages of one model (also the largest stage count announced). */
export const MAX_ANNOUNCED_STAGES = 64;
/** Requests a provider may claim to run at once. */
export const MAX_ANNOUNCED_CAPACITY = 1024;
/** Requests a provider may report in flight. */
export const MAX_ANNOUNCED_LOAD = 64 * 1024;
/** Stage compute latency a provider may report, ms. */
export const MAX_ANNOUNCED_LATENCY_MS = 600_000;
/**
 * An announcement's timestamp may differ from the receiver's clock by this much (a timestamp ten
 * years ahead would otherwise win every seq/ts comparison and never look stale).
 */
export const MAX_CLOCK_SKEW_MS = 30_000;
/** Providers listed at once; a new one beyond it is refused until an entry expires. */
export const MAX_DIRECTORY_ENTRIES = 1_024;

/** Shard transfer: chunk size, parallel peers, per-chunk deadline. */
export const SHARD_CHUNK_BYTES = 1024 * 1024;
export const SHARD_CHUNK_MAX = 4 * 1024 * 1024;
export const SHARD_PARALLEL_PEERS = 4;
export const SHARD_CHUNK_TIMEOUT_MS = 15_000;
/** Largest stage file fetched when the caller does not know its size (the manifest gives it). */
export const MAX_SHARD_BYTES = 8 * 1024 * 1024 * 1024;

/**
 * Connection monitor: a frozen peer is dropped within ~10-20 s. A killed peer is noticed at once
 * (the kernel closes its sockets), and hop deadlines cover frozen peers per request anyway.
 * Shorter ping timeouts cause false disconnects on a loaded 2-core machine: with 2 s interval
 * and 2-5 s timeouts, 475 pings timed out in 4 min of the network bench (load ~20), each
 * aborting a live connection — homes lost their relay reservations over and over and relayed
 * hops could not be dialled for minutes.
 */
export const PING_INTERVAL_MS = 5_000;
export const PING_TIMEOUT_MIN_MS = 5_000;
export const PING_TIMEOUT_MAX_MS = 15_000;
/**
 * Ping streams open at once on one connection, each way. The monitor pings every
 * PING_INTERVAL_MS and a ping may take up to PING_TIMEOUT_MAX_MS, so heartbeats overlap; with
 * libp2p's default of one outbound ping stream the next heartbeat failed at once
 * (TooManyOutboundProtocolStreamsError) and the monitor aborted a healthy, merely slow connection
 * — on a loaded machine, relay reservations and relayed hops died every few seconds.
 *   PING_MAX_STREAMS = ceil(PING_TIMEOUT_MAX_MS / PING_INTERVAL_MS) + 1
 */
export const PING_MAX_STREAMS = Math.ceil(PING_TIMEOUT_MAX_MS / PING_INTERVAL_MS) + 1;
