// The verifier's state file: where event reading stopped, leaves read but not yet handled, and
// committee votes with their salts (a lost salt cannot reveal its committed vote). Written
// atomically (temp file + rename).
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Address, Hex } from "viem";
import type { StageCheck } from "./check.ts";

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
}

export interface VoteState {
  disputeId: string;
  fraud?: boolean;
  salt?: Hex;
  committed: boolean;
  revealed: boolean;
  /** Abstained (inconclusive check): nothing to commit. */
  abstained?: boolean;
}

export interface VerifierState {
  nextBlock?: bigint;
  leaves: LeafTask[];
  votes: VoteState[];
  /** Disputes this verifier challenged or sits on, until they are resolved. */
  watched: string[];
}

type SavedLeaf = Omit<LeafTask, "jobId" | "receiptId" | "check"> & { jobId: string; receiptId: string };

export function readState(file: string): VerifierState | undefined {
  if (!existsSync(file)) return undefined;
  const raw = JSON.parse(readFileSync(file, "utf8")) as {
    nextBlock?: string;
    votes?: VoteState[];
    watched?: string[];
    leaves?: SavedLeaf[];
  };
  return {
    nextBlock: raw.nextBlock === undefined ? undefined : BigInt(raw.nextBlock),
    leaves: (raw.leaves ?? []).map((l) => ({ ...l, jobId: BigInt(l.jobId), receiptId: BigInt(l.receiptId) })),
    votes: raw.votes ?? [],
    watched: raw.watched ?? [],
  };
}

export function writeState(file: string, s: VerifierState): void {
  mkdirSync(dirname(file), { recursive: true });
  const leaves = s.leaves.map((l) => ({ ...l, jobId: l.jobId.toString(), receiptId: l.receiptId.toString(), check: undefined }));
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, JSON.stringify({ nextBlock: s.nextBlock?.toString(), votes: s.votes, watched: s.watched, leaves }, null, 1));
  renameSync(tmp, file);
}
