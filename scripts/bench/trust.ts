// `npm run bench -- trust [--trials N] [--budget-min M]`: an adversarial market on the real
// contracts (Hardhat's in-process EVM, the default ProtocolParams of a fresh deployment, the demo
// model's price and 1 % sampling) → bench/results/trust.json.
//
// Real: the contracts and every dispute path (SpotCheck samples and reveals, attestations,
// challenges, committees with commit-reveal votes, missing-reveal reports, settlement); the
// PP-OCRv4 recogniser split into 2 stages run by onnxruntime (node/src/inference StageRunner) for
// providers, verifiers and jurors; bag hashes (node/src/tensor), receipts, trees and EIP-712
// signatures (node/src/receipts); the verifier's ModelCatalog and verifyStage. In-process instead
// of processes (said in the result): providers, gateway, buyer and verifiers are functions of
// this script acting by the protocol's rules (no libp2p, no provider/verifier process), so that
// hundreds of receipts fit in minutes; request tensors come from a pool of rendered text lines.
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { parseEventLogs } from "viem";
import type { Hex } from "viem";
import { disputesAbi, jobMarketAbi } from "../../node/src/generated/abis.ts";
import { DEFAULT_PROTOCOL_PARAMS, DEMO_MODEL } from "../../node/src/chain/params.ts";
import { loadManifest } from "../../node/src/inference/manifest.ts";
import { StageRunner } from "../../node/src/inference/runner.ts";
import { verifyStage } from "../../node/src/inference/verify.ts";
import { decodeImage, renderText } from "../../node/src/ocr/image.ts";
import { recPreprocess } from "../../node/src/ocr/rec.ts";
import { bagHash, fromWireBag, toWireBag } from "../../node/src/tensor/index.ts";
import { Router } from "../../node/src/router/router.ts";
import type { Directory } from "../../node/src/mesh/directory.ts";
import type { PipelineClient } from "../../node/src/pipeline/client.ts";
import type { Hop } from "../../node/src/pipeline/hop.ts";
import { signHandOffFor } from "../../node/src/pipeline/handoff.ts";
import { signHandOff } from "../../node/src/receipts/eip712.ts";
import type { Tensor, TensorBag } from "../../node/src/tensor/index.ts";
import { ModelCatalog } from "../../node/src/verifier/models.ts";
import { detection, samplesOf } from "../../node/src/trust/economics.ts";
import { writeBenchResult } from "../lib/bench.ts";
import { buildContracts } from "../lib/build.ts";
import { splitRecogniser } from "../demo/market.ts";

const args = process.argv.slice(2);
if (args.includes("--help")) {
  console.log(`usage: npm run bench -- trust [--trials N] [--budget-min M] [--quick]
  --trials N      trials (jobs run until the cheater is slashed) per cheat configuration at f < 1 (default 10)
  --budget-min M  stop starting new trials after M minutes (default 25); the result says what ran
  --quick         2 trials, 1 variant per stage (a smoke run; not written to bench/results)`);
  process.exit(0);
}
const flag = (name: string, def: number) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const QUICK = args.includes("--quick");
const TRIALS = QUICK ? 2 : flag("--trials", 10);
const BUDGET_MS = flag("--budget-min", 25) * 60_000;
/** Requests per receipt: k = ⌈400 × 1 %⌉ = 4 samples (the issue's measured k). */
const RECEIPT = 400;
/** Receipts per trial before it is counted as never caught. */
const MAX_RECEIPTS = 40;
const POOL = 6;
const NOISE = 1e-3;

await buildContracts();
const H = await import("../../test/contracts/helpers.ts");
const { ROLE, addr, as, roleOf, publicClient, networkHelpers: net } = H;
type Fixture = Awaited<ReturnType<typeof H.deployFixture>>;
type OpenedJob = Awaited<ReturnType<typeof H.openJob>>;
type Built = Awaited<ReturnType<typeof H.buildReceipt>>;

const started = Date.now();
const log = (m: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0)} s] ${m}`);

// ---- model, runners, pool -----------------------------------------------------------------
const model = await splitRecogniser(join(tmpdir(), "shardmesh-e2e-cache", "rec-2"), log);
const lm = await loadManifest(model.manifestPath);
const tolerance = lm.manifest.runtime.tolerance;
const providerRunners = {
  1: await Promise.all([0, 1].map((s) => StageRunner.fromManifest(lm, s, { intraOpThreads: 1, label: `provider ${s} ×1` }))),
  2: await Promise.all([0, 1].map((s) => StageRunner.fromManifest(lm, s, { intraOpThreads: 2, label: `provider ${s} ×2` }))),
};
const catalog = new ModelCatalog([{ modelId: "1", manifest: model.manifestPath }]);
const verifierRunners = await Promise.all([0, 1].map((s) => catalog.runner("1", s)));

/** bagHash of a bag object, computed once (the pool's bags recur in every receipt). */
const hashes = new WeakMap<TensorBag, Hex>();
function hashOf(bag: TensorBag): Hex {
  let h = hashes.get(bag);
  if (!h) {
    h = bagHash(bag);
    hashes.set(bag, h);
  }
  return h;
}
/** What providers kept: bag by hash (a verifier's tensor fetch; absent = unavailable). */
const kept = new Map<Hex, TensorBag>();
function keep(bag: TensorBag): Hex {
  const h = hashOf(bag);
  kept.set(h, bag);
  return h;
}
const LINES = ["ShardMesh 42", "hello world", "idle machines", "spot checks", "0.001 SHARD", "stake weighted"];
const pool: TensorBag[] = [];
for (const line of LINES.slice(0, POOL)) {
  const x = recPreprocess(await decodeImage(await renderText([line], { fontSize: 40 })));
  pool.push({ x: x as Tensor });
}
const runCache = new Map<string, TensorBag>();
let inferenceRuns = 0;
async function run(threads: 1 | 2, stage: number, input: TensorBag): Promise<TensorBag> {
  const key = `${threads}:${stage}:${hashOf(input)}`;
  let out = runCache.get(key);
  if (!out) {
    out = await providerRunners[threads][stage].run(input);
    inferenceRuns++;
    runCache.set(key, out);
  }
  return out;
}
const mapBag = (bag: TensorBag, fn: (v: number, i: number) => number): TensorBag =>
  Object.fromEntries(
    Object.entries(bag).map(([n, t]) => [n, { dtype: t.dtype, dims: t.dims, data: Float32Array.from(t.data as Float32Array, fn) }]),
  );

type Variant = "zeros" | "stale" | "noise";
/**
 * "signed-zeros": stage 0 sends zeros and signs its HandOff over what it sent (so the gateway and
 * the next hop accept the hop), but records and reveals the honest output's hash: a broken
 * hand-off that the chain settles by the HandOff the downstream kept (issue 10 item 1).
 */
type CheatVariant = Variant | "withhold" | "signed-zeros";
const fakes = new Map<string, TensorBag>();
/** The fake a cheater sends instead of `honest` (the same object for the same request content). */
async function fakeOutput(variant: CheatVariant, threads: 1 | 2, stage: number, j: number, honest: TensorBag): Promise<TensorBag> {
  const key = `${variant}:${hashOf(honest)}:${j}`;
  let out = fakes.get(key);
  if (!out) {
    out = await makeFake(variant, threads, stage, j, honest);
    fakes.set(key, out);
  }
  return out;
}
async function makeFake(variant: CheatVariant, threads: 1 | 2, stage: number, j: number, honest: TensorBag): Promise<TensorBag> {
  if (variant === "zeros" || variant === "withhold" || variant === "signed-zeros") return mapBag(honest, () => 0);
  if (variant === "noise") return mapBag(honest, (v, i) => v + (((i * 2654435761 + j) >>> 16) & 1 ? NOISE : -NOISE));
  // stale: the output it sent for another request
  const other = pool[(j + 1) % POOL];
  return stage === 0 ? run(threads, 0, other) : run(threads, 1, await run(threads, 0, other));
}

// ---- chain ----------------------------------------------------------------------------------
const gas: Record<string, number[]> = {};
async function tx(label: string, hash: Promise<Hex>) {
  const r = await publicClient.waitForTransactionReceipt({ hash: await hash });
  if (r.status !== "success") throw new Error(`${label} reverted`);
  (gas[label] ??= []).push(Number(r.gasUsed));
  return r;
}
const timeOf = async (blockNumber: bigint) => Number((await publicClient.getBlock({ blockNumber })).timestamp);

const f: Fixture = await H.deployFixture({
  stages: 2,
  samplingRatePpm: DEMO_MODEL.samplingRatePpm,
  // deployFixture sets test fees; a fresh deployment's are these (DEFAULT_PROTOCOL_PARAMS).
  protocol: { treasuryFeeBps: 0, verifierFeeBps: 500 },
});
{
  // The parameters under test are a fresh deployment's (fees put back to the defaults above).
  const onChain = await f.params.read.paramsAt([1n]);
  for (const k of [
    "collateralMultipleBps",
    "challengerShareBps",
    "jurorShareBps",
    "verifierFeeBps",
    "minCollateral",
    "challengeBond",
    "reveal",
    "challenge",
  ] as const)
    if (onChain[k] !== DEFAULT_PROTOCOL_PARAMS[k])
      throw new Error(`ProtocolParams.${k} is ${onChain[k]}, the default is ${DEFAULT_PROTOCOL_PARAMS[k]}`);
}
const VERIFIERS = [ROLE.p3, ROLE.p4, ROLE.v1, ROLE.v2, ROLE.v3];
for (const v of VERIFIERS) await f.token.write.approve([f.market.address, 10n ** 30n], as(v));

async function wealth(who: number): Promise<bigint> {
  const a = addr(who);
  const s = await f.staking.read.stakeOf([a]);
  return (await f.token.read.balanceOf([a])) + (await f.market.read.credits([a])) + s.staked + s.unbonding;
}

interface Scenario {
  name: string;
  cheaterStage?: number;
  variant?: CheatVariant;
  share: number;
  providerThreads: 1 | 2;
}

interface ReceiptOutcome {
  caught: boolean;
  disputes: number;
  samples: number;
  attestedByDrawn: number;
  fakesSampled: number;
  secondsToSlash?: number;
  challengerGain?: bigint;
  challengerGas?: number;
  honestMaxAbsDiff: number;
  fakes: number;
}

/** One receipt of `job` under `sc`: serve, submit, sample, reveal, verify, dispute or settle. */
async function oneReceipt(sc: Scenario, job: OpenedJob): Promise<ReceiptOutcome> {
  const from = job.count;
  const m = Math.round(sc.share * RECEIPT);
  const fakeSet = new Set<number>();
  if (sc.cheaterStage !== undefined) {
    const idx = Array.from({ length: RECEIPT }, (_, i) => from + i);
    for (let i = 0; i < m; i++) {
      const k = i + Math.floor(Math.random() * (RECEIPT - i));
      [idx[i], idx[k]] = [idx[k], idx[i]];
      fakeSet.add(idx[i]);
    }
  }
  // Serve: hashes across cuts 0..2 of every request, as each party kept them.
  const cut = new Map<number, [Hex, Hex, Hex]>();
  /** signed-zeros: the honest output's hash the cheater records instead of what it sent. */
  const recordedInstead = new Map<number, Hex>();
  for (let i = from; i < from + RECEIPT; i++) {
    const j = i % POOL;
    const x = pool[j];
    const honest0 = await run(sc.providerThreads, 0, x);
    const faked = fakeSet.has(i);
    let sent0 = honest0;
    if (faked && sc.cheaterStage === 0) sent0 = await fakeOutput(sc.variant ?? "zeros", sc.providerThreads, 0, j, honest0);
    if (faked && sc.variant === "signed-zeros") recordedInstead.set(i, keep(honest0));
    const honest1 = await run(sc.providerThreads, 1, sent0);
    let sent1 = honest1;
    if (faked && sc.cheaterStage === 1) sent1 = await fakeOutput(sc.variant ?? "zeros", sc.providerThreads, 1, j, honest1);
    cut.set(i, [keep(x), keep(sent0), keep(sent1)]);
  }
  const cheater = sc.cheaterStage === 0 ? ROLE.p1 : ROLE.p2;
  const submitter = sc.cheaterStage === 0 ? ROLE.p2 : ROLE.p1;
  const route = (_i: number, s: number) => (s === 0 ? ROLE.p1 : ROLE.p2);
  const r: Built = await H.buildReceipt(f, job, RECEIPT, {
    route,
    hashes: (i, c) => cut.get(i)![c],
    tamper: (rec, s) => (s === 0 && recordedInstead.has(rec.index) ? { ...rec, outputHash: recordedInstead.get(rec.index)! } : rec),
  });
  const before = (await f.market.read.job([job.jobId])).receiptCount;
  const sub = await tx(
    "submitReceipt",
    f.market.write.submitReceipt([job.jobId, r.count, r.count, r.outputRoot, r.sessionSignature, r.parts], as(submitter)),
  );
  const id = BigInt(before);
  const submittedAt = await timeOf(sub.blockNumber);
  await net.mine(1);
  await tx("drawSamples", f.spotCheck.write.drawSamples([job.jobId, id], as(submitter)));
  const withhold = sc.variant === "withhold";
  const indices = await f.spotCheck.read.sampleIndices([job.jobId, id]);
  // The gateway reveals every sample (buyer leaf and both stages); a withholder keeps its leaves.
  if (!withhold) await H.revealWhole(f, job, r, id, submitter);
  if (withhold)
    for (let j = 0; j < indices.length; j++) {
      await H.revealBuyer(f, job, r, id, j, submitter);
      await H.revealStage(f, job, r, id, j, 1 - (sc.cheaterStage ?? 0), submitter);
    }
  const out: ReceiptOutcome = {
    caught: false,
    disputes: 0,
    samples: indices.length,
    attestedByDrawn: 0,
    fakesSampled: indices.filter((i) => fakeSet.has(Number(i))).length,
    honestMaxAbsDiff: 0,
    fakes: fakeSet.size,
  };
  // A broken hand-off opens a claim at boundary 1: the downstream (p2, honest) presents the HandOff
  // the upstream signed over the bytes it sent, kept from the hop (node/src/jobs/claims.ts).
  for (let j = 0; j < indices.length; j++) {
    const s = await f.spotCheck.read.sample([job.jobId, id, BigInt(j)]);
    if (!(s.claimMask & 0b10)) continue;
    const index = Number(indices[j]);
    const signature = await signHandOff(H.devAccount(cheater), f.domain, {
      jobId: job.jobId,
      nonce: s.nonce,
      boundary: 1,
      hash: cut.get(index)![1],
    });
    const rc = await tx("presentHandOff", f.spotCheck.write.presentHandOff([job.jobId, id, BigInt(j), 1n, signature], as(ROLE.p2)));
    if (
      !out.caught &&
      parseEventLogs({ abi: jobMarketAbi, eventName: "ProviderFaulted", logs: rc.logs }).some((e) => e.args.provider === addr(cheater))
    ) {
      out.caught = true;
      out.secondsToSlash = (await timeOf(rc.blockNumber)) - submittedAt;
    }
  }
  // Each sample's drawn verifier fetches, hash-checks and re-runs every revealed stage.
  const challenges: Array<{ j: number; stage: number; v: number; inBag: TensorBag; outBag?: TensorBag }> = [];
  for (let j = 0; j < indices.length; j++) {
    const s = await f.spotCheck.read.sample([job.jobId, id, BigInt(j)]);
    const v = roleOf(s.verifier);
    if (s.faulted) {
      out.samples--; // a chain-proven fault (a contradicted hand-off): no verifier needed
      continue;
    }
    let fraudAt: number | undefined;
    let inBag: TensorBag | undefined;
    let outBag: TensorBag | undefined;
    for (let stage = 0; stage < 2 && fraudAt === undefined; stage++) {
      if (!(s.stageMask & (1 << stage))) continue; // not revealed (withheld): the chain faults its owner
      const leaf = await f.spotCheck.read.stageReveal([job.jobId, id, BigInt(j), BigInt(stage)]);
      inBag = kept.get(leaf.inputHash);
      outBag = kept.get(leaf.outputHash);
      if (!inBag) continue; // an input nobody can deliver is the upstream's output: judged there
      if (!outBag) {
        fraudAt = stage; // unavailable output: fraud (verifier/check.ts)
        break;
      }
      const verdict = await verifyStage(verifierRunners[stage], inBag, outBag, tolerance);
      if (!verdict.ok) fraudAt = stage;
      else out.honestMaxAbsDiff = Math.max(out.honestMaxAbsDiff, verdict.maxAbsDiff);
    }
    if (fraudAt !== undefined && inBag) {
      challenges.push({ j, stage: fraudAt, v, inBag, outBag });
      out.attestedByDrawn++; // checked: it challenges instead of attesting
    } else if (s.stageMask === 0b11) {
      await tx("attest", f.spotCheck.write.attest([job.jobId, id, BigInt(j)], as(v)));
      out.attestedByDrawn++;
    }
  }
  // Missing reveals: after the reveal window anyone reports them (chain-proven, no reward).
  if (withhold) {
    const [revealEnd] = await f.spotCheck.read.deadlines([job.jobId, id]);
    await net.time.increaseTo(revealEnd + 1n);
    for (let j = 0; j < indices.length && !(await f.market.read.isFaulted([job.jobId, addr(cheater)])); j++) {
      const rcpt = await tx(
        "reportMissing",
        f.spotCheck.write.reportMissing([job.jobId, id, BigInt(j), r.routes.get(Number(indices[j]))!], as(submitter)),
      );
      if (parseEventLogs({ abi: jobMarketAbi, eventName: "ProviderFaulted", logs: rcpt.logs }).length > 0) {
        out.caught = true;
        out.secondsToSlash = (await timeOf(rcpt.blockNumber)) - submittedAt;
      }
    }
  }
  // One open dispute per accused: the first fraudulent sample found is challenged.
  for (const c of challenges.slice(0, 1)) {
    out.disputes++;
    const challenger = c.v;
    const w0 = await wealth(challenger);
    let challengerGas = 0;
    const g = async (label: string, h: Promise<Hex>, who: number) => {
      const rc = await tx(label, h);
      if (who === challenger) challengerGas += Number(rc.gasUsed);
      return rc;
    };
    await g("challenge", f.disputes.write.challenge([job.jobId, id, BigInt(c.j), BigInt(c.stage)], as(challenger)), challenger);
    const d = (await f.disputes.read.disputeCount()) - 1n;
    await net.mine(1);
    await g("drawCommittee", f.disputes.write.drawCommittee([d], as(challenger)), challenger);
    const [jurors] = await f.disputes.read.committee([d, 0n]);
    // Every juror re-executes the stage on the revealed tensors (one run shared by them here).
    const verdict = c.outBag ? await verifyStage(verifierRunners[c.stage], c.inBag, c.outBag, tolerance) : undefined;
    const fraud = !verdict?.ok;
    const salt = "0x5a17000000000000000000000000000000000000000000000000000000000000" as Hex;
    for (const jr of jurors) {
      const cm = await f.disputes.read.voteCommitment([d, 0n, jr, fraud, salt]);
      await tx("commitVote", f.disputes.write.commitVote([d, cm], as(roleOf(jr))));
    }
    const [commitEnd, revealEnd] = await f.disputes.read.phaseDeadlines([d]);
    await net.time.increaseTo(commitEnd + 1n);
    for (const jr of jurors) await tx("revealVote", f.disputes.write.revealVote([d, fraud, salt], as(roleOf(jr))));
    await net.time.increaseTo(revealEnd + 1n);
    await g("closeRound", f.disputes.write.closeRound([d], as(challenger)), challenger);
    const [, , appealEnd2] = await f.disputes.read.phaseDeadlines([d]);
    await net.time.increaseTo(appealEnd2 + 1n);
    const fin = await g("finalize", f.disputes.write.finalize([d], as(challenger)), challenger);
    const faulted = parseEventLogs({ abi: jobMarketAbi, eventName: "ProviderFaulted", logs: fin.logs });
    const resolved = parseEventLogs({ abi: disputesAbi, eventName: "DisputeResolved", logs: fin.logs });
    if (resolved.length !== 1) throw new Error("dispute not resolved by finalize");
    for (const jr of new Set(jurors)) await tx("claimJurorReward", f.disputes.write.claimJurorReward([d], as(roleOf(jr))));
    if (faulted.some((e) => e.args.provider === addr(cheater))) {
      out.caught = true;
      out.secondsToSlash = (await timeOf(fin.blockNumber)) - submittedAt;
    }
    out.challengerGain = (await wealth(challenger)) - w0;
    out.challengerGas = challengerGas;
  }
  if (!out.caught) {
    const [, challengeEnd] = await f.spotCheck.read.deadlines([job.jobId, id]);
    const now = BigInt(await net.time.latest());
    if (now <= challengeEnd) await net.time.increaseTo(challengeEnd + 1n);
    await tx("settle", f.market.write.settle([job.jobId, id, r.records], as(submitter)));
  }
  return out;
}

interface Trial {
  receipts: number;
  caught: boolean;
  ev: number;
  secondsToSlash?: number;
}

const results: Record<string, unknown> = {};
const honestFaults: string[] = [];
let attested = 0;
let samplesTotal = 0;
let honestMaxAbsDiff = 0;
const challengerRuns: Array<{ gain: number; gas: number }> = [];
const slashTimes: number[] = [];

async function scenario(sc: Scenario, trials: number, receiptsPerTrial = MAX_RECEIPTS): Promise<void> {
  const t0 = Date.now();
  const list: Trial[] = [];
  let receipts = 0;
  let caughtReceipts = 0;
  let disputes = 0;
  let fakesSampled = 0;
  let fakes = 0;
  for (let t = 0; t < trials; t++) {
    if (Date.now() - started > BUDGET_MS && list.length > 0) break;
    // A slashed cheater comes back with fresh stake (a new identity would cost the same): without
    // it, 20 trials × 50 SHARD per slash exhaust the fixture's 10,000 SHARD stake.
    for (const who of [ROLE.p1, ROLE.p2])
      if ((await f.staking.read.freeStake([addr(who)])) < 1_000n * 10n ** 18n) {
        await tx("topUp", f.token.write.transfer([addr(who), H.STAKE], as(ROLE.admin)));
        await tx("topUp", f.token.write.approve([f.staking.address, H.STAKE], as(who)));
        await tx("topUp", f.staking.write.stake([H.STAKE], as(who)));
      }
    // Each receipt spends about 2 h of chain time in its windows: the job lives long enough.
    const job = await H.openJob(
      f,
      [
        [0, ROLE.p1],
        [1, ROLE.p2],
      ],
      RECEIPT * receiptsPerTrial,
      receiptsPerTrial * 3 * 3600,
    );
    const cheater = sc.cheaterStage === 0 ? ROLE.p1 : ROLE.p2;
    const w0 = await wealth(cheater);
    let served = 0;
    let faked = 0;
    let trial: Trial = { receipts: 0, caught: false, ev: 0 };
    for (let k = 0; k < receiptsPerTrial; k++) {
      const o = await oneReceipt(sc, job);
      receipts++;
      trial.receipts++;
      served += RECEIPT;
      faked += o.fakes;
      fakes += o.fakes;
      disputes += o.disputes;
      fakesSampled += o.fakesSampled;
      // Withheld leaves cannot be checked by anyone (the chain faults their owner): not counted.
      if (sc.variant !== "withhold") {
        samplesTotal += o.samples;
        attested += o.attestedByDrawn;
      }
      honestMaxAbsDiff = Math.max(honestMaxAbsDiff, o.honestMaxAbsDiff);
      if (o.challengerGain !== undefined) challengerRuns.push({ gain: Number(o.challengerGain) / 1e18, gas: o.challengerGas ?? 0 });
      if (o.caught) {
        caughtReceipts++;
        trial = { ...trial, caught: true, secondsToSlash: o.secondsToSlash };
        slashTimes.push(o.secondsToSlash ?? 0);
        break;
      }
    }
    for (const who of [ROLE.p1, ROLE.p2])
      if (who !== cheater || sc.cheaterStage === undefined)
        if (await f.market.read.isFaulted([job.jobId, addr(who)]))
          honestFaults.push(`${sc.name} trial ${t}: ${who === ROLE.p1 ? "p1" : "p2"}`);
    // Cheater EV against serving the same requests honestly: what it got (settled pay − slash)
    // plus the compute it saved (valued at the whole price per faked request) minus the honest pay.
    const price = Number(H.PRICE) / 1e18;
    const got = Number((await wealth(cheater)) - w0) / 1e18;
    trial.ev = got + faked * price - served * price;
    list.push(trial);
  }
  const k = samplesOf(RECEIPT, DEMO_MODEL.samplingRatePpm);
  const wilson = (x: number, n: number) => {
    const z = 1.96;
    const p = x / n;
    const c = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
    const h = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
    return [Math.max(0, c - h), Math.min(1, c + h)];
  };
  const caught = list.filter((t) => t.caught);
  const entry = {
    cheaterStage: sc.cheaterStage ?? null,
    variant: sc.variant ?? "honest",
    fakedShare: sc.share,
    providerThreads: sc.providerThreads,
    trials: list.length,
    receipts,
    requestsPerReceipt: RECEIPT,
    samplesPerReceipt: k,
    trialsSlashed: caught.length,
    receiptsUntilSlashedMean: caught.length ? caught.reduce((a, t) => a + t.receipts, 0) / caught.length : null,
    detectionPerReceiptMeasured: receipts ? caughtReceipts / receipts : 0,
    detectionPerReceipt95CI: receipts ? wilson(caughtReceipts, receipts) : [0, 0],
    detectionPerReceiptExpected: sc.cheaterStage === undefined ? 0 : sc.variant === "withhold" ? 1 : detection(sc.share, k),
    fakedRequests: fakes,
    fakesSampled,
    disputes,
    chainSecondsReceiptToSlashMean: caught.length ? caught.reduce((a, t) => a + (t.secondsToSlash ?? 0), 0) / caught.length : null,
    cheaterEvPerTrialTokens: sc.cheaterStage === undefined ? null : list.reduce((a, t) => a + t.ev, 0) / Math.max(1, list.length),
    wallSeconds: (Date.now() - t0) / 1000,
  };
  results[sc.name] = entry;
  log(`${sc.name}: ${JSON.stringify(entry)}`);
}

const variants: Variant[] = QUICK ? ["zeros"] : ["zeros", "stale", "noise"];
const shares = QUICK ? [1] : [0.05, 0.2, 1];
await scenario({ name: "honest-threads-1-vs-verifier-1", share: 0, providerThreads: 1 }, 1, QUICK ? 2 : 8);
await scenario({ name: "honest-threads-2-vs-verifier-1", share: 0, providerThreads: 2 }, 1, QUICK ? 2 : 8);
for (const stage of [0, 1])
  for (const variant of variants)
    for (const share of shares)
      await scenario(
        { name: `${variant}-stage${stage}-f${share}`, cheaterStage: stage, variant, share, providerThreads: 2 },
        share === 1 ? Math.min(TRIALS, 4) : TRIALS,
      );
// Stage 0 only: the last stage signs no hand-off (the gateway checks its output's hash itself).
for (const share of shares)
  await scenario(
    { name: `signed-zeros-stage0-f${share}`, cheaterStage: 0, variant: "signed-zeros", share, providerThreads: 2 },
    share === 1 ? Math.min(TRIALS, 4) : TRIALS,
  );
for (const stage of [0, 1])
  await scenario(
    { name: `withhold-stage${stage}-f0.05`, cheaterStage: stage, variant: "withhold", share: 0.05, providerThreads: 2 },
    QUICK ? 1 : 3,
  );

// A provider that records (and claims) the honest hash but sends other tensors (zeros), through
// the real gateway router (node/src/router/router.ts) with the job's hand-offs on: the router
// hashes the bytes it received, refuses the hop (RouterHashMismatchError) and fails over to the
// other provider quoted for that stage, so the lie never reaches the next stage or the buyer and
// the liar is in no route — no receipt part can pay it. Hops are in-process calls into the same
// onnxruntime runners (no libp2p); each stage-0 provider signs its HandOff with its staking key.
async function lieRouter(stage: number, n: number) {
  const t0 = Date.now();
  const liar = stage === 0 ? ROLE.p1 : ROLE.p2;
  const backup = stage === 0 ? ROLE.p3 : ROLE.p4;
  const peers: Record<string, { role: number; stage: number; lies: boolean }> = {
    liar: { role: liar, stage, lies: true },
    backup: { role: backup, stage, lies: false },
    other: { role: stage === 0 ? ROLE.p2 : ROLE.p1, stage: 1 - stage, lies: false },
  };
  const calls: string[] = [];
  const hopOf = (peerId: string): Hop => ({
    call: async (req) => {
      calls.push(peerId);
      const p = peers[peerId];
      const input = fromWireBag(req.bag);
      const honest = await run(2, p.stage, input);
      const sent = p.lies ? mapBag(honest, () => 0) : honest;
      const outputHash = hashOf(honest); // what it records and claims
      const handOff =
        p.stage === 0
          ? await signHandOffFor(H.devAccount(p.role), f.domain, { jobId: req.jobId!, index: req.index!, boundary: 1, hash: outputHash })
          : undefined;
      return { bag: toWireBag(sent), inputHash: bagHash(req.bag), outputHash, handOff, computeMs: 1, ms: 1 };
    },
  });
  const directory = {
    stageCount: () => 2,
    providers: (_m: string, st: number) =>
      Object.entries(peers)
        .filter(([, p]) => p.stage === st)
        .map(([peerId, p]) => ({ peerId, stakingAddress: addr(p.role), price: H.PRICE, load: 0, capacity: 4, latencyMs: 1 })),
  } as unknown as Directory;
  const client = { hop: hopOf } as unknown as PipelineClient;
  // The liar is the first choice every time (the lowest random draw picks the first candidate).
  const router = new Router(directory, client, { random: () => 0, handOffDomain: f.domain });
  let refused = 0;
  let liarTried = 0;
  let answeredHonestly = 0;
  let liarInRoute = 0;
  for (let i = 0; i < n; i++) {
    const x = pool[i % POOL];
    const before = calls.length;
    const r = await router.run("rec", toWireBag(x), { jobId: "1", index: i });
    const tried = calls.slice(before);
    if (tried.includes("liar")) liarTried++;
    if (tried.includes("liar") && r.stages[stage].peerId !== "liar") refused++;
    if (r.stages.some((t) => t.peerId === "liar")) liarInRoute++;
    const expected = await run(2, 1, await run(2, 0, x));
    if (r.responseHash === hashOf(expected) && bagHash(r.output) === r.responseHash) answeredHonestly++;
  }
  results[`lie-hash-stage${stage}`] = {
    cheaterStage: stage,
    variant: "records and claims the honest hash, sends zeros (real router, hand-offs on)",
    requests: n,
    // The router's penalty makes the liar a later choice after a refusal: counted as tried.
    requestsTheLiarWasAsked: liarTried,
    refusedByGatewayHashCheck: refused,
    requestsInARouteOfTheLiar: liarInRoute,
    buyerAnswersCorrect: answeredHonestly,
    detectionPerRequestAsked: liarTried ? refused / liarTried : null,
    cheaterPaidRequests: liarInRoute,
    note: "the gateway's router hashes the tensors it received and fails over; a request in no route of the liar is in no part it can sign, so it is never paid (and never slashed: nothing of it reaches the chain)",
    wallSeconds: (Date.now() - t0) / 1000,
  };
  log(`lie-hash-stage${stage}: ${JSON.stringify(results[`lie-hash-stage${stage}`])}`);
}
await lieRouter(0, QUICK ? 6 : 40);
await lieRouter(1, QUICK ? 6 : 40);

const gasSummary = Object.fromEntries(
  Object.entries(gas)
    .filter(([k]) => k !== "topUp")
    .map(([k, xs]) => [k, { calls: xs.length, mean: Math.round(xs.reduce((a, b) => a + b, 0) / xs.length), max: Math.max(...xs) }]),
);
const meanGain = challengerRuns.length ? challengerRuns.reduce((a, c) => a + c.gain, 0) / challengerRuns.length : 0;
const meanGas = challengerRuns.length ? challengerRuns.reduce((a, c) => a + c.gas, 0) / challengerRuns.length : 0;
const cheatEvs = Object.values(results)
  .map((r) => (r as { cheaterEvPerTrialTokens: number | null }).cheaterEvPerTrialTokens)
  .filter((x): x is number => typeof x === "number");
const result = {
  description:
    "Adversarial market on the real contracts (Hardhat EDR in-process EVM) at a fresh deployment's default ProtocolParams and the demo model's price (0.001 SHARD per stage) and 1 % sampling: PP-OCRv4 recogniser split in 2 stages run by onnxruntime for providers, verifiers and jurors; bag hashes, receipt trees and EIP-712 signatures from node/src. Providers, gateway, buyer and verifiers act in-process by the protocol's rules (no libp2p, no processes: processes would not fit hundreds of receipts in minutes). Each trial is a job run receipt by receipt until the cheater is slashed; the drawn verifier of every sample re-runs both stages, attests a match and challenges a mismatch; juries vote by re-execution; time advances exactly through the default windows.",
  setup: {
    requestsPerReceipt: RECEIPT,
    samplesPerReceipt: samplesOf(RECEIPT, DEMO_MODEL.samplingRatePpm),
    samplingRatePpm: DEMO_MODEL.samplingRatePpm,
    maxReceiptsPerTrial: MAX_RECEIPTS,
    trialsPerCheatConfig: TRIALS,
    requestPool: POOL,
    toleranceFromManifest: tolerance,
    noiseAmplitude: NOISE,
    verifierThreads: 1,
    registeredVerifiers: VERIFIERS.length,
    cheaterEvNote:
      "tokens per trial against serving the same requests honestly, counting the saved compute at the whole price of every faked request",
  },
  scenarios: results,
  headline: {
    honestPartiesSlashed: honestFaults.length,
    honestPartiesSlashedWhere: honestFaults,
    shareOfSamplesCheckedByDrawnVerifierExceptWithheld: samplesTotal ? attested / samplesTotal : 0,
    samplesAttestedByDrawnVerifier: attested,
    samplesTotal,
    largestHonestDifference: honestMaxAbsDiff,
    chainSecondsReceiptToSlash: slashTimes.length
      ? { mean: slashTimes.reduce((a, b) => a + b, 0) / slashTimes.length, min: Math.min(...slashTimes), max: Math.max(...slashTimes) }
      : null,
    cheaterEvWorstTokens: cheatEvs.length ? Math.max(...cheatEvs) : null,
    challengerMeanGainTokensBeforeGas: meanGain,
    challengerMeanGasUnits: meanGas,
    challengerBreakEvenTokensPerGas: meanGas ? meanGain / meanGas : null,
    disputesRun: challengerRuns.length,
  },
  gasByFunction: gasSummary,
  inferenceRuns,
  wallMinutes: (Date.now() - started) / 60_000,
  machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memGiB: Math.round(totalmem() / 2 ** 30), node: process.version },
  measuredAt: new Date().toISOString(),
};
for (const r of [...providerRunners[1], ...providerRunners[2]]) await r.close();
if (QUICK) console.log(JSON.stringify(result.headline, null, 2));
else log(`wrote ${writeBenchResult("trust", result, { scenarios: results, headline: result.headline })}`);
process.exit(0);
