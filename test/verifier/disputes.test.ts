// Issue 10 item 18 regressions: verification that is drawn must run, and run without waste. Real
// EVM (Hardhat, contracts deployed by scripts/lib through the contract tests' fixture), the
// PP-OCR direction classifier split in 2 stages and run in onnxruntime, stage providers serving
// their kept tensors over libp2p, and VerifierService instances on staked, registered accounts.
// Short dispute windows, a long challenge window (a first verdict comes while later challenges
// are still possible) and dense sampling (2 samples per 8-request receipt); provider p2 claims a
// wrong stage-1 output on every request.
// - Several wrong samples of one accused over two receipts: exactly one challenge; the rest are
//   covered by the upheld verdict (p2 faulted, all its collateral slashed); each verifier holds
//   one bond only and never errs; returned bonds and rewards are withdrawn by default.
// - A first verdict against the challenger (a silent committee): the other wrong sample is then
//   challenged; a bond the verifier cannot post is reported once and waits for tokens instead of
//   dropping the fraud (old code: attested and forgotten; VerifierInsufficientBondError on
//   every pass).
// - The challenger goes away after drawing the committee: of the two jurors whose passes run at
//   the same moments, one closes the round and one makes the verdict final — no call reverts
//   (old code: every party but the lead waited the same grace, so both sent each call).
// - The challenger goes away right after its challenge, before the committee exists: a verifier
//   that is no party draws it after the challenger's turn and the dispute runs to its verdict
//   (old code: only parties drove a dispute, so it stayed open, its receipt unsettled).
// - A receipt whose submitter never fixes its seed: the verifiers fix it once it is due (one
//   seed-fixed among three services; a drawSamples that found the seed fixed is not reported as
//   one), and the samples it draws are checked.
// - A cheater's sybil opens a baseless dispute over one of the cheater's honest leaves: the honest
//   verifier re-runs that leaf, finds it right, and challenges the real fraud at once instead of
//   waiting for the sybil's dispute (which would outlast the fraud's challenge window).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { isAddressEqual, parseEther, toHex } from "viem";
import type { Address } from "viem";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import type { MeshNode } from "../../node/src/mesh/node.ts";
import { ModelCatalog } from "../../node/src/verifier/models.ts";
import type { VerifierEvent } from "../../node/src/verifier/service.ts";
import type { VerifierService } from "../../node/src/verifier/service.ts";
import { ROLE, addr, as, devAccount, fixtureWith, networkHelpers, openJob, publicClient } from "../contracts/helpers.ts";
import type { Fixture, OpenedJob } from "../contracts/helpers.ts";
import { STATUS, bondOf } from "../contracts/disputes-helpers.ts";
import { buildRealReceipt, hashOf, serveRequest, splitCls, startStageProvider, swapped } from "./fixture.ts";
import type { Served, StageProvider } from "./fixture.ts";
import { drawnVerifiers, eventsOf, revealSamples, submitAndReveal, submitReceipt, tickUntil, verifierOn } from "./market.ts";

const VERIFIERS = [ROLE.v1, ROLE.v2, ROLE.v3];
/** Dense sampling: k = ceil(8 × 0.25) = 2 samples per 8-request receipt. */
const RATE_PPM = 250_000;
const PER_RECEIPT = 8;
/** Dispute windows short, the challenge window long enough for a second challenge after a verdict. */
const WINDOWS = { reveal: 600, challenge: 3_600, handOff: 300, answer: 60, commit: 60, voteReveal: 60, appeal: 60 };
const CREDIT_BOND_AWARD = 6;

let f: Fixture;
let served: Served;
let catalog: ModelCatalog;
const providers: StageProvider[] = [];
const nodes = new Map<number, MeshNode>();
const running: VerifierService[] = [];

/** A verifier service on `who` (its own libp2p node, dialled to both providers). */
function service(who: number, events: VerifierEvent[], over: Parameters<typeof verifierOn>[5] = {}): VerifierService {
  const s = verifierOn(f, who, nodes.get(who)!, catalog, events, over);
  running.push(s);
  return s;
}

/** Opens a job on p1 (stage 0, honest) and p2 (stage 1, claims a swapped output on every request
 *  from `honestBelow` on: 0 by default, every request). */
async function cheatingJob(honestBelow = 0): Promise<OpenedJob> {
  const job = await openJob(
    f,
    [
      [0, ROLE.p1],
      [1, ROLE.p2],
    ],
    100,
  );
  const jobId = job.jobId.toString();
  const [p1, p2] = providers;
  for (let index = 0; index < 2 * PER_RECEIPT; index++) {
    const claimed = index < honestBelow ? served.output : swapped(served.output);
    const s0 = { jobId, index, modelId: "1", inputHash: hashOf(served.input), peerId: "gateway" };
    p1.trace.record({ ...s0, stage: 0, outputHash: hashOf(served.hop) }, { input: served.input, output: served.hop });
    p2.trace.record(
      { jobId, index, modelId: "1", stage: 1, inputHash: hashOf(served.hop), outputHash: hashOf(claimed), peerId: "p1" },
      { input: served.hop, output: claimed },
    );
  }
  return job;
}

/** The job's next receipt of PER_RECEIPT requests, submitted, sampled and revealed (`o.unseeded`:
 *  submitted only, its seed left for the verifiers, then revealed once they fixed it). */
async function nextReceipt(job: OpenedJob, o: { unseeded?: (receiptId: bigint) => Promise<void>; honest?: boolean } = {}): Promise<bigint> {
  const claimed = o.honest ? served.output : swapped(served.output);
  const hops = [
    { stage: 0, provider: addr(ROLE.p1), signer: devAccount(ROLE.p1), input: served.input, output: served.hop },
    { stage: 1, provider: addr(ROLE.p2), signer: devAccount(ROLE.p2), input: served.hop, output: claimed },
  ];
  const r = await buildRealReceipt(
    f.domain,
    job.jobId,
    job.session,
    Array.from({ length: PER_RECEIPT }, () => hops),
    job.count,
  );
  job.count = r.count;
  if (!o.unseeded) return submitAndReveal(f, job, r);
  const receiptId = await submitReceipt(f, job, r);
  await o.unseeded(receiptId);
  await revealSamples(f, job, receiptId, r);
  return receiptId;
}

const balance = (a: Address) => f.token.read.balanceOf([a]);
const credits = (a: Address) => f.market.read.credits([a]);

/** Leaves `who` exactly `amount` tokens (the rest back to the admin). */
async function keepTokens(who: number, amount: bigint): Promise<void> {
  const b = await balance(addr(who));
  if (b > amount) await f.token.write.transfer([addr(ROLE.admin), b - amount], as(who));
  if (b < amount) await f.token.write.transfer([addr(who), amount - b], as(ROLE.admin));
}

async function setVerifiers(on: number[], off: number[]): Promise<void> {
  for (const who of off) if (await f.staking.read.isVerifier([addr(who)])) await f.staking.write.deregisterVerifier(as(who));
  for (const who of on) if (!(await f.staking.read.isVerifier([addr(who)]))) await f.staking.write.registerVerifier(as(who));
}

describe("verifier service: one dispute per accused, bonds, resolution turns (issue 10 item 18)", { timeout: 600_000 }, () => {
  before(async () => {
    f = await fixtureWith({ stages: 2, samplingRatePpm: RATE_PPM, protocol: WINDOWS })();
    const manifest = await splitCls();
    served = await serveRequest(manifest, 7);
    for (const who of [ROLE.p1, ROLE.p2]) {
      const p = await startStageProvider();
      providers.push(p);
      await f.staking.write.bindPeer([toHex(p.node.peerId.toMultihash().bytes), "test://provider"], as(who));
    }
    catalog = new ModelCatalog([{ modelId: "1", manifest }]);
    for (const who of VERIFIERS) {
      const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
      for (const p of providers) await node.dial(p.node.getMultiaddrs()[0]);
      nodes.set(who, node);
    }
    // Only the three verifier services' accounts are drawn (p1/p2 serve the jobs: never drawn).
    await setVerifiers([], [ROLE.p3, ROLE.p4]);
  });

  after(async () => {
    for (const s of running) await s.stop();
    await catalog?.close();
    for (const n of nodes.values()) await n.stop();
    for (const p of providers) await p.stop();
  });

  it("several wrong samples of one accused over two receipts: one challenge, the rest covered by its upheld verdict; one bond each is enough, and what comes back is withdrawn", async () => {
    const job = await cheatingJob();
    const bond = await bondOf(f, job.jobId, addr(ROLE.p2));
    for (const who of VERIFIERS) await keepTokens(who, bond); // each can post exactly one bond
    const events = new Map(VERIFIERS.map((who) => [who, [] as VerifierEvent[]]));
    const services = VERIFIERS.map((who) => service(who, events.get(who)!));
    const receipts = [await nextReceipt(job), await nextReceipt(job)];
    const drawn = [...(await drawnVerifiers(f, job.jobId, receipts[0])), ...(await drawnVerifiers(f, job.jobId, receipts[1]))];
    assert.equal(drawn.length, 4, "2 samples per receipt");
    const before = new Map(await Promise.all(VERIFIERS.map(async (w) => [w, await balance(addr(w))] as const)));
    const collateral = await f.market.read.collateralOf([job.jobId, addr(ROLE.p2)]);
    const disputesBefore = await f.disputes.read.disputeCount();

    const allAttested = async () => {
      for (const id of receipts)
        for (let j = 0; j < 2; j++) if (!(await f.spotCheck.read.sample([job.jobId, id, BigInt(j)])).attested) return false;
      return true;
    };
    await tickUntil(
      services,
      async () =>
        (await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)])) &&
        (await allAttested()) &&
        (await Promise.all(VERIFIERS.map((w) => credits(addr(w))))).every((c) => c === 0n),
      { what: "p2 faulted, every sample attested, every credit withdrawn" },
    );
    // One more pass: nothing left to challenge (the deferred wrong leaves are covered).
    for (const s of services) await s.tick();

    const challenged = eventsOf(events.values(), "challenged");
    assert.equal(challenged.length, 1, "exactly one challenge for four wrong samples of one accused");
    assert.equal(await f.disputes.read.disputeCount(), disputesBefore + 1n);
    const d = await f.disputes.read.dispute([disputesBefore]);
    assert.equal(d.status, STATUS.Upheld);
    assert.ok(isAddressEqual(d.accused, addr(ROLE.p2)));
    assert.equal(await f.market.read.collateralOf([job.jobId, addr(ROLE.p2)]), 0n, "all of p2's collateral in the job slashed");
    // Every wrong sample was checked by the verifier drawn for it and found wrong.
    const mismatches = eventsOf(events.values(), "checked").filter((e) => e.stage === 1 && e.check.outcome === "mismatch");
    for (const [n, v] of drawn.entries()) {
      const [receiptId, sampleNo] = [receipts[n >> 1].toString(), n & 1];
      assert.ok(
        mismatches.some((e) => e.receiptId === receiptId && e.sampleNo === sampleNo && e.reason === "assigned"),
        `sample ${sampleNo} of receipt ${receiptId} checked by its verifier ${v}`,
      );
    }
    assert.deepEqual(
      eventsOf(events.values(), "error").map((e) => `${e.name}: ${e.what}`),
      [],
      "no verifier erred (no VerifierInsufficientBondError, no reverted call)",
    );
    // Withdrawn by default: the challenger holds its bond back plus σ of the slash, every juror its reward.
    const p = await f.params.read.paramsAt([1n]);
    const challenger = VERIFIERS.find((w) => isAddressEqual(addr(w), d.challenger))!;
    const sigma = (collateral * BigInt(p.challengerShareBps)) / 10_000n;
    assert.equal((await balance(d.challenger)) - before.get(challenger)!, sigma, "bond back + σ, in the wallet");
    const award = await f.market.getEvents.Credited({ account: d.challenger }, { fromBlock: 0n });
    assert.equal(
      award.filter((l) => l.args.kind === CREDIT_BOND_AWARD && l.args.jobId === job.jobId).reduce((a, l) => a + l.args.amount!, 0n),
      bond + sigma,
    );
    const [jurors] = await f.disputes.read.committee([disputesBefore, 0n]);
    for (const j of jurors) {
      const who = VERIFIERS.find((w) => isAddressEqual(addr(w), j))!;
      assert.ok((await balance(j)) > before.get(who)!, `juror ${j} withdrew its reward`);
    }
    for (const w of VERIFIERS) assert.equal(await credits(addr(w)), 0n, "nothing left in the market");
    for (const s of services) await s.stop();
  });

  it("a first verdict against the challenger: the other wrong sample is challenged then; a missing bond is reported once and waits for tokens", async () => {
    // Only v1 is drawn for the samples; then p3 and p4, which run no verifier, register: the
    // committee comes from them.
    await setVerifiers([], [ROLE.v2, ROLE.v3]);
    const job = await cheatingJob();
    const bond = await bondOf(f, job.jobId, addr(ROLE.p2));
    await keepTokens(ROLE.v1, bond);
    const events: VerifierEvent[] = [];
    const v1 = service(ROLE.v1, events, { appeal: false });
    const receiptId = await nextReceipt(job);
    assert.deepEqual(await drawnVerifiers(f, job.jobId, receiptId), [addr(ROLE.v1), addr(ROLE.v1)]);
    await setVerifiers([ROLE.p3, ROLE.p4], []);
    const first = await f.disputes.read.disputeCount();

    await tickUntil([v1], async () => (await f.disputes.read.disputeCount()) > first, { what: "first challenge" });
    for (let j = 0; j < 2; j++)
      assert.equal((await f.spotCheck.read.sample([job.jobId, receiptId, BigInt(j)])).attested, true, "both samples attested at once");
    assert.equal(eventsOf([events], "challenged").length, 1, "one dispute against p2 at a time");
    // The silent committee: no vote, so the verdict goes against the challenger (its bond is lost).
    await tickUntil([v1], async () => (await f.disputes.read.dispute([first])).status === STATUS.Rejected, {
      what: "first dispute rejected",
    });
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), false);
    // The seats went to registered jurors that did not vote: each lost its seats' deposits.
    const [silent, seats] = await f.disputes.read.committee([first, 0n]);
    assert.ok(silent.length > 0);
    const { jurorDeposit } = await f.params.read.paramsAt([1n]);
    for (const [i, j] of silent.entries()) {
      const slashed = await f.staking.getEvents.Slashed({ provider: j, jobId: job.jobId }, { fromBlock: 0n });
      assert.equal(
        slashed.reduce((a, l) => a + l.args.amount!, 0n),
        BigInt(seats[i]) * jurorDeposit,
        `silent juror ${j}`,
      );
    }
    // The other wrong sample is due now, but v1 has no bond left: reported once, kept, not dropped.
    for (let i = 0; i < 4; i++) {
      await v1.tick();
      await networkHelpers.time.increase(20);
    }
    assert.equal(await balance(addr(ROLE.v1)), 0n);
    assert.deepEqual(
      eventsOf([events], "error").map((e) => e.name),
      ["VerifierInsufficientBondError"],
      "one report, not one per pass",
    );
    assert.equal(await f.disputes.read.disputeCount(), first + 1n);

    // Tokens arrive; an honest committee (v2, v3 running) this time.
    await f.token.write.transfer([addr(ROLE.v1), bond], as(ROLE.admin));
    await setVerifiers([ROLE.v2, ROLE.v3], [ROLE.p3, ROLE.p4]);
    const juryEvents: VerifierEvent[] = [];
    const jury = [service(ROLE.v2, juryEvents), service(ROLE.v3, juryEvents)];
    await tickUntil([v1, ...jury], async () => (await f.disputes.read.disputeCount()) > first + 1n, { what: "second challenge" });
    const challenged = eventsOf([events], "challenged");
    assert.equal(challenged.length, 2);
    assert.deepEqual(challenged.map((c) => c.sampleNo).sort(), [0, 1], "each wrong sample challenged once");
    await tickUntil([v1, ...jury], () => f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), { what: "p2 faulted" });
    assert.equal((await f.disputes.read.dispute([first + 1n])).status, STATUS.Upheld);
    assert.equal(eventsOf([events], "error").length, 1, "no other error");
    assert.deepEqual(eventsOf([juryEvents], "error"), []);
    for (const s of [v1, ...jury]) await s.stop();
  });

  it("several verifier services drive one dispute side by side with the challenger gone: each step is sent once, no call reverts", async () => {
    await setVerifiers([ROLE.v1, ROLE.v2, ROLE.v3], [ROLE.p3, ROLE.p4]);
    for (const who of VERIFIERS) await keepTokens(who, parseEther("100"));
    const job = await cheatingJob();
    const events = new Map(VERIFIERS.map((who) => [who, [] as VerifierEvent[]]));
    const services = new Map(VERIFIERS.map((who) => [who, service(who, events.get(who)!)]));
    const id = await f.disputes.read.disputeCount();
    await nextReceipt(job);
    // Passes one after another until the challenger drew the committee.
    const drawn = async () => (await f.disputes.read.disputeCount()) > id && (await f.disputes.read.dispute([id])).phaseStart !== 0;
    await tickUntil([...services.values()], drawn, { what: "committee drawn" });
    const d = await f.disputes.read.dispute([id]);
    const challenger = VERIFIERS.find((w) => isAddressEqual(addr(w), d.challenger))!;
    await services.get(challenger)!.stop(); // the lead goes away
    // The jurors' passes run at the same moments (two processes polling one chain); chain time
    // passes 10 s between them.
    const live = VERIFIERS.filter((w) => w !== challenger).map((w) => services.get(w)!);
    let steps = 0;
    while ((await f.disputes.read.dispute([id])).status !== STATUS.Upheld) {
      assert.ok(steps++ < 200, "the dispute was resolved without its challenger");
      await Promise.all(live.map((s) => s.tick()));
      await networkHelpers.time.increase(10);
    }
    await Promise.all(live.map((s) => s.tick())); // claims and withdrawals
    const all = [...events.values()];
    assert.equal(eventsOf(all, "round-closed").length, 1, "the round closed by one juror");
    assert.equal(eventsOf(all, "resolved").length, 1, "the verdict made final by one juror");
    assert.deepEqual(
      eventsOf(all, "error").map((e) => `${e.name}: ${e.what}: ${e.message}`),
      [],
      `no reverted call: ${JSON.stringify(
        [...events].map(([w, es]) => [
          w,
          es.filter((e) => e.event !== "checked").map((e) => ("what" in e ? `${e.event}:${e.what}` : e.event)),
        ]),
      )}`,
    );
  });

  it("a challenger gone before drawing the committee: a verifier that is no party draws it after the parties' turn, and the dispute resolves", async () => {
    await setVerifiers([ROLE.v1, ROLE.v2, ROLE.v3], [ROLE.p3, ROLE.p4]);
    const job = await cheatingJob();
    const events = new Map(VERIFIERS.map((who) => [who, [] as VerifierEvent[]]));
    const services = new Map(VERIFIERS.map((who) => [who, service(who, events.get(who)!)]));
    const id = await f.disputes.read.disputeCount();
    await nextReceipt(job);
    await tickUntil([...services.values()], async () => (await f.disputes.read.disputeCount()) > id, { what: "challenge" });
    const d = await f.disputes.read.dispute([id]);
    assert.equal(d.phaseStart, 0, "no committee yet");
    const challenger = VERIFIERS.find((w) => isAddressEqual(addr(w), d.challenger))!;
    await services.get(challenger)!.stop(); // gone before the draw: the only party there is
    const others = VERIFIERS.filter((w) => w !== challenger);
    await tickUntil(
      others.map((w) => services.get(w)!),
      async () => (await f.disputes.read.dispute([id])).status === STATUS.Upheld,
      { what: "dispute upheld without its challenger" },
    );
    const draws = others.flatMap((w) => events.get(w)!.filter((e) => e.event === "committee-drawn"));
    assert.equal(draws.length, 1, "drawn once, by a verifier that was no party then");
    assert.equal(await f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), true);
    assert.deepEqual(
      eventsOf(events.values(), "error").map((e) => `${e.name}: ${e.what}`),
      [],
    );
  });

  it("a receipt whose submitter leaves its seed alone: a running verifier fixes it once due (once among several), and the drawn verifier checks the samples", async () => {
    await setVerifiers([ROLE.v1, ROLE.v2, ROLE.v3], [ROLE.p3, ROLE.p4]);
    const job = await cheatingJob();
    const events = new Map(VERIFIERS.map((who) => [who, [] as VerifierEvent[]]));
    const services = VERIFIERS.map((who) => service(who, events.get(who)!));
    const receiptId = await nextReceipt(job, {
      unseeded: async (id) => {
        const submitted = await f.market.read.receipt([job.jobId, id]);
        assert.equal((await f.spotCheck.read.receiptCheck([job.jobId, id])).seededAt, 0);
        await tickUntil(services, async () => (await f.spotCheck.read.receiptCheck([job.jobId, id])).seededAt !== 0, {
          stepSeconds: 1,
          what: "seed fixed",
        });
        // The submitter's turn first: due from submission + 2 blocks, verifiers 2 blocks later.
        assert.ok((await publicClient.getBlockNumber()) >= BigInt(submitted.submittedBlock) + 4n);
      },
    });
    const fixed = eventsOf(events.values(), "seed-fixed");
    assert.deepEqual(
      fixed.map((e) => [e.jobId, e.receiptId]),
      [[job.jobId.toString(), receiptId.toString()]],
      "fixed once",
    );
    await tickUntil(services, () => f.market.read.isFaulted([job.jobId, addr(ROLE.p2)]), { what: "p2 faulted" });
    assert.equal(eventsOf(events.values(), "challenged").length, 1);
    assert.deepEqual(eventsOf(events.values(), "error"), []);
    for (const s of services) await s.stop();
  });

  it("a baseless dispute against the cheater (its sybil challenging an honest leaf) does not hold back the honest verifier's challenge of a real fraud", async () => {
    // v1 is the only running verifier drawn; p4 plays the cheater's sybil.
    await setVerifiers([], [ROLE.v2, ROLE.v3, ROLE.p3, ROLE.p4]);
    const job = await cheatingJob(PER_RECEIPT); // p2 honest on the first receipt, lying on the second
    const events: VerifierEvent[] = [];
    const v1 = service(ROLE.v1, events);
    const honest = await nextReceipt(job, { honest: true });
    await setVerifiers([ROLE.p4], []);
    await f.token.write.approve([f.market.address, parseEther("1000")], as(ROLE.p4));
    await f.token.write.transfer([addr(ROLE.p4), parseEther("1000")], as(ROLE.admin));
    const bogus = await f.disputes.read.disputeCount();
    await f.disputes.write.challenge([job.jobId, honest, 0n, 1n], as(ROLE.p4));
    await setVerifiers([], [ROLE.p4]);
    const fraud = await nextReceipt(job);
    assert.deepEqual(await drawnVerifiers(f, job.jobId, fraud), [addr(ROLE.v1), addr(ROLE.v1)]);
    await v1.tick();
    const challenged = eventsOf([events], "challenged");
    assert.equal(challenged.length, 1, "challenged in its first pass, the sybil's dispute still open");
    assert.equal(challenged[0].receiptId, fraud.toString());
    assert.equal((await f.disputes.read.dispute([bogus])).status, STATUS.Open);
    const spot = eventsOf([events], "checked").filter((e) => e.reason === "spot");
    assert.deepEqual(
      spot.map((e) => [e.receiptId, e.sampleNo, e.stage, e.check.outcome]),
      [[honest.toString(), 0, 1, "match"]],
      "it re-ran the disputed leaf and found it right",
    );
    assert.deepEqual(eventsOf([events], "error"), []);
    await v1.stop();
  });
});
