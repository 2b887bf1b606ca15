// Limits and timings of reachability, relaying and hole punching (node/src/nat). docs/NETWORK.md
// records the measurements behind them.

/** Dial-back reachability check: a peer connects to our observed IP at the ports we name. */
export const REACH_PROTOCOL = "/shardmesh/reach/1.0.0";
/** Largest reach request or answer (JSON). */
export const REACH_MAX_MESSAGE_BYTES = 1024;
/** Ports one request may ask to be checked (libp2p listener and data plane). */
export const REACH_MAX_PORTS = 4;
/** How long the checking peer waits for each TCP connect back. A dropped SYN is only retried after 1 s. */
export const REACH_DIAL_TIMEOUT_MS = 1_500;
/** Whole exchange deadline on the asking side (stream, every dial back, answer). */
export const REACH_TIMEOUT_MS = REACH_MAX_PORTS * REACH_DIAL_TIMEOUT_MS + 2_000;
/** A peer is checked at most once per this interval (the checker refuses sooner requests). */
export const REACH_SERVE_INTERVAL_MS = 5_000;
/** Dial-back checks a node runs at once for others. */
export const REACH_SERVE_CONCURRENCY = 8;
/** Peers asked at once while the verdict is unknown. */
export const REACH_ASK_CONCURRENCY = 2;
/** The verdict is re-checked this often (addresses and routers change). */
export const REACH_RECHECK_MS = 5 * 60_000;
/**
 * While there is no verdict, a check that gave no answer (its connection closed, the checker
 * busy or slow) is followed by another this soon, not after REACH_RECHECK_MS: a node behind NAT
 * without a verdict reserves no relay slots, so nobody can dial it. Just past the checker's
 * REACH_SERVE_INTERVAL_MS, so the same peer may be asked again.
 */
export const REACH_RETRY_MS = REACH_SERVE_INTERVAL_MS + 500;

/**
 * Relay server limits, sized for activations. libp2p's defaults (128 KiB and 2 min per relayed
 * connection, go-libp2p's "enough to hole punch") reset the circuit in the middle of the
 * recogniser's first ~450 KiB activation. A relayed hop carries every tensor of its requests when
 * no direct path exists, so a circuit may carry
 *   RELAY_DATA_LIMIT_BYTES = RELAY_DURATION_LIMIT_MS / 1000 × RELAY_RATE_BYTES_PER_S
 * (30 min at 1 MiB/s = 1.76 GiB ≈ 2,000 round trips of the recogniser's cut) before the relay
 * resets it; the caller then opens a new circuit and the router retries what was in flight.
 * The relay's exposure is bounded by RELAY_MAX_RESERVATIONS × that, spread over the duration.
 */
export const RELAY_RATE_BYTES_PER_S = 1024 * 1024;
export const RELAY_DURATION_LIMIT_MS = 30 * 60_000;
export const RELAY_DATA_LIMIT_BYTES = BigInt((RELAY_DURATION_LIMIT_MS / 1000) * RELAY_RATE_BYTES_PER_S);
/** Reservations one relay holds (libp2p default 15). */
export const RELAY_MAX_RESERVATIONS = 64;
/** Reservation lifetime; clients refresh before it ends (libp2p default 2 h). */
export const RELAY_RESERVATION_TTL_MS = 60 * 60_000;
/** Relays a node behind NAT reserves a slot on at once (a second one makes losing a relay cheap). */
export const RELAY_RESERVATIONS_WANTED = 2;

/** Hole punching (TCP simultaneous open) of the data plane. */
export const PUNCH_DEADLINE_MS = 3_000;
/**
 * Pause before the first repeat of a refused connect attempt (the peer's host answered our SYN
 * with RST because its own connect had not started yet); it doubles with each repeat, so a punch
 * sends at most ~log2(PUNCH_DEADLINE_MS / PUNCH_RETRY_MS) + 1 = 7 SYNs (plus the kernel's own
 * retransmits of a pending one).
 */
export const PUNCH_RETRY_MS = 50;
/** Hole punches a provider runs at once for one peer, and in all (each connects where a caller says). */
export const MAX_PUNCHES_PER_PEER = 2;
export const MAX_PUNCHES = 32;
/** A provider starts at most one punch per peer per this interval (hops are set up once, not per request). */
export const PUNCH_INTERVAL_PER_PEER_MS = 1_000;
