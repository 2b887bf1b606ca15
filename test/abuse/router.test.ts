// Isolation in the router: what is not a provider's fault raises no provider's penalty.
//  - Every stage-0 provider refusing a buyer's malformed input is the buyer's RouterInputRefusedError
//    (422), and none of them is charged.
//  - A provider losing its transport (this node's connections may have dropped, e.g. its event
//    loop stalled past the ping timeout) gets one more try if it announces itself again within
//    the route wait (counted from when the stage ran out of candidates); it is charged only if it
//    fails again or another provider serves instead.
// Providers are stubs of the directory and pipeline client (the router's unit under test).
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { Directory, StageProvider } from "../../node/src/mesh/directory.ts";
import type { PipelineClient } from "../../node/src/pipeline/client.ts";
import { PipelineRemoteError, PipelineStreamClosedError } from "../../node/src/pipeline/errors.ts";
import { Router } from "../../node/src/router/router.ts";

const provider = (peerId: string, price = 1n): StageProvider => ({ peerId, price, load: 0, capacity: 4, latencyMs: 5, reach: "reachable" });

/**
 * A router over `peers` whose hops fail with each peer's `errors` in turn (each after `failAfterMs`),
 * then succeed. reannounce: an evicted peer is listed again at once (its next announcement
 * arrived); relistAfterMs: that long after its eviction.
 */
function routerWith(
  peers: string[],
  errors: Record<string, Error[]>,
  prices: Record<string, bigint> = {},
  o: { reannounce?: boolean; relistAfterMs?: number; failAfterMs?: number; routeWaitMs?: number } = {},
) {
  const calls: string[] = [];
  const evicted: string[] = [];
  const evictedAt = new Map<string, number>();
  const listed = (p: string) => {
    if (o.reannounce || !evicted.includes(p)) return true;
    return o.relistAfterMs !== undefined && Date.now() - evictedAt.get(p)! >= o.relistAfterMs;
  };
  const directory = {
    stageCount: () => 1,
    providers: () => peers.filter(listed).map((p) => provider(p, prices[p])),
    evict: (id: string) => {
      evicted.push(id);
      evictedAt.set(id, Date.now());
    },
    has: (id: string) => peers.includes(id) && listed(id),
  } as unknown as Directory;
  const client = {
    hop: (peer: string) => ({
      call: async () => {
        calls.push(peer);
        const err = errors[peer]?.shift();
        if (err) {
          if (o.failAfterMs) await new Promise((r) => setTimeout(r, o.failAfterMs));
          throw err;
        }
        return { bag: {}, computeMs: 1, ms: 1 };
      },
    }),
  } as unknown as PipelineClient;
  return { router: new Router(directory, client, { routeWaitMs: o.routeWaitMs ?? 0 }), calls, evicted };
}

describe("router isolation", () => {
  let a: string;
  let b: string;
  before(async () => {
    a = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    b = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
  });

  it("providers losing their transport at once (this node's connections dropped) get one more try each once they announce again; the request succeeds and nobody is charged", async () => {
    const { router, calls, evicted } = routerWith(
      [a, b],
      {
        [a]: [new PipelineStreamClosedError("pipeline stream 12 closed")],
        [b]: [new PipelineStreamClosedError("pipeline stream 14 StreamResetError")],
      },
      {},
      { reannounce: true },
    );
    const res = await router.run("m", {}, { hashes: false });
    assert.ok([a, b].includes(res.stages[0].peerId));
    assert.ok(calls.length >= 2 && calls.length <= 3, `calls ${calls.length}`);
    assert.ok(evicted.length > 0 && evicted.every((p) => p === a || p === b), "dead connections dropped");
    const stats = router.peerStats();
    for (const p of [a, b]) assert.equal(stats[p]?.penalty ?? 0, 0, `${p} not penalised`);
  });

  it("gives lost providers the whole route wait to come back, counted from when the stage ran out of candidates (their hops took longer than the wait to fail)", async () => {
    const { router, calls } = routerWith(
      [a, b],
      {
        [a]: [new PipelineStreamClosedError("pipeline stream 6 closed")],
        [b]: [new PipelineStreamClosedError("pipeline stream 7 closed")],
      },
      {},
      { failAfterMs: 400, relistAfterMs: 150, routeWaitMs: 300 },
    );
    const res = await router.run("m", {}, { hashes: false });
    assert.ok([a, b].includes(res.stages[0].peerId));
    assert.equal(calls.length, 3, "both lost, then one of them again once listed");
    const stats = router.peerStats();
    for (const p of [a, b]) assert.equal(stats[p]?.penalty ?? 0, 0, `${p} not penalised`);
  });

  it("one provider losing its transport while another serves is charged (likely gone)", async () => {
    // a is far cheaper, so it is tried first.
    const { router, calls, evicted } = routerWith([a, b], { [a]: [new PipelineStreamClosedError("killed")] }, { [b]: 1_000_000n });
    const res = await router.run("m", {}, { hashes: false });
    assert.deepEqual(calls, [a, b]);
    assert.equal(res.stages[0].peerId, b);
    assert.ok(evicted.includes(a));
    assert.ok((router.peerStats()[a]?.penalty ?? 0) > 0, "a charged");
  });

  it("every stage-0 provider refusing the buyer's input is RouterInputRefusedError, and none is charged", async () => {
    const refuse = () => new PipelineRemoteError("InputMismatchError", "tensor x: 1000 bytes, dims need 61440");
    const { router, calls, evicted } = routerWith([a, b], { [a]: [refuse()], [b]: [refuse()] });
    await assert.rejects(router.run("m", {}, { hashes: false }), { name: "RouterInputRefusedError" });
    assert.equal(calls.length, 2);
    assert.deepEqual(evicted, []);
    const stats = router.peerStats();
    for (const p of [a, b]) assert.equal(stats[p]?.penalty ?? 0, 0, `${p} not penalised`);
  });
});
