// Agent for test/network/nat.test.ts: a bare libp2p node (TCP on this host's address) with the
// reachability service, and the hole-punching primitive, inside one namespace host.
//   node nat-agent.ts --listen <ip>
import { parseArgs } from "node:util";
import { createServer } from "node:net";
import type { Socket } from "node:net";
import { createLibp2p } from "libp2p";
import { tcp } from "@libp2p/tcp";
import { noise } from "@chainsafe/libp2p-noise";
import { yamux } from "@chainsafe/libp2p-yamux";
import { identify } from "@libp2p/identify";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { multiaddr } from "@multiformats/multiaddr";
import { Reachability } from "../../node/src/nat/reach.ts";
import { punch, reservePort } from "../../node/src/nat/punch.ts";
import { serveAgent } from "./agent.ts";

const { values } = parseArgs({ options: { listen: { type: "string" } } });
const ip = values.listen!;
const node = await createLibp2p({
  privateKey: await generateKeyPair("Ed25519"),
  addresses: { listen: [`/ip4/${ip}/tcp/0`] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  services: { identify: identify() },
});
// A second listener stands in for the data plane: both ports must be reachable.
const extra = createServer((s) => s.destroy());
await new Promise<void>((r) => extra.listen(0, ip, () => r()));
const libp2pPort = Number(
  node
    .getMultiaddrs()[0]
    .getComponents()
    .find((c) => c.name === "tcp")?.value,
);
const reach = new Reachability(node, { libp2pPort: () => libp2pPort, dataPlanePort: () => (extra.address() as { port: number }).port });
const changes: unknown[] = [];
reach.addEventListener("change", (e) => changes.push({ at: Date.now(), ...e.detail }));
await reach.start();

let punched: Socket | undefined;
serveAgent({
  addrs: () => node.getMultiaddrs().map(String),
  dial: async (addr: string) => {
    await node.dial(multiaddr(addr), { signal: AbortSignal.timeout(10_000) });
    return true;
  },
  reach: () => ({ state: reach.state, changes }),
  recheck: () => reach.recheck(),
  reservePort: () => reservePort(ip),
  punch: async (a: { localPort: number; host: string; port: number; deadlineMs?: number }) => {
    const started = performance.now();
    punched = await punch({ host: ip, port: a.localPort }, { host: a.host, port: a.port }, { deadlineMs: a.deadlineMs });
    // Prove the socket carries bytes both ways.
    punched.write("ping");
    const got = await new Promise<string>((resolve) => punched!.once("data", (d) => resolve(String(d))));
    punched.destroy();
    return { ms: performance.now() - started, got };
  },
});
