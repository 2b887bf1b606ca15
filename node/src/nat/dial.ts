// Opening a connection to a peer that may be behind NAT, for every protocol of the mesh that
// dials a provider (pipeline hops, job calls: quotes, receipt parts, reveals; language-model
// sessions, stage files, a verifier's tensors).
//
// libp2p dials a peer's known addresses one after another, direct ones first, each for up to 6 s.
// A provider behind NAT announces its LAN address beside its relay addresses; from outside a LAN
// address goes nowhere, often silently (dropped, or the ICMP error rate-limited by a router), so a
// dial of the peer id used up the whole dial deadline before any relay was tried (seen on the
// namespace network). And libp2p never reuses a limited (relayed) connection for a new stream: it
// dials the peer again, LAN addresses first, to find an unlimited one. So a peer with relay
// addresses is reached through the relayed connection this node already holds, or through its
// relay addresses only.
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import type { Multiaddr } from "@multiformats/multiaddr";
import { DIAL_TIMEOUT_MS, RELAYED_DIAL_TIMEOUT_MS } from "../mesh/constants.ts";
import { circuitRelay } from "./relay.ts";

/**
 * What to dial for `peer`: itself when this node holds an unlimited connection to it (libp2p
 * reuses that) or when it has no relay addresses; otherwise (it reserved relay slots: its own
 * check said it is behind NAT) the relayed connection this node holds to it, else its relay
 * addresses only.
 */
export async function relayedDialTarget(node: Libp2p, peer: PeerId): Promise<PeerId | Multiaddr[] | Connection> {
  const open = node.getConnections(peer).filter((c) => c.status === "open");
  if (open.some((c) => !c.limits)) return peer;
  const known = await node.peerStore.get(peer).catch(() => undefined);
  const relayed = (known?.addresses ?? []).map((a) => a.multiaddr).filter((a) => circuitRelay(a) !== undefined);
  if (relayed.length === 0) return peer;
  if (open.length > 0) return open[0];
  const id = peer.toString();
  return relayed.map((a) => (a.getComponents().at(-1)?.value === id ? a : a.encapsulate(`/p2p/${id}`)));
}

function isConnection(target: PeerId | Multiaddr[] | Connection): target is Connection {
  return !Array.isArray(target) && "newStream" in target;
}

/**
 * A connection to `peer` (relayedDialTarget), and the deadline for opening a stream on it and
 * whatever the caller does before its first exchange: `timeoutMs` (DIAL_TIMEOUT_MS), at least
 * RELAYED_DIAL_TIMEOUT_MS through a relay; `signal` aborts it too. Streams on it need
 * `runOnLimitedConnection: true`.
 */
export async function dialPeer(
  node: Libp2p,
  peer: PeerId,
  signal?: AbortSignal,
  timeoutMs = DIAL_TIMEOUT_MS,
): Promise<{ conn: Connection; signal: AbortSignal }> {
  const target = await relayedDialTarget(node, peer);
  const relayed = Array.isArray(target) || isConnection(target);
  const deadline = AbortSignal.timeout(relayed ? Math.max(timeoutMs, RELAYED_DIAL_TIMEOUT_MS) : timeoutMs);
  const dialSignal = signal ? AbortSignal.any([signal, deadline]) : deadline;
  const conn = isConnection(target) ? target : await node.dial(target, { signal: dialSignal });
  return { conn, signal: dialSignal };
}

/** A stream of `protocol` to `peer` over dialPeer's connection (relayed ones allowed), within its deadline. */
export async function openPeerStream(
  node: Libp2p,
  peer: PeerId,
  protocol: string,
  options: { signal?: AbortSignal; timeoutMs?: number } = {},
): Promise<Stream> {
  const dialed = await dialPeer(node, peer, options.signal, options.timeoutMs);
  return dialed.conn.newStream(protocol, { signal: dialed.signal, runOnLimitedConnection: true });
}
