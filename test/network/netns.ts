// A multi-host test network from Linux network namespaces: a routed "public" core standing in
// for the internet, any number of public hosts each on a subnet of its own, and "homes" behind
// NAT routers (nftables masquerade). Nothing is created in the root namespace: the core router is
// a namespace of its own and every veth pair is created between two of the network's namespaces,
// so deleting the namespaces removes every interface, address, route and nft table with them.
//
//   core ns (routes, no NAT) ─┬─ 10.77.10.1/24 ── host "relay"   10.77.10.2    public host i: 10.77.<10+i>.2
//                             ├─ 10.77.11.1/24 ── host "gateway" 10.77.11.2
//                             ├─ 10.77.101.1/24 ── router "a" 10.77.101.2 ── lan 10.78.1.1/24 ── home "a" 10.78.1.2
//                             └─ 10.77.103.1/24 ── router "s" 10.77.103.2 ── lan 10.78.3.1/24 ── home "s" 10.78.3.2
//
// Every public host is on a subnet of its own, as hosts on the internet are: no two peers share a
// LAN unless they are in one home.
//
// NAT kinds (what real home routers do; both drop unsolicited inbound silently, as routers do):
//   "cone"       masquerade: the source port is kept when free (endpoint-independent mapping),
//                inbound only on conntrack entries (address-and-port-dependent filtering). TCP
//                simultaneous open through two such NATs succeeds.
//   "symmetric"  masquerade fully-random: every connection gets a random external port, so no
//                peer can predict it and hole punching cannot succeed.
// A home may also have ports forwarded (`forward: [port]`, what an operator sets up on a router):
// TCP to the router's public address on such a port is DNATed to the home host, same port.
//
// Teardown kills every process inside the network's namespaces (by PID: nothing else runs there)
// and deletes the namespaces; it runs on down(), on process exit and on SIGINT/SIGTERM/SIGHUP.
// A network whose owner died without tearing down (SIGKILL) is swept by the next createTestNet
// or `node scripts/netns.ts down --stale`: names carry the owner's PID and start time.
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess, SpawnOptions } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";

/** Every namespace of every test network starts with this. */
export const NETNS_PREFIX = "smn-";
/** The public core (the stand-in for the internet: 10.77.<n>.0/24 per link) and the home LANs (10.78.<n>.0/24): 10.x only. */
export const PUBLIC_NET = "10.77";
export const HOME_NET = "10.78";
/** How long teardown waits for processes to exit after SIGTERM before SIGKILL. */
export const TEARDOWN_GRACE_MS = 2_000;

export type NatKind = "cone" | "symmetric";

export interface NetSpec {
  /** Hosts on the public segment, e.g. ["chain", "relay", "gateway", "buyer"]. */
  public: string[];
  /** One host behind its own NAT router per entry; `forward`: TCP ports the router forwards to it (same port). */
  homes: { name: string; nat: NatKind; forward?: number[] }[];
}

export interface Host {
  name: string;
  /** Namespace name (for `ip netns exec`). */
  ns: string;
  /** The host's own address (LAN address for homes; public hosts have no NAT: ip is what peers see). */
  ip: string;
  /** Homes: the router's public address (what peers see). Public hosts: undefined. */
  wanIp?: string;
  nat?: NatKind;
  /** Homes: TCP ports the router forwards from wanIp to ip (same port). */
  forward?: number[];
  /** Start a process inside this host's namespace. */
  spawn(cmd: string, args: string[], options?: SpawnOptions): ChildProcess;
  /** Run a command inside this host's namespace and return its stdout. */
  run(cmd: string, args: string[], input?: string): string;
}

export interface TestNet {
  id: string;
  hosts: Record<string, Host>;
  /** Every namespace of this network (bridge and routers included). */
  namespaces: string[];
  /** Kill every process inside the network and delete its namespaces. Idempotent, synchronous. */
  down(): void;
}

export class NetnsUnavailableError extends Error {
  override name = "NetnsUnavailableError";
}

function ip(args: string[], input?: string): string {
  return execFileSync("ip", args, { encoding: "utf8", input, stdio: ["pipe", "pipe", "pipe"] });
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Start time of a process (clock ticks since boot), or undefined when it is gone. */
function startTicks(pid: number): string | undefined {
  try {
    // Field 22 of /proc/<pid>/stat; the command name (field 2) may hold spaces, so split after ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19];
  } catch {
    return undefined;
  }
}

/** Whether a process is running (a zombie, dead but not yet reaped by its parent, is not). */
export function processRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

/** The owner tag of this process: PID and start time, so a reused PID is not taken for the owner. */
function ownerTag(pid = process.pid): string {
  return `${pid}-${Number(startTicks(pid) ?? 0).toString(36)}`;
}

/** Whether the process that created network `id` (`<pid>-<start36>-<n>`) is still alive. */
function ownerAlive(id: string): boolean {
  const [pid, start] = id.split("-");
  const ticks = startTicks(Number(pid));
  return ticks !== undefined && Number(ticks).toString(36) === start;
}

/** Names of all namespaces on this machine. */
export function listNamespaces(): string[] {
  return ip(["netns", "list"])
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter(Boolean);
}

/** Test networks on this machine: id → namespaces. */
export function listNetworks(): Map<string, string[]> {
  const nets = new Map<string, string[]>();
  for (const ns of listNamespaces()) {
    if (!ns.startsWith(NETNS_PREFIX)) continue;
    const id = ns.slice(NETNS_PREFIX.length).split("-").slice(0, 3).join("-");
    nets.set(id, [...(nets.get(id) ?? []), ns]);
  }
  return nets;
}

/** PIDs of processes inside a namespace. */
export function namespacePids(ns: string): number[] {
  try {
    return ip(["netns", "pids", ns]).split("\n").filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/**
 * Kill every process inside the namespaces, and the given PIDs (processes started into them),
 * TERM first and KILL after the grace, then delete the namespaces.
 */
export function removeNamespaces(namespaces: string[], started: Iterable<number> = []): void {
  const mine = [...started];
  const pids = () => [...namespaces.flatMap(namespacePids), ...mine.filter(processRunning)];
  for (const pid of pids()) signal(pid, "SIGTERM");
  const deadline = Date.now() + TEARDOWN_GRACE_MS;
  while (pids().length > 0 && Date.now() < deadline) sleepSync(50);
  for (const pid of pids()) signal(pid, "SIGKILL");
  while (pids().length > 0 && Date.now() < deadline + TEARDOWN_GRACE_MS) sleepSync(20);
  for (const ns of namespaces) {
    try {
      ip(["netns", "del", ns]);
    } catch {
      // already gone
    }
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // exited meanwhile
  }
}

/** Remove networks whose owner process is gone (crashed or SIGKILLed). Returns their ids. */
export function sweepStale(): string[] {
  const swept: string[] = [];
  for (const [id, namespaces] of listNetworks()) {
    if (ownerAlive(id)) continue;
    removeNamespaces(namespaces);
    swept.push(id);
  }
  return swept;
}

/**
 * Whether namespaces can be created here (root, `ip` and `nft` present, the kernel allows it).
 * Returns the reason when not.
 */
export function netnsUnavailable(): string | undefined {
  if (process.platform !== "linux") return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "network namespaces need root (CI runs as root)";
  for (const tool of ["ip", "nft"]) {
    try {
      execFileSync(tool, ["-V"], { stdio: "ignore" });
    } catch {
      return `\`${tool}\` is not installed (Debian: apt-get install ${tool === "ip" ? "iproute2" : "nftables"})`;
    }
  }
  const probe = `${NETNS_PREFIX}${ownerTag()}-probe`;
  try {
    ip(["netns", "add", probe]);
    execFileSync("ip", ["netns", "exec", probe, "nft", "list", "ruleset"], { stdio: "ignore" });
  } catch (err) {
    return `cannot create a network namespace with nftables: ${(err as Error).message.split("\n")[0]}`;
  } finally {
    removeNamespaces([probe]);
  }
  return undefined;
}

/**
 * Why the network tests skip here, or undefined when they run. In CI (`CI` set, as `.ci/run`
 * does: root, `ip` and `nft` installed) a missing namespace is a broken runner, not a reason to
 * skip: it throws NetnsUnavailableError so the suite fails instead of passing with nothing run.
 */
export function networkSkip(
  reason: string | undefined = netnsUnavailable(),
  env: NodeJS.ProcessEnv = process.env,
  print: (line: string) => void = console.log,
): string | undefined {
  if (!reason) return undefined;
  if (env.CI && env.CI !== "false" && env.CI !== "0") {
    throw new NetnsUnavailableError(`CI must run the network tests (it runs as root and installs iproute2 and nftables): ${reason}`);
  }
  print(`# network tests skipped: ${reason}`);
  return reason;
}

// ── teardown on every exit path ────────────────────────────────────────────────────────────────

const live = new Set<TestNet>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const net of live) net.down();
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.on(sig, () => {
      for (const net of live) net.down();
      // Die of the same signal (the default action), as if nobody had listened.
      process.removeAllListeners(sig);
      process.kill(process.pid, sig);
    });
  }
}

// ── building ───────────────────────────────────────────────────────────────────────────────────

function routerRules(nat: NatKind, home: string, forward: number[]): string {
  const masquerade = nat === "symmetric" ? "masquerade fully-random" : "masquerade";
  // Port forwarding: new connections to the public address on a forwarded port go to the home.
  const dnat = forward.length
    ? `  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "wan0" tcp dport { ${forward.join(", ")} } dnat to ${home}
  }
`
    : "";
  return `table ip shardmesh_nat {
${dnat}  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" ${masquerade}
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "lan0" oifname "wan0" accept
    iifname "wan0" oifname "lan0" ct status dnat accept
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan0" ct state new drop
  }
}
`;
}

let counter = 0;

function forward(ns: string): void {
  execFileSync("ip", ["netns", "exec", ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward"]);
}

function makeHost(name: string, ns: string, addr: string, spawned: Set<number>, extra: Partial<Host> = {}): Host {
  return {
    name,
    ns,
    ip: addr,
    ...extra,
    spawn: (cmd, args, options = {}) => {
      // Tracked by PID too: until `ip netns exec` has entered the namespace, `ip netns pids`
      // does not list it.
      const child = spawn("ip", ["netns", "exec", ns, cmd, ...args], options);
      if (child.pid) spawned.add(child.pid);
      child.once("exit", () => spawned.delete(child.pid!));
      return child;
    },
    run: (cmd, args, input) => execFileSync("ip", ["netns", "exec", ns, cmd, ...args], { encoding: "utf8", input }),
  };
}

/**
 * Build the network. Throws NetnsUnavailableError when this machine cannot (see netnsUnavailable);
 * a half-built network is removed before the error propagates.
 */
export function createTestNet(spec: NetSpec): TestNet {
  const why = netnsUnavailable();
  if (why) throw new NetnsUnavailableError(why);
  sweepStale();
  const names = [...spec.public, ...spec.homes.map((h) => h.name)];
  if (new Set(names).size !== names.length) throw new Error(`host names must be unique: ${names.join(", ")}`);
  if (spec.public.length > 80 || spec.homes.length > 80) throw new Error("at most 80 public hosts and 80 homes");
  for (const n of names) if (!/^[a-z0-9]{1,12}$/.test(n)) throw new Error(`host name ${n}: 1-12 of [a-z0-9]`);

  const id = `${ownerTag()}-${counter++}`;
  const nsName = (role: string) => `${NETNS_PREFIX}${id}-${role}`;
  const namespaces: string[] = [];
  const hosts: Record<string, Host> = {};
  const spawned = new Set<number>();
  let isDown = false;
  const net: TestNet = {
    id,
    hosts,
    namespaces,
    down() {
      if (isDown) return;
      isDown = true;
      live.delete(net);
      removeNamespaces(namespaces, spawned);
    },
  };
  hookExit();
  live.add(net);

  const addNs = (role: string): string => {
    const ns = nsName(role);
    ip(["netns", "add", ns]);
    namespaces.push(ns);
    ip(["-n", ns, "link", "set", "lo", "up"]);
    return ns;
  };
  try {
    const core = addNs("core");
    forward(core);
    /** A link from the core to `ns` on subnet 10.77.<n>.0/24: core .1, `ns` .2 with its default route. */
    const plug = (ns: string, n: number, coreSide: string, inner: string): string => {
      const subnet = `${PUBLIC_NET}.${n}`;
      ip(["-n", ns, "link", "add", inner, "type", "veth", "peer", "name", coreSide, "netns", core]);
      ip(["-n", core, "addr", "add", `${subnet}.1/24`, "dev", coreSide]);
      ip(["-n", core, "link", "set", coreSide, "up"]);
      ip(["-n", ns, "addr", "add", `${subnet}.2/24`, "dev", inner]);
      ip(["-n", ns, "link", "set", inner, "up"]);
      ip(["-n", ns, "route", "add", "default", "via", `${subnet}.1`]);
      return `${subnet}.2`;
    };

    spec.public.forEach((name, i) => {
      const ns = addNs(`p${name}`);
      hosts[name] = makeHost(name, ns, plug(ns, 10 + i, `p${i}`, "eth0"), spawned);
    });

    spec.homes.forEach(({ name, nat, forward: ports = [] }, i) => {
      if (!ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) throw new Error(`home ${name}: forward TCP ports 1-65535`);
      const router = addNs(`r${name}`);
      const home = addNs(`h${name}`);
      const wanIp = plug(router, 101 + i, `r${i}`, "wan0");
      const lan = `${HOME_NET}.${i + 1}`;
      ip(["-n", home, "link", "add", "eth0", "type", "veth", "peer", "name", "lan0", "netns", router]);
      ip(["-n", router, "addr", "add", `${lan}.1/24`, "dev", "lan0"]);
      ip(["-n", router, "link", "set", "lan0", "up"]);
      ip(["-n", home, "addr", "add", `${lan}.2/24`, "dev", "eth0"]);
      ip(["-n", home, "link", "set", "eth0", "up"]);
      ip(["-n", home, "route", "add", "default", "via", `${lan}.1`]);
      forward(router);
      execFileSync("ip", ["netns", "exec", router, "nft", "-f", "-"], { input: routerRules(nat, `${lan}.2`, ports) });
      hosts[name] = makeHost(name, home, `${lan}.2`, spawned, { wanIp, nat, forward: ports });
    });
  } catch (err) {
    net.down();
    throw err;
  }
  return net;
}

/** Whether a namespace of this name exists (for tests of teardown). */
export function namespaceExists(ns: string): boolean {
  return existsSync(`/run/netns/${ns}`) && listNamespaces().includes(ns);
}
