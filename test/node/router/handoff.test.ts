// Hand-offs between the stages of a job request (issue 10 item 1, end to end in the node): the
// provider of stage s < S−1 signs HandOff(job, index, s+1, bagHash(output sent)) with its staking
// key; the gateway's router checks it over the bytes it received, by the address the provider is
// listed under, fails over otherwise (RouterHandOffError, that provider penalised) and forwards
// it; the provider of stage s+1 works only on a request carrying such a signature by a provider
// quoted for stage s over the input it received, and keeps it in its trace row. Real providers
// (PipelineServer) over real libp2p on 127.0.0.1, real secp256k1 signatures. The old node signed
// nothing and served any job hop: a lying upstream got its honest downstream slashed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Address, Hex, TypedDataDomain } from "viem";
import { createMeshNode } from "../../../node/src/mesh/node.ts";
import type { MeshNode } from "../../../node/src/mesh/node.ts";
import type { Directory, StageProvider } from "../../../node/src/mesh/directory.ts";
import { PipelineServer, stageKey } from "../../../node/src/pipeline/server.ts";
import type { StageExecutor } from "../../../node/src/pipeline/server.ts";
import { PipelineClient } from "../../../node/src/pipeline/client.ts";
import { HandOffs, handOffSigner, signHandOffFor } from "../../../node/src/pipeline/handoff.ts";
import { Router } from "../../../node/src/router/router.ts";
import { JobRequestCheck } from "../../../node/src/pipeline/jobrequest.ts";
import { signJobRequest } from "../../../node/src/receipts/eip712.ts";
import { shardMeshDomain } from "../../../node/src/receipts/eip712.ts";
import { TraceStore } from "../../../node/src/trace/store.ts";
import { bagHash } from "../../../node/src/tensor/index.ts";
import type { WireBag } from "../../../node/src/tensor/index.ts";

const domain: TypedDataDomain = shardMeshDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
const JOB = "7";
const bag = (fill: number): WireBag => ({ x: { dtype: 2, dims: [1, 8], data: new Uint8Array(8).fill(fill) } });
/** Every stage adds 1 to every byte. */
const plusOne: StageExecutor = { run: async (b) => ({ x: { ...b.x, data: b.x.data.map((v) => v + 1) } }) };

interface Member {
  node: MeshNode;
  server: PipelineServer;
  trace: TraceStore;
  account: ReturnType<typeof privateKeyToAccount>;
}

describe("hand-offs between the stages of a job request", { timeout: 60_000 }, () => {
  const members: Member[] = [];
  let gateway: MeshNode;
  let client: PipelineClient;
  /** Quoted providers per stage of JOB (what the chain's QuoteAccepted events say). */
  const quoted = new Map<number, Set<Address>>();

  /** A provider of `stage` of model "m" (2 stages) with its own staking key (`signer` overrides it). */
  async function provider(
    stage: number,
    opts: { signer?: ReturnType<typeof privateKeyToAccount>; quoted?: (stage: number) => Set<Address>; jobRequests?: JobRequestCheck } = {},
  ): Promise<Member> {
    const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    const account = privateKeyToAccount(generatePrivateKey());
    const trace = new TraceStore({ path: ":memory:" });
    const handOffs = new HandOffs({
      domain,
      signer: opts.signer ?? account,
      quoted: async (jobId, s) => (jobId !== JOB ? new Set() : opts.quoted ? opts.quoted(s) : (quoted.get(s) ?? new Set())),
      stageCount: (modelId) => (modelId === "m" ? 2 : undefined),
    });
    const server = new PipelineServer(node, {
      stages: new Map([[stageKey("m", stage), plusOne]]),
      trace,
      handOffs,
      jobRequests: opts.jobRequests,
      dataPlane: false,
    });
    await server.start();
    await gateway.dial(node.getMultiaddrs()[0]);
    const m = { node, server, trace, account };
    members.push(m);
    return m;
  }

  /** A router over `stages` (peer lists per stage), listing each under its staking address. */
  function router(stages: Member[][], listedAs?: Map<Member, Address>) {
    const entry = (m: Member): StageProvider => ({
      peerId: m.node.peerId.toString(),
      stakingAddress: listedAs?.get(m) ?? m.account.address,
      price: 1n,
      load: 0,
      capacity: 4,
      latencyMs: 1,
    });
    const directory = {
      stageCount: () => stages.length,
      providers: (_m: string, stage: number) => stages[stage].map(entry),
      has: () => true,
      evict: () => {},
    } as unknown as Directory;
    return new Router(directory, client, { handOffDomain: domain, random: () => 0 });
  }

  before(async () => {
    gateway = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    client = new PipelineClient(gateway, { dataPlane: false });
  });

  after(async () => {
    client.close();
    for (const m of members) {
      await m.server.stop();
      await m.node.stop();
      m.trace.close();
    }
    await gateway.stop();
  });

  it("stage 0 signs its output's hand-off, the router checks and forwards it, stage 1 keeps it in its trace row", async () => {
    const a = await provider(0);
    const b = await provider(1);
    quoted.set(0, new Set([a.account.address]));
    quoted.set(1, new Set([b.account.address]));
    const r = await router([[a], [b]]).run("m", bag(5), { jobId: JOB, index: 3 });
    assert.deepEqual(r.output.x.data, bag(7).x.data);
    const row = b.trace.get(JOB, 3, 1)!;
    assert.equal(row.inputHash, bagHash(bag(6)));
    assert.ok(row.handOff, "stage 1 keeps the upstream's hand-off");
    const signer = await handOffSigner(domain, { jobId: JOB, index: 3, boundary: 1, hash: row.inputHash }, row.handOff);
    assert.equal(signer, a.account.address);
    assert.equal(row.handOffSigner, a.account.address, "and who signed it (the route must name it at stage 0)");
    assert.equal(a.trace.get(JOB, 3, 0)!.handOff, undefined, "stage 0 has no upstream");
  });

  it("fails over from a stage-0 provider whose hand-off is not signed by the address it is listed under (RouterHandOffError, penalised)", async () => {
    const stranger = privateKeyToAccount(generatePrivateKey());
    const liar = await provider(0, { signer: stranger });
    const honest = await provider(0);
    const b = await provider(1);
    quoted.set(0, new Set([liar.account.address, honest.account.address, stranger.address]));
    quoted.set(1, new Set([b.account.address]));
    const rt = router([[liar, honest], [b]]);
    const r = await rt.run("m", bag(1), { jobId: JOB, index: 4 });
    assert.equal(r.stages[0].peerId, honest.node.peerId.toString());
    const stats = rt.peerStats()[liar.node.peerId.toString()];
    assert.equal(stats.failed, 1);
    assert.ok(stats.penalty > 0);
    // With only the liar at stage 0 the request fails by name; stage 1 never saw its bytes.
    await assert.rejects(router([[liar], [b]]).run("m", bag(1), { jobId: JOB, index: 6 }), (err: Error) => {
      assert.equal(err.name, "RouterNoProviderError");
      assert.match(err.message, /RouterHandOffError/);
      return true;
    });
    assert.equal(b.trace.get(JOB, 6, 1), undefined);
  });

  it("a provider beyond stage 0 refuses a job hop without a valid upstream hand-off, by name, and traces nothing", async () => {
    const a = await provider(0);
    const b = await provider(1);
    const outsider = privateKeyToAccount(generatePrivateKey());
    quoted.set(0, new Set([a.account.address]));
    quoted.set(1, new Set([b.account.address]));
    const input = bag(9);
    const hash = bagHash(input);
    const hop = (upstreamHandOff?: Hex, index = 20) =>
      client.call(b.node.peerId, { modelId: "m", stage: 1, bag: input, jobId: JOB, index, upstreamHandOff });
    const refused = async (p: Promise<unknown>, name: string) =>
      assert.rejects(p, (err: Error & { remoteName?: string }) => {
        assert.equal(err.remoteName, name);
        return true;
      });
    await refused(hop(), "PipelineHandOffMissingError");
    // Signed by someone the job did not quote for stage 0.
    await refused(hop(await signHandOffFor(outsider, domain, { jobId: JOB, index: 20, boundary: 1, hash })), "PipelineHandOffInvalidError");
    // By the quoted upstream, but over other bytes, another request or another job.
    for (const claim of [
      { jobId: JOB, index: 20, boundary: 1, hash: bagHash(bag(8)) },
      { jobId: JOB, index: 21, boundary: 1, hash },
      { jobId: "8", index: 20, boundary: 1, hash },
    ])
      await refused(hop(await signHandOffFor(a.account, domain, claim)), "PipelineHandOffInvalidError");
    await refused(hop("0x1234"), "PipelineHandOffInvalidError");
    assert.equal(b.trace.count(JOB), 0, "nothing traced for a refused hop");
    // The same hop with the quoted upstream's hand-off over these bytes is served and kept; the
    // last stage signs no hand-off of its own.
    const good = await signHandOffFor(a.account, domain, { jobId: JOB, index: 20, boundary: 1, hash });
    const res = await hop(good);
    assert.equal(res.handOff, undefined);
    assert.equal(b.trace.get(JOB, 20, 1)!.handOff, good);
  });

  it("a provider refusing a hand-off the router checked is charged only if another provider of its stage runs the request", async () => {
    const a = await provider(0);
    // A stage-1 provider whose view of the job quotes nobody for stage 0 (stale, or lying).
    const stale = await provider(1, { quoted: () => new Set() });
    const b = await provider(1);
    quoted.set(0, new Set([a.account.address]));
    quoted.set(1, new Set([stale.account.address, b.account.address]));
    const alone = router([[a], [stale]]);
    await assert.rejects(alone.run("m", bag(2), { jobId: JOB, index: 40 }), (err: Error) => {
      assert.equal(err.name, "RouterNoProviderError");
      assert.match(err.message, /PipelineHandOffInvalidError/);
      return true;
    });
    assert.equal(alone.peerStats()[stale.node.peerId.toString()].failed, 0, "not charged: nobody ran it");
    const both = router([[a], [stale, b]]);
    const r = await both.run("m", bag(2), { jobId: JOB, index: 41 });
    assert.equal(r.stages[1].peerId, b.node.peerId.toString());
    assert.equal(both.peerStats()[stale.node.peerId.toString()].failed, 1, "charged: another provider ran what it refused");
  });

  it("a stranger cannot take a job's future (index, stage) trace row: every stage works only on the buyer's signed request (issue 12)", async () => {
    const session = privateKeyToAccount(generatePrivateKey());
    const jobRequests = () => new JobRequestCheck({ domain, sessionKey: async (jobId) => (jobId === JOB ? session.address : undefined) });
    const a = await provider(0, { jobRequests: jobRequests() });
    const b = await provider(1, { jobRequests: jobRequests() });
    quoted.set(0, new Set([a.account.address]));
    quoted.set(1, new Set([b.account.address]));
    const buyerInput = bag(3);
    const requestHash = bagHash(buyerInput);
    const sign = (nonce: number, hash: Hex, key = session) =>
      signJobRequest(key, domain, { jobId: BigInt(JOB), nonce: BigInt(nonce), requestHash: hash });
    // The stranger sends stage 0 of request 50 (which the buyer has not sent yet) its own input.
    const junk = bag(0);
    const stranger = async (jobRequest?: { requestHash: Hex; signature: Hex }) =>
      assert.rejects(
        client.call(a.node.peerId, { modelId: "m", stage: 0, bag: junk, jobId: JOB, index: 50, jobRequest }),
        (err: Error & { remoteName?: string }) => {
          assert.match(err.remoteName ?? "", /^PipelineJobRequest(Missing|Invalid)Error$/);
          return true;
        },
      );
    await stranger();
    await stranger({ requestHash: bagHash(junk), signature: await sign(50, bagHash(junk), privateKeyToAccount(generatePrivateKey())) });
    // A signature the buyer made for another request (seen on the wire) does not move to index 50 or to other bytes.
    await stranger({ requestHash: bagHash(junk), signature: await sign(49, bagHash(junk)) });
    await stranger({ requestHash, signature: await sign(50, requestHash) });
    assert.equal(a.trace.get(JOB, 50, 0), undefined, "the row is still free");
    // The buyer's request 50 then runs through both stages (the old provider: TraceIndexTakenError).
    const r = await router([[a], [b]]).run("m", buyerInput, {
      jobId: JOB,
      index: 50,
      jobRequest: { requestHash, signature: await sign(50, requestHash) },
    });
    assert.deepEqual(r.output.x.data, bag(5).x.data);
    assert.equal(a.trace.get(JOB, 50, 0)!.inputHash, requestHash);
    assert.equal(b.trace.get(JOB, 50, 1)!.inputHash, bagHash(bag(4)));
  });
});
