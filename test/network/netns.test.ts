// The namespace test network itself: the NAT kinds behave as real home routers do (outbound
// works, unsolicited inbound is dropped, cone NAT keeps ports so TCP simultaneous open succeeds,
// symmetric NAT randomises them so it fails), and teardown leaves no namespace, interface, nft
// table or process behind: on down(), when the owner throws, on SIGINT, and after a SIGKILL (the
// next sweep). Skipped, with the reason, only where namespaces cannot be created (not root, no
// `ip`/`nft`); CI runs as root and installs both.
import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { createTestNet, listNamespaces, listNetworks, namespacePids, networkSkip, processRunning, sweepStale } from "./netns.ts";
import type { Host, TestNet } from "./netns.ts";

const unavailable = networkSkip();

/** Run a small node program inside a host; resolves with its stdout lines. */
async function nodeIn(host: Host, code: string, args: string[] = []): Promise<string[]> {
  const child = host.spawn(process.execPath, ["--input-type=module", "-e", code, ...args], { stdio: ["ignore", "pipe", "inherit"] });
  const lines: string[] = [];
  createInterface({ input: child.stdout! }).on("line", (l) => lines.push(l));
  await once(child, "exit");
  return lines;
}

/** Listen on host:port and print each peer's address as seen here; exits after `n` peers or `ms`. */
const LISTEN = `import net from "node:net"; const [h, p, n, ms] = process.argv.slice(1); let k = 0;
const s = net.createServer((c) => { console.log(c.remoteAddress + ":" + c.remotePort); c.end(); if (++k >= +n) s.close(); });
s.listen(+p, h, () => console.log("listening")); setTimeout(() => { console.log("timeout"); process.exit(0); }, +ms).unref();`;

/** Connect from an optional fixed local port; prints "connected" or the error code. */
const CONNECT = `import net from "node:net"; const [h, p, lp, ms] = process.argv.slice(1);
const c = net.connect({ host: h, port: +p, localPort: lp ? +lp : undefined });
c.on("connect", () => { console.log("connected"); c.end(); }); c.on("error", (e) => { console.log(e.code); process.exit(0); });
c.on("close", () => process.exit(0)); setTimeout(() => { console.log("timeout"); process.exit(0); }, +ms);`;

async function listenOnce(host: Host, port: number, peers: number, ms: number): Promise<{ ready: Promise<void>; seen: Promise<string[]> }> {
  const child = host.spawn(process.execPath, ["--input-type=module", "-e", LISTEN, host.ip, String(port), String(peers), String(ms)], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  const lines: string[] = [];
  let ready!: () => void;
  const readyP = new Promise<void>((r) => (ready = r));
  createInterface({ input: child.stdout! }).on("line", (l) => (l === "listening" ? ready() : lines.push(l)));
  const seen = once(child, "exit").then(() => lines);
  return { ready: readyP, seen };
}

describe("namespace test network", { skip: unavailable }, () => {
  let net: TestNet;
  after(() => net?.down());

  it("builds public hosts and homes behind cone and symmetric NAT", () => {
    net = createTestNet({
      public: ["relay", "buyer"],
      homes: [
        { name: "a", nat: "cone" },
        { name: "b", nat: "cone", forward: [7003] },
        { name: "s", nat: "symmetric" },
      ],
    });
    assert.equal(net.hosts.relay.ip, "10.77.10.2");
    assert.deepEqual(net.hosts.b.forward, [7003]);
    assert.equal(net.hosts.buyer.ip, "10.77.11.2");
    assert.equal(net.hosts.a.ip, "10.78.1.2");
    assert.equal(net.hosts.a.wanIp, "10.77.101.2");
    assert.equal(net.hosts.s.nat, "symmetric");
    for (const ns of net.namespaces) assert.ok(listNamespaces().includes(ns), ns);
    // The root namespace gained nothing: no interface of ours is visible here.
    assert.equal(
      net.hosts.relay.run("ip", ["route", "get", net.hosts.buyer.ip]).includes("via 10.77.10.1"),
      true,
      "public hosts are routed, not on one LAN",
    );
    const rootLinks = execFileSync("ip", ["-o", "link"], { encoding: "utf8" });
    assert.doesNotMatch(rootLinks, /\b(wan0|lan0|p0|r0)\b/);
  });

  it("homes reach public hosts from the same port; the public side sees the router's address", async () => {
    const l = await listenOnce(net.hosts.relay, 7001, 2, 5000);
    await l.ready;
    assert.deepEqual(await nodeIn(net.hosts.a, CONNECT, [net.hosts.relay.ip, "7001", "41001", "3000"]), ["connected"]);
    assert.deepEqual(await nodeIn(net.hosts.s, CONNECT, [net.hosts.relay.ip, "7001", "41001", "3000"]), ["connected"]);
    const [fromA, fromS] = await l.seen;
    assert.equal(fromA, `${net.hosts.a.wanIp}:41001`, "cone NAT keeps the source port");
    assert.match(fromS, new RegExp(`^${net.hosts.s.wanIp!.replaceAll(".", "\\.")}:\\d+$`));
    assert.notEqual(fromS, `${net.hosts.s.wanIp}:41001`, "symmetric NAT picks a random port");
  });

  it("drops unsolicited inbound connections to a home (no reply, as home routers do)", async () => {
    const l = await listenOnce(net.hosts.a, 7002, 1, 3000);
    await l.ready;
    assert.deepEqual(await nodeIn(net.hosts.relay, CONNECT, [net.hosts.a.wanIp!, "7002", "", "1500"]), ["timeout"]);
    // A home's LAN address is not routable from the public side at all.
    assert.deepEqual(await nodeIn(net.hosts.relay, CONNECT, [net.hosts.a.ip, "7002", "", "1500"]), ["ENETUNREACH"]);
    assert.deepEqual(await l.seen, ["timeout"]);
  });

  it("a forwarded port reaches the home from the public side, seen from the caller's own address; other ports stay closed", async () => {
    const l = await listenOnce(net.hosts.b, 7003, 1, 5000);
    await l.ready;
    assert.deepEqual(await nodeIn(net.hosts.relay, CONNECT, [net.hosts.b.wanIp!, "7003", "", "3000"]), ["connected"]);
    const [seen] = await l.seen;
    assert.match(seen, new RegExp(`^${net.hosts.relay.ip.replaceAll(".", "\\.")}:\\d+$`));
    const closed = await listenOnce(net.hosts.b, 7004, 1, 3000);
    await closed.ready;
    assert.deepEqual(await nodeIn(net.hosts.relay, CONNECT, [net.hosts.b.wanIp!, "7004", "", "1500"]), ["timeout"]);
    assert.deepEqual(await closed.seen, ["timeout"]);
  });

  it("TCP simultaneous open succeeds between two cone NATs and fails with a symmetric one", async () => {
    const punch = async (x: Host, y: Host, px: number, py: number) => {
      const a = nodeIn(x, CONNECT, [y.wanIp!, String(py), String(px), "4000"]);
      const b = nodeIn(y, CONNECT, [x.wanIp!, String(px), String(py), "4000"]);
      return [...(await a), ...(await b)];
    };
    assert.deepEqual(await punch(net.hosts.a, net.hosts.b, 42001, 42002), ["connected", "connected"]);
    const withSymmetric = await punch(net.hosts.a, net.hosts.s, 42003, 42004);
    assert.ok(!withSymmetric.every((r) => r === "connected"), `symmetric NAT punched: ${withSymmetric}`);
  });

  it("down() kills the processes inside and removes every namespace", async () => {
    const sleeper = net.hosts.b.spawn("sleep", ["600"], { stdio: "ignore" });
    assert.ok(sleeper.pid);
    const namespaces = [...net.namespaces];
    // `ip netns exec` enters the namespace and then execs: wait (bounded) until it has.
    const deadline = Date.now() + 5000;
    while (!namespacePids(net.hosts.b.ns).includes(sleeper.pid!) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(namespacePids(net.hosts.b.ns).includes(sleeper.pid!), "the process runs inside the home");
    net.down();
    for (const ns of namespaces) assert.ok(!listNamespaces().includes(ns), `${ns} left behind`);
    assert.ok(!processRunning(sleeper.pid!), "process left behind");
    assert.ok(!listNetworks().has(net.id));
  });
});

/** A child process that builds a network, starts `sleep` inside it, prints both, then `then`s. */
const OWNER = (then: string) => `import { createTestNet } from ${JSON.stringify(new URL("./netns.ts", import.meta.url).pathname)};
const net = createTestNet({ public: ["x"], homes: [{ name: "h", nat: "cone", forward: [7005] }] });
const s = net.hosts.h.spawn("sleep", ["600"], { stdio: "ignore" });
console.log(JSON.stringify({ id: net.id, pid: s.pid, namespaces: net.namespaces }));
${then}`;

async function owner(then: string): Promise<{ child: ReturnType<typeof spawn>; info: { id: string; pid: number; namespaces: string[] } }> {
  const child = spawn(process.execPath, ["--input-type=module", "-e", OWNER(then)], { stdio: ["ignore", "pipe", "pipe"] });
  const [line] = (await once(createInterface({ input: child.stdout! }), "line")) as [string];
  return { child, info: JSON.parse(line) };
}

function assertGone(info: { id: string; pid: number; namespaces: string[] }): void {
  const present = listNamespaces();
  for (const ns of info.namespaces) assert.ok(!present.includes(ns), `${ns} left behind`);
  assert.ok(!processRunning(info.pid), `process ${info.pid} left behind`);
}

describe("test network teardown on every exit path", { skip: unavailable }, () => {
  it("when the owner throws (a failing test)", async () => {
    const { child, info } = await owner(`setTimeout(() => { throw new Error("test failed"); }, 50);`);
    const [code] = await once(child, "exit");
    assert.notEqual(code, 0);
    assertGone(info);
  });

  it("when the owner is interrupted (SIGINT) or terminated (SIGTERM)", async () => {
    for (const sig of ["SIGINT", "SIGTERM"] as const) {
      const { child, info } = await owner("setInterval(() => {}, 1000);");
      child.kill(sig);
      const [, signal] = await once(child, "exit");
      assert.equal(signal, sig, "dies of the signal it got");
      assertGone(info);
    }
  });

  it("after SIGKILL the next sweep removes the network and its processes", async () => {
    const { child, info } = await owner("setInterval(() => {}, 1000);");
    child.kill("SIGKILL");
    await once(child, "exit");
    assert.ok(listNetworks().has(info.id), "a SIGKILLed owner cannot clean up");
    assert.ok(sweepStale().includes(info.id));
    assertGone(info);
  });

  it("never sweeps a network whose owner is alive", async () => {
    const { child, info } = await owner("setInterval(() => {}, 1000);");
    try {
      assert.ok(!sweepStale().includes(info.id));
      assert.ok(listNetworks().has(info.id));
    } finally {
      child.kill("SIGTERM");
      await once(child, "exit");
    }
    assertGone(info);
  });
});

describe("where namespaces cannot be created", () => {
  it("the tests skip with the reason, except in CI, where the suite fails by name", () => {
    const printed: string[] = [];
    const print = (l: string) => printed.push(l);
    assert.equal(networkSkip("no root", {}, print), "no root");
    assert.equal(networkSkip("no root", { CI: "false" }, print), "no root");
    assert.deepEqual(printed, ["# network tests skipped: no root", "# network tests skipped: no root"]);
    assert.equal(networkSkip(undefined, { CI: "true" }, print), undefined);
    assert.throws(() => networkSkip("no root", { CI: "true" }, print), { name: "NetnsUnavailableError", message: /no root/ });
  });
});
