// Reachability and hole punching on the namespace network, with real NAT routers: public hosts
// learn they are reachable, homes learn they are not and at which public address they are seen;
// TCP simultaneous open (node/src/nat/punch.ts) connects two cone-NAT homes and a public host
// with a cone-NAT home, and fails with a symmetric-NAT home. Skipped, with the reason, only where
// namespaces cannot be created.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { createTestNet, networkSkip } from "./netns.ts";
import type { TestNet } from "./netns.ts";
import { startAgent } from "./agent.ts";
import type { Agent } from "./agent.ts";
import type { ReachState } from "../../node/src/nat/reach.ts";
import { until } from "../../scripts/lib/wait.ts";

const unavailable = networkSkip();
/** How long a reachability verdict may take. */
const VERDICT_WAIT_MS = 15_000;
const AGENT = new URL("./nat-agent.ts", import.meta.url).pathname;

describe("reachability and hole punching across NAT", { skip: unavailable }, () => {
  let net: TestNet;
  const agents: Record<string, Agent> = {};
  before(async () => {
    net = createTestNet({
      public: ["relay", "gateway"],
      homes: [
        { name: "a", nat: "cone" },
        { name: "b", nat: "cone" },
        { name: "s", nat: "symmetric" },
      ],
    });
    for (const name of ["relay", "gateway", "a", "b", "s"])
      agents[name] = await startAgent(net.hosts[name], AGENT, ["--listen", net.hosts[name].ip]);
    const [relayAddr] = await agents.relay.call<string[]>("addrs");
    for (const name of ["gateway", "a", "b", "s"]) await agents[name].call("dial", relayAddr);
  });
  after(async () => {
    await Promise.all(Object.values(agents).map((a) => a.kill()));
    net?.down();
  });

  const verdict = (name: string) =>
    until(
      `${name}'s reachability verdict`,
      async () => {
        const { state } = await agents[name].call<{ state: ReachState }>("reach");
        return state.status === "unknown" ? undefined : state;
      },
      VERDICT_WAIT_MS,
      100,
    );

  it("public hosts are reachable at their own address", async () => {
    for (const name of ["relay", "gateway"]) {
      const state = await verdict(name);
      assert.equal(state.status, "reachable", name);
      assert.equal(state.dataPlane, true, name);
      assert.equal(state.externalIp, net.hosts[name].ip);
    }
  });

  it("homes are unreachable and learn the public address of their router", async () => {
    for (const name of ["a", "b", "s"]) {
      const state = await verdict(name);
      assert.equal(state.status, "unreachable", name);
      assert.equal(state.dataPlane, false, name);
      assert.equal(state.externalIp, net.hosts[name].wanIp);
      assert.equal(state.by !== undefined, true);
    }
  });

  /** Both sides reserve a port, learn the other's (external IP, port), and connect at once. */
  async function punchBetween(x: string, y: string) {
    const [px, py] = await Promise.all([agents[x].call<number>("reservePort"), agents[y].call<number>("reservePort")]);
    const ext = (n: string) => net.hosts[n].wanIp ?? net.hosts[n].ip;
    return Promise.allSettled([
      agents[x].call<{ ms: number; got: string }>("punch", { localPort: px, host: ext(y), port: py }),
      agents[y].call<{ ms: number; got: string }>("punch", { localPort: py, host: ext(x), port: px }),
    ]);
  }

  it("two cone-NAT homes connect by simultaneous open", async () => {
    const [ra, rb] = await punchBetween("a", "b");
    assert.equal(ra.status, "fulfilled", String((ra as PromiseRejectedResult).reason));
    assert.equal(rb.status, "fulfilled", String((rb as PromiseRejectedResult).reason));
    assert.equal((ra as PromiseFulfilledResult<{ got: string }>).value.got, "ping");
    assert.equal((rb as PromiseFulfilledResult<{ got: string }>).value.got, "ping");
  });

  it("a public host and a cone-NAT home connect the same way (its first SYN meets a RST and is repeated)", async () => {
    const results = await punchBetween("gateway", "a");
    for (const r of results) assert.equal(r.status, "fulfilled", String((r as PromiseRejectedResult).reason));
  });

  it("a symmetric-NAT home cannot be punched, neither from a home nor from a public host", async () => {
    for (const peer of ["a", "gateway"]) {
      const results = await punchBetween(peer, "s");
      assert.ok(
        results.some((r) => r.status === "rejected" && (r.reason as Error).name === "PunchFailedError"),
        `${peer} ↔ s: ${results.map((r) => r.status)}`,
      );
    }
  });
});
