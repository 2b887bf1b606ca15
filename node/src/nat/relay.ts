// Circuit relay v2 for ShardMesh: js-libp2p's relay server with limits sized for activations,
// offered only while this node is reachable from outside (a relay behind NAT helps nobody), and
// the relay transport with which a node behind NAT reserves slots (once it knows it is behind
// NAT) and is dialled through them.
import { circuitRelayServer, circuitRelayTransport, RELAY_V2_HOP_CODEC } from "@libp2p/circuit-relay-v2";
import type { CircuitRelayServerComponents, CircuitRelayService } from "@libp2p/circuit-relay-v2";
import type { Startable } from "@libp2p/interface";
import { logger } from "@libp2p/logger";
import { multiaddr } from "@multiformats/multiaddr";
import type { Multiaddr } from "@multiformats/multiaddr";
import {
  RELAY_DATA_LIMIT_BYTES,
  RELAY_DURATION_LIMIT_MS,
  RELAY_MAX_RESERVATIONS,
  RELAY_RESERVATION_TTL_MS,
  RELAY_RESERVATIONS_WANTED,
} from "./constants.ts";

const log = logger("shardmesh:nat:relay");

export { RELAY_V2_HOP_CODEC };

/** What a relaying node announces about its limits (per relayed connection). */
export interface RelayLimits {
  dataLimitBytes: string;
  durationLimitMs: number;
}

export const RELAY_LIMITS: RelayLimits = {
  dataLimitBytes: RELAY_DATA_LIMIT_BYTES.toString(),
  durationLimitMs: RELAY_DURATION_LIMIT_MS,
};

/** The relay (its peer id) a circuit address runs through: `…/p2p/<relay>/p2p-circuit/…`; undefined for other addresses. */
export function circuitRelay(addr: Multiaddr): string | undefined {
  const parts = addr.getComponents();
  const circuit = parts.findIndex((c) => c.name === "p2p-circuit");
  if (circuit < 0) return undefined;
  return parts.slice(0, circuit).findLast((c) => c.name === "p2p")?.value ?? "unknown";
}

/** The relays a node is dialable through now: those of its own circuit addresses (one per reservation), sorted. */
export function relaysOf(addrs: Multiaddr[]): string[] {
  return [...new Set(addrs.map(circuitRelay).filter((r): r is string => r !== undefined))].sort();
}

/** A relay server that serves only while offered (`offer(true)`); starts withdrawn. */
export interface OfferedRelay extends Startable {
  offer(on: boolean): Promise<void>;
  readonly offered: boolean;
  /** Peers holding a reservation here now. */
  reservations(): number;
}

/**
 * libp2p service factory: circuit relay v2 server with ShardMesh's limits, registered (the hop
 * protocol handled, and so advertised by identify) only between offer(true) and offer(false).
 */
export function offeredRelay(): (components: CircuitRelayServerComponents) => OfferedRelay {
  return (components) => {
    const inner = circuitRelayServer({
      reservations: {
        maxReservations: RELAY_MAX_RESERVATIONS,
        reservationTtl: RELAY_RESERVATION_TTL_MS,
        defaultDataLimit: RELAY_DATA_LIMIT_BYTES,
        defaultDurationLimit: RELAY_DURATION_LIMIT_MS,
      },
    })(components) as CircuitRelayService & Startable;
    let offered = false;
    let running = false;
    return {
      get offered() {
        return offered;
      },
      reservations: () => inner.reservations.size,
      start() {
        running = true;
        return offered ? inner.start() : undefined;
      },
      async stop() {
        running = false;
        await inner.stop();
      },
      async offer(on: boolean) {
        if (on === offered) return;
        offered = on;
        log(on ? "offering relaying" : "withdrawing relaying");
        if (!running) return;
        if (on) await inner.start();
        else await inner.stop();
      },
    };
  };
}

/** The relay transport (dial and listen through relays), with a bounded reservation wait. */
export function relayTransport() {
  return circuitRelayTransport({ reservationCompletionTimeout: 10_000 });
}

/** Holds relay reservations once asked to (a node that found itself behind NAT). */
export interface RelayReservations {
  /** Listen on RELAY_RESERVATIONS_WANTED × `/p2p-circuit`: the relay transport finds relays and reserves slots. */
  reserve(): Promise<void>;
  readonly reserving: boolean;
}

/**
 * libp2p service factory: relay reservations on demand. Listening on `/p2p-circuit` from the
 * start would make every node search for relays (a DHT random walk without end where none
 * offers relaying: ~1/3 of a core for 5 nodes measured on loopback), so only a node whose
 * reachability check said "behind NAT" asks for them, through the transport manager (the way
 * libp2p itself adds listeners at start).
 */
export function relayReservations(): (components: {
  transportManager: { listen(addrs: Multiaddr[]): Promise<void> };
}) => RelayReservations {
  return (components) => {
    let reserving = false;
    return {
      get reserving() {
        return reserving;
      },
      async reserve() {
        if (reserving) return;
        reserving = true;
        log("reserving %d relay slots", RELAY_RESERVATIONS_WANTED);
        await components.transportManager.listen(Array.from({ length: RELAY_RESERVATIONS_WANTED }, () => multiaddr("/p2p-circuit")));
      },
    };
  };
}
