// libp2p node factory for ShardMesh: TCP on loopback by default, noise, yamux tuned for large
// activations, identify, ping, gossipsub (capabilities), kad-dht in a private network (stage
// hash → providers), bootstrap from config only, and a fast connection monitor.
import { createLibp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { gossipsub } from "@libp2p/gossipsub";
import { kadDHT, passthroughMapper } from "@libp2p/kad-dht";
import { bootstrap } from "@libp2p/bootstrap";
import { KEEP_ALIVE } from "@libp2p/interface";
import type { PrivateKey } from "@libp2p/interface";
import { DHT_PROTOCOL, PING_INTERVAL_MS, PING_TIMEOUT_MAX_MS, PING_TIMEOUT_MIN_MS } from "./constants.ts";
import { MAX_PAYLOAD_BYTES } from "../pipeline/constants.ts";

export interface MeshNodeInit {
  privateKey: PrivateKey;
  /** Listen multiaddrs; default `/ip4/127.0.0.1/tcp/0`. */
  listen?: string[];
  /** Bootstrap multiaddrs with /p2p/<peerId>; never public addresses. */
  bootstrap?: string[];
  /** Run the DHT (content routing). Default true. */
  dht?: boolean;
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
  const services = {
    identify: identify(),
    ping: ping(),
    pubsub: gossipsub({ allowPublishToZeroTopicPeers: true, emitSelf: false }),
    ...(init.dht === false ? {} : { dht: kadDHT({ protocol: DHT_PROTOCOL, clientMode: false, peerInfoMapper: passthroughMapper }) }),
  };
  return createLibp2p({
    privateKey: init.privateKey,
    addresses: { listen: init.listen ?? ["/ip4/127.0.0.1/tcp/0"] },
    transports: [tcp()],
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
