// The trust layer's economics (docs/PROTOCOL.md, "Economics"), as functions: the README's
// defaults, the bench's expectations and the tests all compute from here. Amounts are in token
// base units (bigint) where they are money, plain numbers where they are probabilities.
//
// Notation: p a provider's price per unit, g ≤ p what faking one request saves it, r the sampling
// rate, n requests in a receipt, k = ⌈n r⌉ samples, H = min(maxUnits, ⌈1/r⌉), C = max(C_min,
// κ p H) the collateral, α the share of registered verifier stake a coalition holds, ε the chance
// it captures a dispute after every round, σ / γ the challenger's / jurors' shares of a slash,
// λ = 1 − σ − γ what the cheater loses even if every rewardee is its sybil.
import { DEFAULT_PROTOCOL_PARAMS } from "../chain/params.ts";
import type { ProtocolParamsValues } from "../chain/params.ts";

/** Disputes.MAX_ROUNDS. */
export const MAX_ROUNDS = 5;
/** The coalition share every default is derived for. */
export const DESIGN_ALPHA = 1 / 3;
const BPS = 10_000;
const PPM = 1_000_000;

/** Seats of round r (0-based): 3, 7, 15, 31, 63. */
export const roundSeats = (r: number): number => 2 ** (r + 2) - 1;

/** Seats over rounds 0..r. */
export function cumulativeSeats(rounds: number): number {
  let n = 0;
  for (let r = 0; r < rounds; r++) n += roundSeats(r);
  return n;
}

function logFactorials(n: number): Float64Array {
  const lf = new Float64Array(n + 1);
  for (let i = 1; i <= n; i++) lf[i] = lf[i - 1] + Math.log(i);
  return lf;
}

/**
 * Probability that a coalition with share `alpha` of the seat draws (stake-weighted, with
 * replacement) decides a verdict over `seats` seats: a strict majority to convict an honest
 * provider, at least half (ties reject) to acquit a cheater — the larger of the two is returned.
 */
export function captureProbability(alpha: number, seats: number): number {
  if (alpha <= 0) return 0;
  if (alpha >= 1) return 1;
  const lf = logFactorials(seats);
  let p = 0;
  for (let j = Math.ceil(seats / 2); j <= seats; j++) {
    p += Math.exp(lf[seats] - lf[j] - lf[seats - j] + j * Math.log(alpha) + (seats - j) * Math.log(1 - alpha));
  }
  return Math.min(1, p);
}

/** ε: capture after every round is used (the honest side appeals every adverse verdict). */
export const epsilon = (alpha: number = DESIGN_ALPHA, rounds: number = MAX_ROUNDS): number =>
  captureProbability(alpha, cumulativeSeats(rounds));

/** λ = 1 − σ − γ. */
export const kept = (p: Pick<ProtocolParamsValues, "challengerShareBps" | "jurorShareBps">): number =>
  1 - (p.challengerShareBps + p.jurorShareBps) / BPS;

/** Condition (a): the smallest collateral multiple for which faking never pays, 1 / ((1 − α)(1 − ε) λ). */
export function kappaMin(p: Pick<ProtocolParamsValues, "challengerShareBps" | "jurorShareBps">, alpha = DESIGN_ALPHA): number {
  return 1 / ((1 - alpha) * (1 - epsilon(alpha)) * kept(p));
}

/** H = min(maxUnits, ⌈1e6 / rate⌉) requests. */
export const horizon = (maxUnits: number, ratePpm: number): number => Math.min(maxUnits, Math.ceil(PPM / ratePpm));

/** The collateral a quote locks: max(minCollateral, ⌈κ · price · H⌉) (JobMarket._collateral). */
export function collateral(
  p: Pick<ProtocolParamsValues, "collateralMultipleBps" | "minCollateral">,
  price: bigint,
  maxUnits: number,
  ratePpm: number,
): bigint {
  const c = (price * BigInt(horizon(maxUnits, ratePpm)) * BigInt(p.collateralMultipleBps) + BigInt(BPS - 1)) / BigInt(BPS);
  return c > p.minCollateral ? c : p.minCollateral;
}

/** Samples of a receipt of n requests: k = ⌈n · rate⌉ (Sampling.sampleCount). */
export const samplesOf = (n: number, ratePpm: number): number => Math.ceil((n * ratePpm) / PPM);

/** Chance a receipt with fakes in share f of its requests has at least one sampled (stratified, worst placement). */
export const detection = (f: number, k: number): number => 1 - (1 - f) ** k;

export interface CheatScenario {
  /** Requests in the receipt. */
  n: number;
  /** Of them faked by the cheater at its stage. */
  m: number;
  ratePpm: number;
  price: bigint;
  /** What faking one request saves (default: the whole price). */
  gain?: bigint;
  collateral: bigint;
  alpha?: number;
  params?: Pick<ProtocolParamsValues, "challengerShareBps" | "jurorShareBps">;
}

/**
 * The cheater's expected value for one receipt, in base units: m·g gained, against the slash
 * probability P = 1 − (1 − (m/n)(1 − α)(1 − ε))^k times what it loses (λ·C, plus the pay it
 * forfeits for this receipt — counted here as m·p, the least of it).
 */
export function cheaterEV(s: CheatScenario): { ev: number; slashProbability: number; gain: number; loss: number } {
  const alpha = s.alpha ?? DESIGN_ALPHA;
  const params = s.params ?? DEFAULT_PROTOCOL_PARAMS;
  const k = samplesOf(s.n, s.ratePpm);
  const eta = (1 - alpha) * (1 - epsilon(alpha));
  const slashProbability = 1 - (1 - (s.m / s.n) * eta) ** k;
  const gain = Number(s.gain ?? s.price) * s.m;
  const loss = kept(params) * Number(s.collateral) + Number(s.price) * s.m;
  return { ev: gain - slashProbability * loss, slashProbability, gain, loss };
}

/**
 * Condition (a) on a grid: the largest cheater EV over receipt sizes up to the receipt bound and
 * every faked count, at `price` and `maxUnits`. Negative means faking never pays.
 */
export function worstCheaterEV(o: { price: bigint; maxUnits: number; ratePpm: number; params?: ProtocolParamsValues; alpha?: number }): {
  ev: number;
  n: number;
  m: number;
} {
  const params = o.params ?? DEFAULT_PROTOCOL_PARAMS;
  const c = collateral(params, o.price, o.maxUnits, o.ratePpm);
  const maxN = Math.min(o.maxUnits, Math.floor((32 * PPM) / o.ratePpm));
  let worst = { ev: Number.NEGATIVE_INFINITY, n: 0, m: 0 };
  const step = (x: number) => (x < 200 ? x + 1 : Math.ceil(x * 1.05));
  for (let n = 1; n <= maxN; n = step(n)) {
    for (let m = 1; m <= n; m = step(m)) {
      const { ev } = cheaterEV({ n, m, ratePpm: o.ratePpm, price: o.price, collateral: c, alpha: o.alpha, params });
      if (ev > worst.ev) worst = { ev, n, m };
    }
  }
  return worst;
}

/**
 * Condition (b): an honest challenger's expected value when the leaf is fraudulent:
 * (1 − ε) σ C − ε · (2^R − 1) · bond − gas, bond = max(challengeBond, β C).
 */
export function challengerEV(o: { collateral: bigint; gasCost: bigint; params?: ProtocolParamsValues; alpha?: number }): number {
  const p = o.params ?? DEFAULT_PROTOCOL_PARAMS;
  const eps = epsilon(o.alpha ?? DESIGN_ALPHA);
  const bond = challengeBond(p, o.collateral);
  const reward = (Number(o.collateral) * p.challengerShareBps) / BPS;
  return (1 - eps) * reward - eps * (2 ** MAX_ROUNDS - 1) * Number(bond) - Number(o.gasCost);
}

/** Condition (b′): a coalition's expected value from challenging an honest provider. */
export function falseChallengeEV(o: { collateral: bigint; params?: ProtocolParamsValues; alpha?: number }): number {
  const p = o.params ?? DEFAULT_PROTOCOL_PARAMS;
  const eps = epsilon(o.alpha ?? DESIGN_ALPHA);
  const bond = challengeBond(p, o.collateral);
  return (eps * Number(o.collateral) * p.challengerShareBps) / BPS - (1 - eps) * Number(bond);
}

/** The first bond of a challenge: max(challengeBond, challengeBondBps × C) (Disputes.challenge). */
export function challengeBond(p: Pick<ProtocolParamsValues, "challengeBond" | "challengeBondBps">, c: bigint): bigint {
  const share = (c * BigInt(p.challengeBondBps)) / BigInt(BPS);
  return share > p.challengeBond ? share : p.challengeBond;
}

/**
 * Condition (c): requests of its stage after which a cheater faking share f is caught with
 * probability `confidence`, η being the chance a sampled fake is slashed (1 with honest
 * verifiers): N = ⌈ln(1 − confidence) / ln(1 − f η)⌉ samples, divided by the rate.
 */
export function requestsToCatch(f: number, ratePpm: number, confidence = 0.99, eta = 1): { samples: number; requests: number } {
  const samples = Math.ceil(Math.log(1 - confidence) / Math.log(1 - f * eta));
  return { samples, requests: Math.ceil((samples * PPM) / ratePpm) };
}
