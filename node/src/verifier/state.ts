// The verifier's state file: where event reading stopped (its cursor), the work still to do (seeds to fix,
// samples it was drawn for, spot-checked leaves, committee votes with their salts — a lost salt
// cannot reveal its committed vote — the disputes it is a party to and the open disputes per
// accused provider). Written atomically (temp file + rename). bigint values are kept as decimal
// strings.
import type { Address, Hex } from "viem";
import type { SavedCursor } from "../chain/cursor.ts";
import type { StageCheck } from "./check.ts";
import { readJsonState, writeJsonState } from "../util/json-state.ts";

/** A receipt whose seed this verifier fixes if nobody has when it is due. */
export interface SeedTask {
  jobId: bigint;
  receiptId: bigint;
  /** Block from which drawSamples can succeed (anchor + 2). */
  readyAt: bigint;
  failures?: number;
}

/** A sample this verifier was drawn for: check every stage, challenge what is wrong, attest. */
export interface SampleTask {
  jobId: bigint;
  receiptId: bigint;
  sampleNo: number;
  failures?: number;
  /** Per stage, the check's result (kept so a retried pass does not re-run it; not saved). */
  checks?: Record<number, StageCheck>;
}

/** A revealed leaf this verifier spot-checks unasked, or a wrong one whose challenge waits. */
export interface LeafTask {
  jobId: bigint;
  receiptId: bigint;
  sampleNo: number;
  stage: number;
  provider: Address;
  inputHash: Hex;
  outputHash: Hex;
  /** Passes that failed (chain or local errors); retried up to LEAF_RETRIES times. */
  failures?: number;
  /** The check's result, kept so a retried challenge does not re-fetch and re-run. */
  check?: StageCheck;
  /** A wrong leaf of a sample this verifier was drawn for (or spot-checked) whose challenge
   *  waits: for the open dispute against the same provider, or for a bond. */
  deferred?: boolean;
  /** Its bond was short once (reported once, not every pass). */
  bondShort?: boolean;
}

export interface VoteState {
  disputeId: string;
  round: number;
  fraud?: boolean;
  salt?: Hex;
  committed: boolean;
  revealed: boolean;
  /** Abstained (inconclusive check): nothing to commit. */
  abstained?: boolean;
}

export interface VerifierState {
  /** Where event reading stopped (node/src/chain/cursor.ts). */
  cursor?: SavedCursor;
  /** The first block not read yet, as files from before `cursor` kept it (read, never written). */
  nextBlock?: bigint;
  seeds: SeedTask[];
  samples: SampleTask[];
  leaves: LeafTask[];
  votes: VoteState[];
  /** Disputes this verifier drives (every one opened; parties first), until nothing is left to do. */
  watched: string[];
  /** Open disputes (any challenger's) by "jobId/accused": a wrong leaf of that provider waits. */
  openAccused: Record<string, string[]>;
}

const big = (v: unknown): bigint => BigInt(v as string);

export function readState(file: string): VerifierState | undefined {
  const raw = readJsonState<Record<string, unknown>>(file);
  if (raw === undefined) return undefined;
  const list = <T>(k: string) => (Array.isArray(raw[k]) ? (raw[k] as T[]) : []);
  return {
    cursor: raw.cursor && typeof raw.cursor === "object" ? (raw.cursor as SavedCursor) : undefined,
    nextBlock: raw.nextBlock === undefined ? undefined : big(raw.nextBlock),
    seeds: list<Record<string, unknown>>("seeds").map((s) => ({
      jobId: big(s.jobId),
      receiptId: big(s.receiptId),
      readyAt: big(s.readyAt),
    })),
    samples: list<Record<string, unknown>>("samples").map((s) => ({
      jobId: big(s.jobId),
      receiptId: big(s.receiptId),
      sampleNo: Number(s.sampleNo),
      failures: s.failures === undefined ? undefined : Number(s.failures),
    })),
    leaves: list<Record<string, unknown>>("leaves").map((l) => ({
      ...(l as unknown as LeafTask),
      jobId: big(l.jobId),
      receiptId: big(l.receiptId),
    })),
    votes: list<VoteState>("votes"),
    watched: list<string>("watched"),
    openAccused: raw.openAccused && typeof raw.openAccused === "object" ? (raw.openAccused as Record<string, string[]>) : {},
  };
}

export function writeState(file: string, s: VerifierState): void {
  writeJsonState(
    file,
    {
      cursor: s.cursor,
      seeds: s.seeds,
      samples: s.samples.map((t) => ({ ...t, checks: undefined })),
      leaves: s.leaves.map((l) => ({ ...l, check: undefined })),
      votes: s.votes,
      watched: s.watched,
      openAccused: s.openAccused,
    },
    1,
  );
}
