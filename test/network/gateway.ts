// The gateway of the namespace network, one set of flags for the tests and the bench.
import type { Host } from "./netns.ts";

/**
 * Unpaid requests a second (and burst) a test gateway allows a client: the tests' and bench's
 * buyers send faster than the default per-client limit (2/s).
 */
export const UNPAID_UNLIMITED_ARGS = ["--unpaid-rate", "1000", "--unpaid-burst", "1000"];

/**
 * `shardmesh provider start` flags of the gateway on the public side: HTTP on its host's 10.x
 * address, no relaying (the relays are the bootstrap providers), and no DHT: homes never learn its
 * address, so they never connect out to it (a connection they open would carry its hops with no
 * relay at all), and every hop to a home starts through a relay; no unpaid limit to speak of.
 */
export function publicGatewayArgs(host: Host): string[] {
  return ["--gateway-host", host.ip, "--no-relay", "--no-dht", ...UNPAID_UNLIMITED_ARGS];
}
