// Reachability: is this node reachable from outside its own networks, and at which IP do others
// see it? A node asks peers outside its subnets (over a direct connection, never a relayed one)
// to connect back to the IP they see it at, on its libp2p listener's port and its data plane's.
// The checker only ever dials the asker's own observed IP, so it cannot be aimed at a third
// party, and it serves one check per peer per REACH_SERVE_INTERVAL_MS, REACH_SERVE_CONCURRENCY at
// once.
//
// This is AutoNAT's question answered by ShardMesh itself: js-libp2p's AutoNAT (v1 and v2)
// skips every private address, and identify drops every observed TCP address, so a node behind
// NAT, or any node of an isolated 10.x network, never gets an answer from it (docs/NETWORK.md).
//
// Wire: one length-prefixed JSON request `{ ports: number[] }` and one answer
// `{ observed: string, open: boolean[] }` or `{ error: { name, message } }` per stream.
import { isIPv4 } from "node:net";
import { connect } from "node:net";
import { networkInterfaces } from "node:os";
import { logger } from "@libp2p/logger";
import { TypedEventEmitter } from "@libp2p/interface";
import type { Connection, Libp2p, PeerId, Stream } from "@libp2p/interface";
import { lpStream } from "@libp2p/utils";
import {
  REACH_ASK_CONCURRENCY,
  REACH_DIAL_TIMEOUT_MS,
  REACH_MAX_MESSAGE_BYTES,
  REACH_MAX_PORTS,
  REACH_PROTOCOL,
  REACH_RECHECK_MS,
  REACH_RETRY_MS,
  REACH_SERVE_CONCURRENCY,
  REACH_SERVE_INTERVAL_MS,
  REACH_TIMEOUT_MS,
} from "./constants.ts";
import { ReachCheckError, ReachRateLimitedError } from "./errors.ts";

const log = logger("shardmesh:nat:reach");
const lpOptions = { maxDataLength: REACH_MAX_MESSAGE_BYTES, maxBufferSize: 2 * REACH_MAX_MESSAGE_BYTES };

export type ReachStatus = "unknown" | "reachable" | "unreachable";

export interface ReachState {
  /** Whether peers outside can connect to this node's libp2p listener (dial it, use it as a relay). */
  status: ReachStatus;
  /** Whether they can connect to its data plane (undefined: unknown). */
  dataPlane?: boolean;
  /** Our IP as the last checking peer saw it (the NAT's public address behind one). */
  externalIp?: string;
  /** When the verdict was last confirmed, ms since epoch. */
  checkedAt?: number;
  /** The peer that gave the verdict. */
  by?: string;
}

export interface ReachInit {
  /** The libp2p TCP listener's port (undefined: none yet). */
  libp2pPort: () => number | undefined;
  /** The data plane's port (undefined: no data plane). */
  dataPlanePort?: () => number | undefined;
  /** Whether a peer at `ip` is on one of our own networks (never asked). Default onOwnSubnet; tests on loopback replace it. */
  ownSubnet?: (ip: string) => boolean;
}

/** The IP (v4 or v6) of a connection's remote address, or undefined for relayed connections. */
export function connectionIp(conn: Connection): string | undefined {
  if (conn.limits != null || conn.remoteAddr.toString().includes("/p2p-circuit")) return undefined;
  for (const c of conn.remoteAddr.getComponents()) if ((c.name === "ip4" || c.name === "ip6") && c.value) return c.value;
  return undefined;
}

function ip4ToInt(ip: string): number {
  return ip.split(".").reduce((n, o) => (n << 8) + Number(o), 0) >>> 0;
}

/** Whether `ip` lies in one of this host's own IPv4 subnets (loopback included). */
export function onOwnSubnet(ip: string): boolean {
  if (!isIPv4(ip)) return ip === "::1";
  const target = ip4ToInt(ip);
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== "IPv4" || !a.cidr) continue;
      const bits = Number(a.cidr.split("/")[1]);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      if (((ip4ToInt(a.address) ^ target) & mask) === 0) return true;
    }
  }
  return false;
}

/** Whether a TCP connection to ip:port opens within `timeoutMs`. */
export function tcpOpens(ip: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: ip, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.once("connect", () => done(true));
    s.once("error", () => done(false));
  });
}

const enc = new TextEncoder();
const dec = new TextDecoder();

async function readJson(stream: Stream, signal: AbortSignal): Promise<Record<string, unknown>> {
  const lp = lpStream(stream, lpOptions);
  const value = JSON.parse(dec.decode((await lp.read({ signal })).subarray())) as unknown;
  if (typeof value !== "object" || value === null) throw new ReachCheckError("reach message is not an object");
  return value as Record<string, unknown>;
}

async function writeJson(stream: Stream, value: unknown): Promise<void> {
  await lpStream(stream, lpOptions).write(enc.encode(JSON.stringify(value)));
}

/** Ask `conn`'s peer to check `ports` at the IP it sees us at. */
export async function askReach(
  conn: Connection,
  ports: number[],
  options: { signal?: AbortSignal } = {},
): Promise<{ observed: string; open: boolean[] }> {
  const signal = AbortSignal.any([AbortSignal.timeout(REACH_TIMEOUT_MS), ...(options.signal ? [options.signal] : [])]);
  const stream = await conn.newStream(REACH_PROTOCOL, { signal });
  try {
    await writeJson(stream, { ports });
    const answer = await readJson(stream, signal);
    await stream.close().catch(() => {});
    const error = answer.error as { name?: string; message?: string } | undefined;
    if (error) {
      const E = error.name === "ReachRateLimitedError" ? ReachRateLimitedError : ReachCheckError;
      throw new E(String(error.message ?? "check refused"));
    }
    const open = answer.open;
    if (
      typeof answer.observed !== "string" ||
      !Array.isArray(open) ||
      open.length !== ports.length ||
      !open.every((o) => typeof o === "boolean")
    )
      throw new ReachCheckError("malformed reach answer");
    return { observed: answer.observed, open: open as boolean[] };
  } catch (err) {
    stream.abort(err as Error);
    if (err instanceof ReachCheckError) throw err;
    throw new ReachCheckError(`reach check with ${conn.remotePeer} failed: ${(err as Error)?.message ?? String(err)}`);
  }
}

export interface ReachEvents {
  change: CustomEvent<ReachState>;
}

/** Serves dial-back checks for peers and keeps this node's own verdict. */
export class Reachability extends TypedEventEmitter<ReachEvents> {
  private readonly node: Libp2p;
  private readonly init: ReachInit;
  private current: ReachState = { status: "unknown" };
  /** Peer → when we last served it (pruned every interval; bounded by the connections we hold). */
  private readonly served = new Map<string, number>();
  private serving = 0;
  private readonly asking = new Set<string>();
  /** Peer → when we last asked it. */
  private readonly asked = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private readonly onIdentify = (evt: CustomEvent<{ peerId: PeerId; protocols: string[]; connection: Connection }>): void => {
    if (evt.detail.protocols.includes(REACH_PROTOCOL)) this.maybeAsk(evt.detail.connection);
  };

  constructor(node: Libp2p, init: ReachInit) {
    super();
    this.node = node;
    this.init = init;
  }

  get state(): ReachState {
    return { ...this.current };
  }

  async start(): Promise<void> {
    // Two streams per connection: a second, too early request gets its named refusal.
    await this.node.handle(REACH_PROTOCOL, (stream, conn) => this.serve(stream, conn), { maxInboundStreams: 2 });
    this.node.addEventListener("peer:identify", this.onIdentify as never);
    this.timer = setInterval(() => this.recheck(), REACH_RECHECK_MS);
    this.timer.unref();
    this.recheck();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    this.node.removeEventListener("peer:identify", this.onIdentify as never);
    await this.node.unhandle(REACH_PROTOCOL).catch(() => {});
  }

  /** Ask connected peers again (also runs every REACH_RECHECK_MS). */
  recheck(): void {
    for (const conn of this.node.getConnections()) this.maybeAsk(conn, true);
  }

  private maybeAsk(conn: Connection, force = false): void {
    if (this.asking.size >= REACH_ASK_CONCURRENCY) return;
    const peer = conn.remotePeer.toString();
    const ip = connectionIp(conn);
    // Only a peer outside our own networks can tell whether the outside reaches us.
    if (!ip || (this.init.ownSubnet ?? onOwnSubnet)(ip) || this.asking.has(peer)) return;
    const fresh = this.current.checkedAt !== undefined && Date.now() - this.current.checkedAt < REACH_RECHECK_MS;
    if (fresh && !force) return;
    if (Date.now() - (this.asked.get(peer) ?? 0) < REACH_SERVE_INTERVAL_MS) return;
    const libp2pPort = this.init.libp2pPort();
    const dataPort = this.init.dataPlanePort?.();
    if (!libp2pPort) return;
    const ports = dataPort ? [libp2pPort, dataPort] : [libp2pPort];
    this.asking.add(peer);
    this.asked.set(peer, Date.now());
    askReach(conn, ports)
      .then(({ observed, open }) => {
        const status: ReachStatus = open[0] ? "reachable" : "unreachable";
        const dataPlane = dataPort ? open[1] : undefined;
        log("%s sees us at %s: ports %o open %o", peer, observed, ports, open);
        const changed = status !== this.current.status || dataPlane !== this.current.dataPlane || observed !== this.current.externalIp;
        this.current = { status, dataPlane, externalIp: observed, checkedAt: Date.now(), by: peer };
        if (changed) this.safeDispatchEvent("change", { detail: this.state });
      })
      .catch((err: Error) => {
        log("reach check with %s: %s: %s", peer, err.name, err.message);
        this.retrySoon();
      })
      .finally(() => this.asking.delete(peer));
  }

  /** No verdict yet and a check failed: ask the connected peers again in REACH_RETRY_MS (one timer). */
  private retrySoon(): void {
    if (this.retryTimer || this.current.status !== "unknown") return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      if (this.current.status === "unknown") this.recheck();
    }, REACH_RETRY_MS);
    this.retryTimer.unref();
  }

  private async serve(stream: Stream, conn: Connection): Promise<void> {
    const peer = conn.remotePeer.toString();
    const now = Date.now();
    for (const [p, t] of this.served) if (now - t >= REACH_SERVE_INTERVAL_MS) this.served.delete(p);
    const refuse = async (err: Error): Promise<void> => {
      await writeJson(stream, { error: { name: err.name, message: err.message } }).catch(() => {});
      await stream.close().catch(() => {});
    };
    let req: Record<string, unknown>;
    try {
      req = await readJson(stream, AbortSignal.timeout(REACH_TIMEOUT_MS));
    } catch (err) {
      stream.abort(err as Error);
      return;
    }
    const ip = connectionIp(conn);
    if (!ip) return refuse(new ReachCheckError("checks run over direct connections only"));
    if (this.served.has(peer) || this.serving >= REACH_SERVE_CONCURRENCY)
      return refuse(new ReachRateLimitedError(`one check per ${REACH_SERVE_INTERVAL_MS} ms`));
    const ports = req.ports;
    if (
      !Array.isArray(ports) ||
      ports.length === 0 ||
      ports.length > REACH_MAX_PORTS ||
      !ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536)
    )
      return refuse(new ReachCheckError(`ports: 1 to ${REACH_MAX_PORTS} TCP ports`));
    this.served.set(peer, now);
    this.serving++;
    try {
      const open = await Promise.all((ports as number[]).map((p) => tcpOpens(ip, p, REACH_DIAL_TIMEOUT_MS)));
      await writeJson(stream, { observed: ip, open });
      await stream.close();
    } catch (err) {
      stream.abort(err as Error);
    } finally {
      this.serving--;
    }
  }
}
