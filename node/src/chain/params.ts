// The trust layer's parameter set (contracts/interfaces/IProtocolParams.sol `Params`): its TypeScript
// shape, the defaults a deployment starts with (derived in docs/PROTOCOL.md, "Parameters" and
// "Economics"), and the JSON form deployments/<chainId>.json keeps (token amounts as decimal strings).
import { parseEther, zeroAddress } from "viem";
import type { Address } from "viem";

/** One parameter set, as `ProtocolParams.paramsAt(version)` returns it. Windows in seconds. */
export interface ProtocolParamsValues {
  reveal: number;
  challenge: number;
  handOff: number;
  answer: number;
  commit: number;
  voteReveal: number;
  appeal: number;
  maxJobDuration: number;
  verifierFeeBps: number;
  treasuryFeeBps: number;
  challengerShareBps: number;
  jurorShareBps: number;
  collateralMultipleBps: number;
  challengeBondBps: number;
  minCollateral: bigint;
  challengeBond: bigint;
  attestDeposit: bigint;
  jurorDeposit: bigint;
  /** Receives treasury fees and the rest of slashes (fees and chain-proven slashes). */
  treasury: Address;
}

/** The same with token amounts as decimal strings (deployments/<chainId>.json). */
export type ProtocolParamsJson = Omit<ProtocolParamsValues, "minCollateral" | "challengeBond" | "attestDeposit" | "jurorDeposit"> & {
  minCollateral: string;
  challengeBond: string;
  attestDeposit: string;
  jurorDeposit: string;
};

const HOUR = 3600;

/** Version 1 of a fresh deployment (docs/PROTOCOL.md, "Parameters"). */
export const DEFAULT_PROTOCOL_PARAMS: ProtocolParamsValues = {
  reveal: HOUR,
  challenge: HOUR,
  handOff: HOUR / 2,
  answer: HOUR,
  commit: HOUR / 2,
  voteReveal: HOUR / 2,
  appeal: HOUR / 2,
  maxJobDuration: 30 * 24 * HOUR,
  verifierFeeBps: 500,
  treasuryFeeBps: 0,
  challengerShareBps: 3_000,
  jurorShareBps: 1_000,
  collateralMultipleBps: 30_000,
  challengeBondBps: 10,
  minCollateral: parseEther("50"),
  challengeBond: parseEther("5"),
  attestDeposit: parseEther("10"),
  jurorDeposit: parseEther("2"),
  /** Set at deployment (the deployer unless given). */
  treasury: zeroAddress,
};

/** The demo model's price per unit per stage and sampling rate (scripts/demo; README "Economics"). */
export const DEMO_MODEL = { stagePrice: parseEther("0.001"), samplingRatePpm: 10_000 } as const;

/** ModelRegistry.MIN_SAMPLING_RATE_PPM: the lowest rate a model may be published with (condition (c)). */
export const MIN_SAMPLING_RATE_PPM = 1_000;

/** Short windows for a local demo chain (31337 only: the contract refuses them elsewhere). */
export const DEMO_WINDOWS = { reveal: 60, challenge: 60, handOff: 30, answer: 60, commit: 30, voteReveal: 30, appeal: 30 } as const;

const AMOUNTS = ["minCollateral", "challengeBond", "attestDeposit", "jurorDeposit"] as const;

export function protocolParamsToJson(p: ProtocolParamsValues): ProtocolParamsJson {
  return { ...p, ...Object.fromEntries(AMOUNTS.map((k) => [k, p[k].toString()])) } as unknown as ProtocolParamsJson;
}

export function protocolParamsFromJson(j: ProtocolParamsJson): ProtocolParamsValues {
  return { ...j, ...Object.fromEntries(AMOUNTS.map((k) => [k, BigInt(j[k])])) } as unknown as ProtocolParamsValues;
}
