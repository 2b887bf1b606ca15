// What a node behind NAT tells its operator about being dialable through relays: derived from
// its own circuit addresses (nat/relay.ts relaysOf), and the CLI's wording for each case.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { multiaddr } from "@multiformats/multiaddr";
import { circuitRelay, relaysOf } from "../../../node/src/nat/relay.ts";
import { reachMessage } from "../../../node/src/cli/provider.ts";

const R1 = "12D3KooWGRUVh8iNvQ6MTnH8FdR4ptbPqfqJmV1TGsZZMYcgMPsv";
const R2 = "12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo";
const SELF = "12D3KooWJWoaqZhDaoEFshF7Rh1bpY9ohihFhzcW6d69Lr2NASuq";

describe("relays a node is dialable through", () => {
  it("are the relays of its circuit addresses, once each, sorted; other addresses count for nothing", () => {
    const addrs = [
      `/ip4/10.78.1.2/tcp/4001/p2p/${SELF}`,
      `/ip4/10.77.11.2/tcp/4001/p2p/${R2}/p2p-circuit/p2p/${SELF}`,
      `/ip4/10.77.10.2/tcp/4001/p2p/${R1}/p2p-circuit/p2p/${SELF}`,
      `/ip6/fd00::2/tcp/4001/p2p/${R1}/p2p-circuit/p2p/${SELF}`,
    ].map((a) => multiaddr(a));
    assert.deepEqual(relaysOf(addrs), [R1, R2].sort());
    assert.deepEqual(relaysOf(addrs.slice(0, 1)), []);
    assert.equal(circuitRelay(addrs[0]), undefined);
    assert.equal(circuitRelay(multiaddr(`/p2p-circuit/p2p/${SELF}`)), "unknown");
  });
});

describe("what `provider start` prints about reachability", () => {
  const nat = { event: "reach" as const, status: "unreachable" as const, externalIp: "10.77.101.2" };
  it("behind NAT it promises relay slots only when it reserves them", () => {
    assert.match(reachMessage(nat, {}), /behind NAT \(seen at 10\.77\.101\.2\): reserving relay slots/);
    assert.match(reachMessage(nat, { relay: false }), /relaying off \(--no-relay\): peers cannot dial this node/);
    assert.match(reachMessage(nat, { announce: ["/ip4/1.2.3.4/tcp/4001"] }), /announcing \/ip4\/1\.2\.3\.4\/tcp\/4001 as pinned/);
    assert.doesNotMatch(reachMessage(nat, {}), /reachable through/);
    // Listening on loopback (the default) it cannot take connections or punch: it says how to.
    assert.match(reachMessage(nat, { listen: ["/ip4/127.0.0.1/tcp/0"] }), /listening on loopback only: --listen \/ip4\/0\.0\.0\.0/);
    assert.doesNotMatch(reachMessage(nat, { listen: ["/ip4/0.0.0.0/tcp/4001"] }), /loopback/);
  });
  it("says which relays it is dialable through, and when there is none", () => {
    assert.equal(reachMessage({ event: "relays", relays: [R1, R2] }, {}), `dialable through 2 relays: 12D3KooW…cgMPsv, 12D3KooW…CVe2Xo`);
    assert.match(reachMessage({ event: "relays", relays: [] }, {}), /^no relay reservation now: peers cannot dial this node/);
  });
  it("public nodes say they relay unless told not to", () => {
    const pub = { event: "reach" as const, status: "reachable" as const, externalIp: "10.77.10.2" };
    assert.equal(reachMessage(pub, {}), "reachable at 10.77.10.2 (offering relaying)");
    assert.equal(reachMessage(pub, { relay: false }), "reachable at 10.77.10.2");
  });
});
