// Experiment (not a test): js-libp2p 3's own NAT services on the namespace network. Run as root:
//   node test/network/probe-libp2p.ts [--limit-kib 128] [--payload-kib 450] [--watch-s 20]
// A relay (circuit relay v2 server, AutoNAT v2, DCUtR, identify + push) on the public segment;
// homes a, b (cone NAT) and s (symmetric NAT) each listen on their LAN address and on
// /p2p-circuit and bootstrap to the relay; a public peer and home b dial home a (and s) through
// the relay, send one activation-sized payload on the relayed connection and watch whether DCUtR
// replaces it with a direct one. Prints one JSON object with what each node saw.
import type { ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { createLibp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify, identifyPush } from "@libp2p/identify";
import { ping } from "@libp2p/ping";
import { bootstrap } from "@libp2p/bootstrap";
import { circuitRelayServer, circuitRelayTransport } from "@libp2p/circuit-relay-v2";
import { autoNATv2 } from "@libp2p/autonat-v2";
import { dcutr } from "@libp2p/dcutr";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { multiaddr } from "@multiformats/multiaddr";
import { createTestNet } from "./netns.ts";

const ECHO = "/shardmesh-probe/echo/1.0.0";
const { values } = parseArgs({
  options: {
    role: { type: "string" },
    listen: { type: "string" },
    relay: { type: "string" },
    targets: { type: "string" },
    "limit-kib": { type: "string", default: "128" },
    "payload-kib": { type: "string", default: "450" },
    "watch-s": { type: "string", default: "20" },
  },
});
const watchMs = Number(values["watch-s"]) * 1000;
const t0 = performance.now();
const say = (o: Record<string, unknown>) => process.stdout.write(`${JSON.stringify({ t: Math.round(performance.now() - t0), ...o })}\n`);

async function node(role: string) {
  const isRelay = role === "relay";
  const limitBytes = BigInt(Number(values["limit-kib"]) * 1024);
  return createLibp2p({
    privateKey: await generateKeyPair("Ed25519"),
    addresses: { listen: [values.listen!, ...(isRelay || role === "pub" ? [] : ["/p2p-circuit"])] },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    peerDiscovery: values.relay ? [bootstrap({ list: [values.relay], timeout: 10 })] : [],
    services: {
      identify: identify(),
      identifyPush: identifyPush(),
      ping: ping(),
      autoNAT: autoNATv2({ startupDelay: 1000, refreshInterval: 5000 }),
      dcutr: dcutr(),
      ...(isRelay
        ? { relay: circuitRelayServer({ reservations: { defaultDataLimit: limitBytes, defaultDurationLimit: 10 * 60_000 } }) }
        : {}),
    },
  });
}

/** Child side: one libp2p node in this namespace, reporting as JSON lines. */
async function child(role: string): Promise<void> {
  const n = await node(role);
  process.on("disconnect", () => process.exit(0));
  await n.handle(
    ECHO,
    async (stream) => {
      for await (const chunk of stream) stream.send(chunk.subarray());
      await stream.close();
    },
    { runOnLimitedConnection: true },
  );
  const addrs = () => n.getMultiaddrs().map(String);
  say({ event: "up", role, peerId: n.peerId.toString(), addrs: addrs() });
  n.addEventListener("self:peer:update", () => say({ event: "addrs", addrs: addrs() }));
  n.addEventListener("connection:open", (e) =>
    say({ event: "conn-open", remote: e.detail.remoteAddr.toString(), limited: e.detail.limits != null, dir: e.detail.direction }),
  );
  n.addEventListener("connection:close", (e) =>
    say({ event: "conn-close", remote: e.detail.remoteAddr.toString(), limited: e.detail.limits != null }),
  );
  for (const target of values.targets?.split(",").filter(Boolean) ?? []) void dialAndWatch(n, target);
  setTimeout(
    () =>
      say({
        event: "final",
        addrs: addrs(),
        conns: n.getConnections().map((c) => ({ remote: c.remoteAddr.toString(), limited: c.limits != null })),
      }),
    watchMs + 3000,
  );
}

async function dialAndWatch(n: Awaited<ReturnType<typeof node>>, target: string): Promise<void> {
  const ma = multiaddr(target);
  const peer = ma.getComponents().findLast((c) => c.name === "p2p")!.value!;
  const started = performance.now();
  try {
    const conn = await n.dial(ma, { signal: AbortSignal.timeout(15_000) });
    say({
      event: "dialed",
      target,
      ms: Math.round(performance.now() - started),
      limited: conn.limits != null,
      limits: String(JSON.stringify(conn.limits, (_, v) => (typeof v === "bigint" ? String(v) : v))),
    });
    const bytes = Number(values["payload-kib"]) * 1024;
    const s = await conn.newStream(ECHO, { runOnLimitedConnection: true, signal: AbortSignal.timeout(15_000) });
    const sent = performance.now();
    s.send(new Uint8Array(bytes));
    await s.close();
    let got = 0;
    for await (const chunk of s) got += chunk.byteLength;
    say({ event: "echo", target, bytes, got, ms: Math.round(performance.now() - sent), ok: got === bytes });
  } catch (err) {
    say({ event: "dial-or-echo-failed", target, error: String((err as Error)?.stack ?? err).slice(0, 300) });
  }
  const deadline = Date.now() + watchMs;
  while (Date.now() < deadline) {
    const direct = n
      .getConnections()
      .find((c) => c.remotePeer.toString() === peer && c.limits == null && !c.remoteAddr.toString().includes("p2p-circuit"));
    if (direct) {
      say({ event: "direct", target: peer, after_ms: Math.round(performance.now() - started), remote: direct.remoteAddr.toString() });
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  say({ event: "no-direct", target: peer, watched_ms: watchMs });
}

/** Parent side: build the network, start the nodes in order, collect what they report. */
async function parent(): Promise<void> {
  const net = createTestNet({
    public: ["relay", "pub"],
    homes: [
      { name: "a", nat: "cone" },
      { name: "b", nat: "cone" },
      { name: "s", nat: "symmetric" },
    ],
  });
  const out: Record<string, Record<string, unknown>[]> = {};
  const children: ChildProcess[] = [];
  const start = (name: string, args: string[]) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const h = net.hosts[name];
      const c = h.spawn(process.execPath, [new URL(import.meta.url).pathname, "--role", name, ...args], {
        stdio: ["ignore", "pipe", "inherit"],
        env: { ...process.env, NODE_NO_WARNINGS: "1" },
      });
      children.push(c);
      out[name] = [];
      createInterface({ input: c.stdout! }).on("line", (line) => {
        const e = JSON.parse(line) as Record<string, unknown>;
        out[name].push(e);
        if (e.event === "up") resolve(e);
      });
      c.once("exit", (code) => reject(new Error(`${name} exited ${code}`)));
    });
  const common = ["--limit-kib", values["limit-kib"]!, "--payload-kib", values["payload-kib"]!, "--watch-s", values["watch-s"]!];
  try {
    const relay = await start("relay", ["--listen", `/ip4/${net.hosts.relay.ip}/tcp/4001`, ...common]);
    const relayAddr = `/ip4/${net.hosts.relay.ip}/tcp/4001/p2p/${relay.peerId}`;
    const homes: Record<string, string> = {};
    for (const h of ["a", "s"]) {
      const up = await start(h, ["--listen", `/ip4/${net.hosts[h].ip}/tcp/4001`, "--relay", relayAddr, ...common]);
      homes[h] = String(up.peerId);
    }
    // Wait for both reservations, then dial them from the public side and from home b.
    const deadline = Date.now() + 20_000;
    const circuit = (h: string) => out[h].flatMap((e) => (e.addrs as string[] | undefined) ?? []).find((a) => a.includes("/p2p-circuit/"));
    while ((!circuit("a") || !circuit("s")) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    const targets = ["a", "s"].map(circuit).filter(Boolean).join(",");
    await start("pub", ["--listen", `/ip4/${net.hosts.pub.ip}/tcp/4001`, "--relay", relayAddr, "--targets", targets, ...common]);
    await start("b", ["--listen", `/ip4/${net.hosts.b.ip}/tcp/4001`, "--relay", relayAddr, "--targets", targets, ...common]);
    await new Promise((r) => setTimeout(r, Number(values["watch-s"]) * 1000 + 4000));
    const summary = {
      limitKiB: Number(values["limit-kib"]),
      payloadKiB: Number(values["payload-kib"]),
      reservationMs: Object.fromEntries(
        ["a", "s"].map((h) => [h, out[h].find((e) => JSON.stringify(e.addrs ?? []).includes("/p2p-circuit/"))?.t ?? null]),
      ),
      events: out,
    };
    console.log(JSON.stringify(summary, null, 1));
  } finally {
    for (const c of children) c.kill("SIGTERM");
    net.down();
  }
}

if (values.role) await child(values.role);
else await parent();
