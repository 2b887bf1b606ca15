// A port forwarded to this node, found by its reachability check (nat/reach.ts): a node behind a
// home router whose operator forwards the libp2p port is dialled back through the forward, so the
// verdict is "reachable" at the router's public IP, which is none of this node's own addresses.
// Its listen addresses are its LAN's, useless from outside, and being reachable it reserves no
// relay slot: it announced only addresses nobody outside can dial (and offered relaying there).
// So the address the check proved dialable, `/ip4/<external ip>/tcp/<port>`, becomes libp2p's
// public address mapping (the address manager's own mechanism for a forwarded port, as UPnP
// uses), confirmed, and the LAN addresses it maps are no longer announced (libp2p dials a peer's
// addresses one after another, and a LAN address from outside can hang until the dial deadline).
// Without a verdict of that kind the mapping is removed. An operator's `--announce` replaces
// all of this (the node is not given a mapping).
//
// The verdict is one checking peer's word, which may lie about the IP it saw. Only private listen
// addresses (a LAN behind a router: nobody outside dials them anyway) are ever mapped and hidden,
// so a lie cannot make a node on a public address stop announcing it.
import { logger } from "@libp2p/logger";
import { isPrivateIp } from "@libp2p/utils";
import { multiaddr } from "@multiformats/multiaddr";
import type { Multiaddr } from "@multiformats/multiaddr";
import type { ReachState } from "./reach.ts";

const log = logger("shardmesh:nat:mapping");

/** What of libp2p's address manager the mapping uses. */
export interface MappingComponents {
  addressManager: {
    addPublicAddressMapping(internalIp: string, internalPort: number, externalIp: string, externalPort?: number, protocol?: "tcp"): void;
    removePublicAddressMapping(internalIp: string, internalPort: number, externalIp: string, externalPort?: number, protocol?: "tcp"): void;
    confirmObservedAddr(addr: Multiaddr, options?: { type?: "ip-mapping" }): void;
  };
  transportManager: { getAddrs(): Multiaddr[] };
}

export interface PortMapping {
  /**
   * Follow a reachability verdict about libp2p TCP port `port`: reachable at an external IP that
   * is not one of the node's own listen addresses → map each listen address on `port` to it.
   */
  update(state: ReachState, port: number | undefined): void;
  /** The mapped public address (`/ip4/<ip>/tcp/<port>`), if any. */
  readonly mapped: string | undefined;
}

interface Mapping {
  externalIp: string;
  port: number;
  internal: string[];
}

/** This node's private IPv4 TCP listen addresses on `port` (not loopback, not through a relay): ip strings. */
function listenIps(addrs: Multiaddr[], port: number): string[] {
  const ips: string[] = [];
  for (const a of addrs) {
    const parts = a.getComponents();
    if (parts.some((c) => c.name === "p2p-circuit")) continue;
    const ip = parts.find((c) => c.name === "ip4")?.value;
    const tcp = parts.find((c) => c.name === "tcp")?.value;
    if (ip && !ip.startsWith("127.") && isPrivateIp(ip) === true && Number(tcp) === port) ips.push(ip);
  }
  return ips;
}

/**
 * The mapping as a libp2p service (`service`) and the announce filter that hides the LAN
 * addresses it maps (`announceFilter`, for `addresses.announceFilter`).
 */
export function portMapping(): {
  service: (components: MappingComponents) => PortMapping;
  announceFilter: (addrs: Multiaddr[]) => Multiaddr[];
} {
  let current: Mapping | undefined;
  const hidden = (a: Multiaddr): boolean => {
    if (!current) return false;
    const parts = a.getComponents();
    if (parts.some((c) => c.name === "p2p-circuit")) return false;
    const ip = parts.find((c) => c.name === "ip4")?.value;
    const tcp = parts.find((c) => c.name === "tcp")?.value;
    return ip !== undefined && current.internal.includes(ip) && Number(tcp) === current.port;
  };
  return {
    announceFilter: (addrs) => addrs.filter((a) => !hidden(a)),
    service: ({ addressManager, transportManager }) => {
      const unmap = (): void => {
        if (!current) return;
        const { externalIp, port, internal } = current;
        current = undefined;
        for (const ip of internal) addressManager.removePublicAddressMapping(ip, port, externalIp, port, "tcp");
        log("unmapped %s:%d", externalIp, port);
      };
      return {
        get mapped() {
          return current ? `/ip4/${current.externalIp}/tcp/${current.port}` : undefined;
        },
        update(state, port) {
          const ext = state.externalIp;
          const internal = port ? listenIps(transportManager.getAddrs(), port) : [];
          const forwarded =
            state.status === "reachable" && ext !== undefined && port !== undefined && internal.length > 0 && !internal.includes(ext);
          if (!forwarded || !ext || !port) return unmap();
          if (current?.externalIp === ext && current.port === port) {
            // Confirmed again (the verdict is re-checked every few minutes).
            addressManager.confirmObservedAddr(multiaddr(`/ip4/${ext}/tcp/${port}`), { type: "ip-mapping" });
            return;
          }
          unmap();
          current = { externalIp: ext, port, internal };
          for (const ip of internal) addressManager.addPublicAddressMapping(ip, port, ext, port, "tcp");
          addressManager.confirmObservedAddr(multiaddr(`/ip4/${ext}/tcp/${port}`), { type: "ip-mapping" });
          log("port %d forwarded from %s: announced there", port, ext);
        },
      };
    },
  };
}
