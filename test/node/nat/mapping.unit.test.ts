// nat/mapping.ts against a recording stand-in for libp2p's address manager (the real one, on the
// namespace network: test/network/announce.test.ts): which verdicts map a forwarded port, and
// which LAN addresses the announce filter then hides.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { multiaddr } from "@multiformats/multiaddr";
import type { Multiaddr } from "@multiformats/multiaddr";
import { portMapping } from "../../../node/src/nat/mapping.ts";
import type { ReachState } from "../../../node/src/nat/reach.ts";

function setup(listen: string[]) {
  const calls: string[] = [];
  const m = portMapping();
  const svc = m.service({
    addressManager: {
      addPublicAddressMapping: (ip, port, ext, extPort) => calls.push(`add ${ip}:${port} ${ext}:${extPort}`),
      removePublicAddressMapping: (ip, port, ext, extPort) => calls.push(`remove ${ip}:${port} ${ext}:${extPort}`),
      confirmObservedAddr: (a: Multiaddr, o) => calls.push(`confirm ${a} ${o?.type}`),
    },
    transportManager: { getAddrs: () => listen.map((a) => multiaddr(a)) },
  });
  const announced = (addrs: string[]) => m.announceFilter(addrs.map((a) => multiaddr(a))).map(String);
  return { calls, svc, announced };
}
const reachable = (externalIp: string): ReachState => ({ status: "reachable", externalIp });

describe("port mapping from the reachability verdict", () => {
  it("reachable at the router's address: the listen address on the checked port is mapped there and no longer announced", () => {
    const { calls, svc, announced } = setup(["/ip4/10.78.1.2/tcp/4001", "/ip4/127.0.0.1/tcp/4001", "/ip4/10.78.1.2/tcp/5000"]);
    svc.update(reachable("10.77.101.2"), 4001);
    assert.deepEqual(calls, ["add 10.78.1.2:4001 10.77.101.2:4001", "confirm /ip4/10.77.101.2/tcp/4001 ip-mapping"]);
    assert.equal(svc.mapped, "/ip4/10.77.101.2/tcp/4001");
    const addrs = ["/ip4/10.78.1.2/tcp/4001/p2p/x", "/ip4/10.77.101.2/tcp/4001/p2p/x", "/ip4/10.78.1.2/tcp/5000/p2p/x"];
    assert.deepEqual(announced(addrs), addrs.slice(1));
    // The same verdict again only confirms it.
    svc.update(reachable("10.77.101.2"), 4001);
    assert.deepEqual(calls.slice(2), ["confirm /ip4/10.77.101.2/tcp/4001 ip-mapping"]);
  });

  it("a public node (reachable at its own address), a node behind NAT, no verdict or no port: nothing mapped", () => {
    const { calls, svc, announced } = setup(["/ip4/10.77.10.2/tcp/4001"]);
    svc.update(reachable("10.77.10.2"), 4001);
    svc.update({ status: "unreachable", externalIp: "10.77.101.2" }, 4001);
    svc.update({ status: "unknown" }, 4001);
    svc.update(reachable("10.77.101.2"), undefined);
    assert.deepEqual(calls, []);
    assert.equal(svc.mapped, undefined);
    assert.deepEqual(announced(["/ip4/10.77.10.2/tcp/4001"]), ["/ip4/10.77.10.2/tcp/4001"]);
  });

  it("a node listening on a public address keeps announcing it whatever a checker claims", () => {
    const { calls, svc, announced } = setup(["/ip4/8.8.4.4/tcp/4001"]);
    svc.update(reachable("6.6.6.6"), 4001);
    assert.deepEqual(calls, []);
    assert.deepEqual(announced(["/ip4/8.8.4.4/tcp/4001/p2p/x"]), ["/ip4/8.8.4.4/tcp/4001/p2p/x"]);
  });

  it("a later verdict behind NAT or at another address removes the mapping (the forward went away, the IP changed)", () => {
    const { calls, svc, announced } = setup(["/ip4/10.78.1.2/tcp/4001"]);
    svc.update(reachable("10.77.101.2"), 4001);
    svc.update(reachable("10.77.101.9"), 4001);
    assert.deepEqual(calls.slice(2), [
      "remove 10.78.1.2:4001 10.77.101.2:4001",
      "add 10.78.1.2:4001 10.77.101.9:4001",
      "confirm /ip4/10.77.101.9/tcp/4001 ip-mapping",
    ]);
    svc.update({ status: "unreachable", externalIp: "10.77.101.9" }, 4001);
    assert.deepEqual(calls.slice(5), ["remove 10.78.1.2:4001 10.77.101.9:4001"]);
    assert.equal(svc.mapped, undefined);
    assert.deepEqual(announced(["/ip4/10.78.1.2/tcp/4001"]), ["/ip4/10.78.1.2/tcp/4001"], "the LAN address is announced again");
  });
});
