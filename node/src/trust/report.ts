// The economics conditions (a)–(c) of docs/PROTOCOL.md evaluated at one deployment's parameters
// and one model's price and sampling rate: the figures the README quotes (scripts/economics.ts
// writes them there; test/node/trust/readme.unit.test.ts fails when the README and these differ).
import type { ProtocolParamsValues } from "../chain/params.ts";
import { formatAmount } from "../util/format.ts";
import {
  DESIGN_ALPHA,
  MAX_ROUNDS,
  challengeBond,
  cheaterEV,
  collateral,
  epsilon,
  falseChallengeEV,
  horizon,
  kappaMin,
  kept,
  requestsToCatch,
  samplesOf,
  worstCheaterEV,
} from "./economics.ts";

/** The faked shares the README and the trust bench report. */
export const FAKED_SHARES = [0.05, 0.2, 1] as const;
/** The cheater share condition (c) is stated for, and the confidence. */
export const CATCH_SHARE = 0.05;
export const CATCH_CONFIDENCE = 0.99;

export interface EconomicsInput {
  params: ProtocolParamsValues;
  /** ProviderStaking's immutable minimum verifier stake (base units). */
  minVerifierStake: bigint;
  /** The model's price per unit at the stage (base units). */
  price: bigint;
  samplingRatePpm: number;
  /** The job's maxUnits the example collateral is computed for. */
  maxUnits: number;
  /** ModelRegistry.MIN_SAMPLING_RATE_PPM: the worst case of condition (c). */
  minSamplingRatePpm: number;
}

export interface CheatRow {
  share: number;
  requests: number;
  faked: number;
  samples: number;
  slashProbability: number;
  gain: number;
  loss: number;
  ev: number;
}

export interface EconomicsReport {
  input: EconomicsInput;
  alpha: number;
  epsilon: number;
  kept: number;
  kappa: number;
  kappaMin: number;
  horizon: number;
  collateral: bigint;
  bond: bigint;
  /** (a) per faked share, for a receipt of `horizon` requests and for the largest receipt. */
  cheat: CheatRow[];
  /** (a) the largest EV over every receipt size and faked count (base units). */
  worstCheat: { ev: number; n: number; m: number };
  /** (b) before gas; the gas budget (base units) under which it stays positive. */
  challengerBeforeGas: number;
  /** (b′) a coalition challenging an honest provider. */
  falseChallenge: number;
  /** (c) at the model's rate, honest verifiers and a third colluding; at the registry's minimum rate. */
  catch: { honest: { samples: number; requests: number }; colluding: { samples: number; requests: number }; atMinRate: number };
  holds: { a: boolean; b: boolean; bPrime: boolean; c: boolean };
}

/** Largest receipt the market takes at `ratePpm` (JobMarket: k ≤ MAX_SAMPLES = 32). */
export const maxReceipt = (ratePpm: number): number => Math.floor((32 * 1_000_000) / ratePpm);

export function economicsReport(input: EconomicsInput): EconomicsReport {
  const { params, price, samplingRatePpm: rate, maxUnits } = input;
  const alpha = DESIGN_ALPHA;
  const c = collateral(params, price, maxUnits, rate);
  const H = horizon(maxUnits, rate);
  const cheat: CheatRow[] = [];
  for (const n of [Math.min(H, maxUnits), Math.min(maxReceipt(rate), maxUnits)])
    for (const share of FAKED_SHARES) {
      const m = Math.max(1, Math.round(share * n));
      const r = cheaterEV({ n, m, ratePpm: rate, price, collateral: c, alpha, params });
      cheat.push({ share, requests: n, faked: m, samples: samplesOf(n, rate), ...r });
    }
  const worstCheat = worstCheaterEV({ price, maxUnits, ratePpm: rate, params, alpha });
  const eps = epsilon(alpha);
  const bond = challengeBond(params, c);
  const reward = (Number(c) * params.challengerShareBps) / 10_000;
  const challengerBeforeGas = (1 - eps) * reward - eps * (2 ** MAX_ROUNDS - 1) * Number(bond);
  const falseChallenge = falseChallengeEV({ collateral: c, params, alpha });
  const honest = requestsToCatch(CATCH_SHARE, rate, CATCH_CONFIDENCE);
  const colluding = requestsToCatch(CATCH_SHARE, rate, CATCH_CONFIDENCE, (1 - alpha) * (1 - eps));
  const atMinRate = requestsToCatch(CATCH_SHARE, input.minSamplingRatePpm, CATCH_CONFIDENCE).requests;
  const kappa = params.collateralMultipleBps / 10_000;
  const km = kappaMin(params, alpha);
  return {
    input,
    alpha,
    epsilon: eps,
    kept: kept(params),
    kappa,
    kappaMin: km,
    horizon: H,
    collateral: c,
    bond,
    cheat,
    worstCheat,
    challengerBeforeGas,
    falseChallenge,
    catch: { honest, colluding, atMinRate },
    holds: {
      a: kappa > km && worstCheat.ev < 0 && cheat.every((r) => r.ev < 0),
      b: challengerBeforeGas > 0,
      bPrime: falseChallenge < 0,
      c: Number.isFinite(atMinRate) && honest.requests > 0,
    },
  };
}

const tok = (baseUnits: bigint | number): string => {
  const v = typeof baseUnits === "bigint" ? baseUnits : BigInt(Math.round(baseUnits));
  return `${formatAmount(v, 18, 4)} SHARD`;
};
const pct = (x: number): string => `${(x * 100).toFixed(x < 0.01 ? 2 : 1)} %`;
const int = (x: number): string => x.toLocaleString("en-US");
const bps = (x: number): string => `${x / 100} %`;
const dur = (s: number): string => (s % 3600 === 0 ? `${s / 3600} h` : `${s / 60} min`);

/** The README's "Economics" block (markdown), every figure computed from `r`. */
export function economicsMarkdown(r: EconomicsReport): string {
  const { params: p, price, samplingRatePpm: rate, maxUnits } = r.input;
  const rows = r.cheat
    .map(
      (c) =>
        `| ${pct(c.share)} | ${int(c.requests)} (k = ${c.samples}) | ${int(c.faked)} | ${pct(c.slashProbability)} | ${tok(c.gain)} | ${tok(c.loss)} | **${tok(c.ev)}** |`,
    )
    .join("\n");
  const lines = [
    `Defaults of a fresh deployment (\`scripts/lib/deploy.ts\` → \`DEFAULT_PROTOCOL_PARAMS\`) and of the demo`,
    `model (price ${tok(price)} per unit per stage, sampling rate r = ${rate / 10_000} %), evaluated by`,
    `\`node/src/trust/economics.ts\` at a coalition share α = ${(r.alpha * 100).toFixed(1)} % of verifier stake. Regenerate with`,
    "`node scripts/economics.ts --write`; `test/node/trust/readme.unit.test.ts` fails when this block is stale.",
    "",
    "| parameter | default | formula / bound |",
    "| --- | --- | --- |",
    `| collateral multiple κ | ${r.kappa} | κ ≥ κ_min = 1/((1 − α)(1 − ε)λ) = ${r.kappaMin.toFixed(3)} |`,
    `| challenger share σ / juror share γ | ${bps(p.challengerShareBps)} / ${bps(p.jurorShareBps)} | λ = 1 − σ − γ = ${r.kept.toFixed(2)} (what a cheater loses even if every rewardee is its sybil) |`,
    `| minimum collateral C_min | ${tok(p.minCollateral)} | C = max(C_min, κ·p·H), H = min(maxUnits, 1/r) |`,
    `| challenge bond / β | ${tok(p.challengeBond)} / ${p.challengeBondBps} bps | bond = max(challengeBond, β·C); β ≥ ε·σ (false challenges lose) |`,
    `| attest deposit / juror deposit | ${tok(p.attestDeposit)} / ${tok(p.jurorDeposit)} | lost by a lazy attester of a proven fake / a silent juror |`,
    `| verifier fee / treasury fee | ${bps(p.verifierFeeBps)} / ${bps(p.treasuryFeeBps)} | paid only for attested samples |`,
    `| minimum verifier stake | ${tok(r.input.minVerifierStake)} | immutable (dust cannot register) |`,
    `| windows reveal / challenge / hand-off | ${dur(p.reveal)} / ${dur(p.challenge)} / ${dur(p.handOff)} | commit / vote reveal / appeal ${dur(p.commit)} each; ${MAX_ROUNDS} rounds |`,
    `| sampling rate r | ${rate / 10_000} % (demo model) | k = ⌈n·r⌉ per receipt; the registry refuses r < ${r.input.minSamplingRatePpm / 10_000} % |`,
    "",
    `Committee capture after ${MAX_ROUNDS} rounds at α = 1/3: ε = ${r.epsilon.toExponential(2)}. A job of ${int(maxUnits)} units at the demo`,
    `price locks C = ${tok(r.collateral)} per provider (H = ${int(r.horizon)}: κ·p·H = ${tok((Number(price) * r.horizon * p.collateralMultipleBps) / 10_000)}, so the floor applies),`,
    `and a challenge of it bonds ${tok(r.bond)}.`,
    "",
    `**(a) Faking never pays.** The cheater's expected value for one receipt in which it fakes a share f of its`,
    `stage's requests: gain m·p against slash probability P = 1 − (1 − f(1 − α)(1 − ε))^k times λ·C plus the`,
    `forfeited pay (the sample's verifier is one of the coalition with probability α, which then attests the fake):`,
    "",
    "| f | receipt n | faked m | P(slash) | gain | loss if slashed | EV |",
    "| --- | --- | --- | --- | --- | --- | --- |",
    rows,
    "",
    `Worst case over every receipt size n ≤ ${int(Math.min(maxReceipt(rate), maxUnits))} and faked count m: EV = ${tok(r.worstCheat.ev)} (n = ${int(r.worstCheat.n)}, m = ${r.worstCheat.m}) — negative because κ = ${r.kappa} > κ_min = ${r.kappaMin.toFixed(3)}.`,
    "",
    `**(b) Challenging real fraud pays.** An honest challenger's expected value is (1 − ε)·σ·C − ε·(2^${MAX_ROUNDS} − 1)·bond − G =`,
    `**${tok(r.challengerBeforeGas)} − G**: positive while its gas and re-execution G cost less than that. A coalition challenging`,
    `an honest provider (b′) expects ε·σ·C − (1 − ε)·bond = ${tok(r.falseChallenge)}.`,
    "",
    `**(c) A ${CATCH_SHARE * 100} % cheater is caught with ≥ ${CATCH_CONFIDENCE * 100} % probability within N = ⌈ln(0.01)/ln(1 − 0.05·η)⌉ / r requests of its`,
    `stage**: with honest verifiers (η = 1) ${r.catch.honest.samples} samples, **N = ${int(r.catch.honest.requests)} requests** at r = ${rate / 10_000} %; with a third of`,
    `verifier stake colluding (η = (1 − α)(1 − ε)) ${r.catch.colluding.samples} samples, N = ${int(r.catch.colluding.requests)}; at the lowest rate a model may`,
    `be published with (${r.input.minSamplingRatePpm / 10_000} %), N = ${int(r.catch.atMinRate)}.`,
  ];
  return lines.join("\n");
}

export const README_BEGIN = "<!-- economics:begin (node scripts/economics.ts --write) -->";
export const README_END = "<!-- economics:end -->";

export class ReadmeMarkersMissingError extends Error {
  override name = "ReadmeMarkersMissingError";
}

/** The block between the README's `begin` … `end` markers (without them). */
export function readmeEconomicsBlock(readme: string, begin = README_BEGIN, end = README_END): string {
  const a = readme.indexOf(begin);
  const b = readme.indexOf(end);
  if (a < 0 || b < a) throw new ReadmeMarkersMissingError(`README has no ${begin} … ${end} block`);
  return readme.slice(a + begin.length, b).trim();
}

/** The README with the block between `begin` and `end` replaced by `block`. */
export function withReadmeBlock(readme: string, block: string, begin = README_BEGIN, end = README_END): string {
  readmeEconomicsBlock(readme, begin, end);
  const a = readme.indexOf(begin) + begin.length;
  const b = readme.indexOf(end);
  return `${readme.slice(0, a)}\n${block}\n${readme.slice(b)}`;
}
