// libp2p node factory for ShardMesh: TCP on loopback by default, noise, yamux tuned for large
// activations, identify (+ push), ping, gossipsub (capabilities), kad-dht in a private network
// (stage hash → providers), bootstrap from config only, a fast connection monitor, and circuit
// relay v2 (reservations while behind NAT, a relay server offered while reachable: nat/).
import { createLibp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify, identifyPush } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { gossipsub } from "@libp2p/gossipsub";
import { kadDHT, passthroughMapper } from "@libp2p/kad-dht";
import { bootstrap } from "@libp2p/bootstrap";
import { KEEP_ALIVE } from "@libp2p/interface";
import type { PrivateKey } from "@libp2p/interface";
import { offeredRelay, relayReservations, relayTransport } from "../nat/relay.ts";
import { portMapping } from "../nat/mapping.ts";
import { DHT_PROTOCOL, PING_INTERVAL_MS, PING_MAX_STREAMS, PING_TIMEOUT_MAX_MS, PING_TIMEOUT_MIN_MS } from "./constants.ts";
import { MAX_PAYLOAD_BYTES } from "../pipeline/constants.ts";

export interface MeshNodeInit {
  privateKey: PrivateKey;
  /** Listen multiaddrs; default `/ip4/127.0.0.1/tcp/0`. */
  listen?: string[];
  /** Bootstrap multiaddrs with /p2p/<peerId>; never public addresses. */
  bootstrap?: string[];
  /** Run the DHT (content routing). Default true. */
  dht?: boolean;
  /**
   * Circuit relay v2 (nat/relay.ts): hold relay reservations so that peers reach this node
   * through a relay while it is behind NAT, and carry the relay server this node offers while it
   * is reachable. Default true. Dialling others through relays works either way.
   */
  relay?: boolean;
  /** Public addresses pinned by the operator: announced instead of the listen addresses. */
  announce?: string[];
}

/** Yamux window sizes: a whole 1 MiB activation fits in the initial window (one round trip). */
export const YAMUX_INITIAL_WINDOW = 4 * 1024 * 1024;
export const YAMUX_MAX_WINDOW = 16 * 1024 * 1024;
/** Idle persistent hop streams stay open this long. */
export const STREAM_INACTIVITY_MS = 10 * 60 * 1000;

export async function createMeshNode(init: MeshNodeInit) {
  // Bootstrap peers are tagged keep-alive: libp2p redials them whenever the connection drops
  // (bootstrap itself dials only once), so a node that lost its only link rejoins the mesh.
  const peerDiscovery = init.bootstrap?.length
    ? [bootstrap({ list: init.bootstrap, timeout: 10, tagName: `${KEEP_ALIVE}-shardmesh-bootstrap` })]
    : [];
  const relay = init.relay !== false;
  // A forwarded port found by the reachability check is announced (nat/mapping.ts), unless the
  // operator pinned the announced addresses.
  const mapping = init.announce?.length ? undefined : portMapping();
  const services = {
    identify: identify(),
    // Peers learn new addresses (a relay reservation) and protocols (relaying offered) at once.
    identifyPush: identifyPush(),
    // Heartbeats overlap while a ping is slow: room for all of them (constants.ts says why).
    ping: ping({ maxOutboundStreams: PING_MAX_STREAMS, maxInboundStreams: PING_MAX_STREAMS }),
    ...(relay ? { relay: offeredRelay(), relayReservations: relayReservations() } : {}),
    ...(mapping ? { portMapping: mapping.service } : {}),
    pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    ...(init.dht === false ? {} : { dht: kadDHT({ protocol: DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }) }),
  };
  return createLibp2p({
    privateKey: init.privateKey,
    addresses: {
      listen: init.listen ?? ["/ip4/127.0.0.1/tcp/0"],
      ...(init.announce?.length ? { announce: init.announce } : {}),
      ...(mapping ? { announceFilter: mapping.announceFilter } : {}),
    },
    // Dialling through relays is always possible; `relay: false` only reserves and offers nothing.
    transports: [tcp(), relayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [
      yamux({
        streamOptions: {
          initialStreamWindowSize: YAMUX_INITIAL_WINDOW,
          maxStreamWindowSize: YAMUX_MAX_WINDOW,
          inactivityTimeout: STREAM_INACTIVITY_MS,
          maxReadBufferLength: 3 * MAX_PAYLOAD_BYTES,
        },
      }),
    ],
    peerDiscovery,
    connectionMonitor: {
      pingInterval: PING_INTERVAL_MS,
      pingTimeout: { minTimeout: PING_TIMEOUT_MIN_MS, maxTimeout: PING_TIMEOUT_MAX_MS },
    },
    services,
  });
}

export type MeshNode = Awaited<ReturnType<typeof createMeshNode>>;
