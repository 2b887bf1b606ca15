// Bring the multi-host test network (test/network/netns.ts) up or down by hand. Needs root.
//
//   node scripts/netns.ts up [--homes a:cone,b:cone,s:symmetric] [--public chain,relay,gateway,buyer]
//        builds it, prints every host, and keeps it until Ctrl-C (then tears it down)
//   node scripts/netns.ts status          test networks on this machine and their processes
//   node scripts/netns.ts down --stale    remove networks whose owner process is gone
//   node scripts/netns.ts down <id>       remove one network (kills the processes inside it)
import { parseArgs } from "node:util";
import { createTestNet, listNetworks, namespacePids, removeNamespaces, sweepStale } from "../test/network/netns.ts";
import type { NatKind } from "../test/network/netns.ts";

const HELP = `usage: node scripts/netns.ts up [--public a,b] [--homes name:cone|symmetric,…] | status | down (--stale | <id>)`;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    public: { type: "string", default: "chain,relay,gateway,buyer" },
    homes: { type: "string", default: "a:cone,b:cone,s:symmetric" },
    stale: { type: "boolean", default: false },
    help: { type: "boolean", short: "h", default: false },
  },
});
const [cmd, arg] = positionals;

if (values.help || !cmd) {
  console.log(HELP);
  process.exit(values.help ? 0 : 2);
} else if (cmd === "up") {
  const net = createTestNet({
    public: values.public.split(",").filter(Boolean),
    homes: values.homes
      .split(",")
      .filter(Boolean)
      .map((h) => {
        const [name, nat = "cone"] = h.split(":");
        if (nat !== "cone" && nat !== "symmetric") throw new Error(`NAT kind ${nat}: cone or symmetric`);
        return { name, nat: nat as NatKind };
      }),
  });
  console.log(`test network ${net.id} is up (Ctrl-C tears it down)`);
  for (const h of Object.values(net.hosts)) {
    const where = h.wanIp ? `behind ${h.nat} NAT ${h.wanIp}` : "public";
    console.log(`  ${h.name.padEnd(8)} ${h.ip.padEnd(11)} ${where.padEnd(30)} ip netns exec ${h.ns} <cmd>`);
  }
  setInterval(() => {}, 1 << 30);
} else if (cmd === "status") {
  const nets = listNetworks();
  if (nets.size === 0) console.log("no test networks");
  for (const [id, namespaces] of nets) {
    console.log(`${id}: ${namespaces.length} namespaces`);
    for (const ns of namespaces) {
      const pids = namespacePids(ns);
      if (pids.length) console.log(`  ${ns}: pids ${pids.join(" ")}`);
    }
  }
} else if (cmd === "down" && values.stale) {
  const swept = sweepStale();
  console.log(swept.length ? `removed ${swept.join(", ")}` : "nothing stale");
} else if (cmd === "down" && arg) {
  const namespaces = listNetworks().get(arg);
  if (!namespaces) {
    console.error(`no test network ${arg}`);
    process.exit(1);
  }
  removeNamespaces(namespaces);
  console.log(`removed ${arg}`);
} else {
  console.error(HELP);
  process.exit(2);
}
