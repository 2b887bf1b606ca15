// The verifier against a real EVM (Hardhat in-process network, contracts deployed by
// scripts/lib deployAll through the contract tests' fixture): the PP-OCR direction classifier
// split in 2 stages, two stage providers keeping their tensors in real trace stores and serving
// them over /shardmesh/tensor/1.0.0 from real libp2p nodes (peer ids bound on chain), and three
// staked verifiers, each a VerifierService with its own libp2p node.
// - An honest receipt: the drawn verifier fetches and re-executes both revealed leaves, finds them
//   within tolerance, challenges nothing; at settlement it is credited its verifier fee.
// - A provider claims a wrong stage-1 output: the drawn verifier detects it and challenges with
//   its bond; the committee (the other two) re-executes, commits and reveals fraud votes; the
//   dispute is upheld, the provider slashed, the challenger and the voters credited.
// - A provider that no longer holds a revealed tensor is challenged and slashed the same way.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isAddressEqual, toHex } from "viem";
import type { Address } from "viem";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import type { MeshNode } from "../../node/src/mesh/node.ts";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { ModelCatalog } from "../../node/src/verifier/models.ts";
import type { VerifierService } from "../../node/src/verifier/service.ts";
import type { VerifierEvent } from "../../node/src/verifier/service.ts";
import { ROLE, addr, devAccount, fixtureWith, networkHelpers, openJob, wallets } from "../contracts/helpers.ts";
import type { Fixture } from "../contracts/helpers.ts";
import { buildRealReceipt, hashOf, serveRequest, splitCls, startStageProvider, swapped } from "./fixture.ts";
import { verifierOn } from "./market.ts";
import type { Served, StageProvider } from "./fixture.ts";

const CREDIT = { VerifierFee: 2, BondAward: 6, CommitteeFee: 7 } as const;
const FAULT_COMMITTEE_VERDICT = 3;
const UPHELD = 3;
const VERIFIERS = [ROLE.v1, ROLE.v2, ROLE.v3];

let f: Fixture;
let manifest: string;
let served: Served;
let catalog: ModelCatalog;
const providers: StageProvider[] = [];
const verifierNodes: MeshNode[] = [];
const services: VerifierService[] = [];
const events = new Map<Address, VerifierEvent[]>();
let stateDir: string;

function newService(i: number, who: number): VerifierService {
  return verifierOn(f, who, verifierNodes[i], catalog, events.get(addr(who))!, {
    stateFile: join(stateDir, `verifier-${who}.json`),
    autoWithdraw: false,
  });
}

/** Stops a verifier and starts a new one from its state file (vote salts, progress). */
async function restart(a: Address): Promise<void> {
  const i = services.findIndex((s) => isAddressEqual(s.address, a));
  await services[i].stop();
  services[i] = newService(i, VERIFIERS[i]);
}

const tickAll = async () => {
  for (const s of services) await s.tick();
};
const serviceOf = (a: Address) => services.find((s) => isAddressEqual(s.address, a))!;

/** Opens a job, records what each stage provider kept, submits the receipt and reveals its sample. */
async function runJob(kind: "honest" | "wrong-output" | "tensors-gone") {
  const job = await openJob(
    f,
    [
      [0, ROLE.p1],
      [1, ROLE.p2],
      [0, ROLE.p3],
      [1, ROLE.p4],
    ],
    10,
  );
  const jobId = job.jobId.toString();
  const claimed = kind === "wrong-output" ? swapped(served.output) : served.output;
  const [p1, p2] = providers;
  // The providers traced the request as index 5 (earlier requests failed); the receipt numbers it 0.
  p1.trace.record(
    { jobId, index: 5, modelId: "1", stage: 0, inputHash: hashOf(served.input), outputHash: hashOf(served.hop), peerId: "gateway" },
    { input: served.input, output: served.hop },
  );
  p2.trace.record(
    {
      jobId,
      index: 5,
      modelId: "1",
      stage: 1,
      inputHash: hashOf(served.hop),
      outputHash: hashOf(claimed),
      peerId: p1.node.peerId.toString(),
    },
    kind === "tensors-gone" ? undefined : { input: served.hop, output: claimed },
  );
  const r = await buildRealReceipt(f.domain, job.jobId, job.session, [
    [
      { stage: 0, provider: addr(ROLE.p1), signer: devAccount(ROLE.p1), input: served.input, output: served.hop },
      { stage: 1, provider: addr(ROLE.p2), signer: devAccount(ROLE.p2), input: served.hop, output: claimed },
    ],
  ]);
  const p1Account = { account: wallets[ROLE.p1].account };
  await f.market.write.submitReceipt([job.jobId, r.count, r.count, r.outputRoot, r.sessionSignature, r.parts], p1Account);
  await networkHelpers.mine(1);
  await f.spotCheck.write.drawSamples([job.jobId, 0n], p1Account);
  assert.deepEqual(await f.spotCheck.read.sampleIndices([job.jobId, 0n]), [0n]);
  await f.spotCheck.write.revealBuyerLeaf([job.jobId, 0n, 0n, r.buyerTree.leaf(0), r.buyerTree.proof(0), r.route, r.records], p1Account);
  for (const stage of [0, 1]) {
    const partIndex = r.records.findIndex((p) => p.stage === stage);
    const tree = r.stageTrees.get(stage)!;
    await f.spotCheck.write.revealStageLeaf(
      [job.jobId, 0n, 0n, BigInt(partIndex), tree.leaf(0), tree.proof(0), r.route, r.records],
      p1Account,
    );
  }
  // Hand-offs are consistent (the lie is in the stage-1 computation itself), so the sample resolves.
  const sample = await f.spotCheck.read.sample([job.jobId, 0n, 0n]);
  assert.equal(sample.resolved, true);
  assert.ok(
    VERIFIERS.some((v) => isAddressEqual(addr(v), sample.verifier)),
    "a registered verifier who is not a provider of the job was drawn for the sample",
  );
  return { job, receipt: r, assigned: sample.verifier };
}

async function credited(account: Address, jobId: bigint, kind: number): Promise<bigint> {
  const logs = await f.market.getEvents.Credited({ account }, { fromBlock: 0n });
  return logs.filter((l) => l.args.jobId === jobId && l.args.kind === kind).reduce((s, l) => s + l.args.amount!, 0n);
}

/** Drives a challenged leaf through the committee: draw, commit, reveal, close, final, claims. */
async function runDispute(jobId: bigint, assigned: Address, o: { restartCommittee?: boolean } = {}) {
  const before = await f.disputes.read.disputeCount();
  await tickAll(); // the assigned verifier checks every stage, challenges the wrong one and attests
  assert.equal(await f.disputes.read.disputeCount(), before + 1n, "one dispute opened");
  assert.equal((await f.spotCheck.read.sample([jobId, 0n, 0n])).attested, true, "the drawn verifier attested its sample");
  const disputeId = before;
  const d = await f.disputes.read.dispute([disputeId]);
  assert.equal(d.jobId, jobId);
  assert.equal(d.stage, 1);
  assert.ok(isAddressEqual(d.accused, addr(ROLE.p2)));
  assert.ok(isAddressEqual(d.challenger, assigned));
  assert.deepEqual(await f.disputes.read.committee([disputeId, 0n]), [[], []], "no committee until a later block");
  await networkHelpers.mine(1);
  await tickAll(); // the challenger draws the committee
  const [members, seats] = await f.disputes.read.committee([disputeId, 0n]);
  assert.ok(members.length >= 1);
  assert.equal(
    seats.reduce((a, b) => a + b, 0),
    3,
  );
  for (const m of members) assert.ok(!isAddressEqual(m, assigned) && VERIFIERS.some((v) => isAddressEqual(addr(v), m)));

  await tickAll(); // committee members re-execute and commit
  const committed = await f.disputes.getEvents.VoteCommitted({ disputeId }, { fromBlock: 0n });
  assert.equal(committed.length, members.length);
  const p = await f.params.read.paramsAt([1n]);
  // A restarted member still reveals: its salt was on disk before its commitment was on chain.
  if (o.restartCommittee) for (const m of members) await restart(m);
  await networkHelpers.time.increase(p.commit + 1);
  await tickAll(); // reveal once the commit phase is over
  assert.equal((await f.disputes.read.dispute([disputeId])).votesFraud, 3);
  await networkHelpers.time.increase(p.voteReveal + 1);
  await tickAll(); // the challenger closes the round
  assert.equal((await f.disputes.read.dispute([disputeId])).status, 2, "appealable");
  await networkHelpers.time.increase(p.appeal + 1);
  await tickAll(); // the challenger makes it final
  const resolved = await f.disputes.read.dispute([disputeId]);
  assert.equal(resolved.status, UPHELD);
  await tickAll(); // the jurors claim their rewards
  const faults = await f.market.getEvents.ProviderFaulted({ jobId }, { fromBlock: 0n });
  assert.equal(faults.length, 1);
  assert.ok(isAddressEqual(faults[0].args.provider!, addr(ROLE.p2)));
  assert.equal(faults[0].args.reason, FAULT_COMMITTEE_VERDICT);
  assert.ok(faults[0].args.slashed! > 0n);
  assert.ok((await credited(assigned, jobId, CREDIT.BondAward)) > d.bond, "the challenger gets its bond back and its share of the slash");
  for (const m of members) assert.ok((await credited(m, jobId, CREDIT.CommitteeFee)) > 0n, "every coherent juror claims its reward");
  return { disputeId, members };
}

describe("verifier service against a local chain (real contracts, libp2p, onnxruntime)", { timeout: 180_000 }, () => {
  before(async () => {
    stateDir = mkdtempSync(join(tmpdir(), "shardmesh-verifier-state-"));
    f = await fixtureWith({ stages: 2 })();
    manifest = await splitCls();
    served = await serveRequest(manifest, 42);
    for (const who of [ROLE.p1, ROLE.p2]) {
      const p = await startStageProvider();
      providers.push(p);
      await f.staking.write.bindPeer([toHex(p.node.peerId.toMultihash().bytes), "test://provider"], { account: wallets[who].account });
    }
    catalog = new ModelCatalog([{ modelId: "1", manifest }]);
    for (const who of VERIFIERS) {
      const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
      verifierNodes.push(node);
      for (const p of providers) await node.dial(p.node.getMultiaddrs()[0]);
      events.set(addr(who), []);
      services.push(newService(services.length, who));
    }
  });

  after(async () => {
    for (const s of services) await s.stop();
    await catalog?.close();
    for (const n of verifierNodes) await n.stop();
    for (const p of providers) await p.stop();
    if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  });

  it("passes an honest provider's revealed leaves on re-execution; the drawn verifier earns its fee", async () => {
    const { job, receipt, assigned } = await runJob("honest");
    await tickAll();
    const mine = serviceOf(assigned).checks;
    assert.deepEqual(mine.map((c) => [c.task.stage, c.reason, c.check.outcome]).sort(), [
      [0, "assigned", "match"],
      [1, "assigned", "match"],
    ]);
    assert.equal(mine[0].check.maxAbsDiff, 0);
    for (const s of services) if (s !== serviceOf(assigned)) assert.equal(s.checks.length, 0, "no spot checks by default");
    assert.equal(await f.disputes.read.disputeCount(), 0n);
    assert.equal((await f.spotCheck.read.sample([job.jobId, 0n, 0n])).attested, true);

    // A verifier not drawn for this receipt spot-checks it at a 100% rate (from the chain's history).
    const other = services.find((s) => s !== serviceOf(assigned))!;
    const i = services.indexOf(other);
    const spot = verifierOn(f, VERIFIERS[i], verifierNodes[i], catalog, [], { spotCheckPpm: 1_000_000 });
    await spot.tick();
    assert.deepEqual(spot.checks.map((c) => [c.task.jobId, c.task.stage, c.reason, c.check.outcome]).sort(), [
      [job.jobId.toString(), 0, "spot", "match"],
      [job.jobId.toString(), 1, "spot", "match"],
    ]);
    await spot.stop();

    const w = await f.params.read.paramsAt([1n]);
    await networkHelpers.time.increase(w.reveal + w.challenge + 1);
    await f.market.write.settle([job.jobId, 0n, receipt.records], { account: wallets[ROLE.p1].account });
    assert.ok((await credited(assigned, job.jobId, CREDIT.VerifierFee)) > 0n);
  });

  it("detects a wrong stage output, challenges it, and the committee's commit-reveal vote slashes the provider", async () => {
    const stakeBefore = (await f.staking.read.stakeOf([addr(ROLE.p2)])).staked;
    const { job, assigned } = await runJob("wrong-output");
    const { members } = await runDispute(job.jobId, assigned);
    const first = serviceOf(assigned).checks.filter((c) => c.task.jobId === job.jobId.toString());
    assert.deepEqual(first.map((c) => [c.task.stage, c.check.outcome]).sort(), [
      [0, "match"],
      [1, "mismatch"],
    ]);
    assert.ok(first.find((c) => c.task.stage === 1)!.check.maxAbsDiff! > 0.0001);
    for (const m of members) {
      const votes = serviceOf(m).checks.filter((c) => c.reason === "committee" && c.task.jobId === job.jobId.toString());
      assert.deepEqual(
        votes.map((c) => c.check.outcome),
        ["mismatch"],
      );
      assert.ok(events.get(m)!.some((e) => e.event === "vote-revealed" && e.fraud));
    }
    assert.ok((await f.staking.read.stakeOf([addr(ROLE.p2)])).staked < stakeBefore, "the provider's stake was slashed");
    // Credits are pulled by their owners.
    const amount = await serviceOf(members[0]).withdraw();
    assert.ok(amount > 0n);
    assert.equal(await f.market.read.credits([members[0]]), 0n);
  });

  it("treats a provider that cannot deliver a revealed tensor as a cheat (TensorNotFoundError → challenged and slashed; committee restarted mid-vote)", async () => {
    const { job, assigned } = await runJob("tensors-gone");
    const { members } = await runDispute(job.jobId, assigned, { restartCommittee: true });
    for (const m of members)
      assert.ok(
        events.get(m)!.some((e) => e.event === "vote-revealed" && e.disputeId === "1"),
        "revealed by the restarted member",
      );
    const mine = serviceOf(assigned).checks.filter((c) => c.task.jobId === job.jobId.toString());
    const stage1 = mine.find((c) => c.task.stage === 1)!;
    assert.equal(stage1.check.outcome, "unavailable");
    assert.match(stage1.check.detail, /TensorNotFoundError/);
  });
});
