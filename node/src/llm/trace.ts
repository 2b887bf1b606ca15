// What a decoder stage keeps of a paid session, for receipts and spot checks (docs/PROTOCOL.md,
// "Paid per token").
//
// Per session and stage the provider keeps, in position order, the hidden state it received and
// the hidden state it returned for every position: two [1, P, d] float32 tensors (8·d bytes per
// position; 6 KiB at d = 768). Its stage leaf names them by their canonical bag hashes,
//   inputHash  = bagHash({ <hop-in name>:  [1, P, d] })
//   outputHash = bagHash({ <hop-out name>: [1, P, d] })
// which do not depend on how the positions were cut into steps (a prefill, then one per token;
// a failover's replay in one step), so the hand-off check stays equality: stage s's output hash
// equals stage s+1's input hash, and the gateway's buyer leaf carries stage 0's input hash as its
// requestHash and the last stage's output hash as its responseHash. A rollback (a step at a
// position below the session's length) drops the rows from that position on, as the KV cache
// does. A spot check re-runs the input in one prefill pass and compares every position within
// the model's tolerance (verify.ts).
//
// Units (what the request is paid for, at every stage alike): prompt tokens + sampled tokens =
// P + 1, where P is the positions each stage computed: every forward pass through the stages
// ends in one sampled token (a prefill, then one decode step per token fed back), and the last
// sampled token — the one that hit max_tokens or the end of text — is never fed back.
import type { Tensor } from "../tensor/index.ts";
import { bagHash } from "../tensor/index.ts";
import type { Hex } from "viem";
import { LlmError } from "./errors.ts";

/** A session's trace cannot be kept (shape changed mid-session, past its bound). */
export class SessionTraceError extends LlmError {
  override name = "SessionTraceError";
}

/** Units of a generation whose stages computed `positions` positions (prompt + sampled tokens). */
export function generationUnits(positions: number): number {
  return positions + 1;
}

/** Units reserved for a generation before it runs: its most (prompt + max_tokens). */
export function reservedUnits(promptTokens: number, maxTokens: number): number {
  return promptTokens + maxTokens;
}

/** The canonical hash of a side of a session's trace (a one-tensor bag). */
export function traceHash(name: string, rows: Tensor): Hex {
  return bagHash({ [name]: rows });
}

/**
 * Float32 rows of width d in position order, at most `maxPositions` of them (the session's
 * maxLength): bounded memory, 4·d·maxPositions bytes at most.
 */
export class PositionRows {
  private buf = new Float32Array(0);
  private width = 0;
  private readonly maxPositions: number;
  length = 0;

  constructor(maxPositions: number) {
    this.maxPositions = maxPositions;
  }

  /** Writes `t` ([1, n, d] float32) at positions [position, position + n); rows past it are dropped. */
  put(position: number, t: Tensor): void {
    if (t.dtype !== "float32" || t.dims.length !== 3 || t.dims[0] !== 1)
      throw new SessionTraceError(`a traced hidden state is float32 [1, n, d], got ${t.dtype} [${t.dims.join(",")}]`);
    const [, n, d] = t.dims;
    if (this.width === 0) this.width = d;
    if (d !== this.width) throw new SessionTraceError(`hidden width ${d} after ${this.width}`);
    if (position > this.length) throw new SessionTraceError(`position ${position} after ${this.length} traced positions`);
    const end = position + n;
    if (end > this.maxPositions) throw new SessionTraceError(`position ${end} past the session's ${this.maxPositions}`);
    if (end * d > this.buf.length) {
      const bigger = new Float32Array(Math.min(this.maxPositions, Math.max(end, 2 * (this.buf.length / d || 1))) * d);
      bigger.set(this.buf.subarray(0, this.length * d));
      this.buf = bigger;
    }
    this.buf.set(t.data as Float32Array, position * d);
    this.length = end;
  }

  /** Drops positions from `position` on. */
  truncate(position: number): void {
    this.length = Math.min(this.length, Math.max(0, position));
  }

  /** Positions [0, length) as one [1, length, d] tensor (a copy). */
  tensor(): Tensor {
    return { dtype: "float32", dims: [1, this.length, this.width], data: this.buf.slice(0, this.length * this.width) };
  }

  get bytes(): number {
    return this.length * this.width * 4;
  }
}

/** What a traced session leaves when it ends (the provider writes it to its trace store). */
export interface SessionTraceRecord {
  jobId: string;
  /** The gateway's trace index of the request. */
  index: number;
  /** The peer that opened the session (its owner); this node's id for its own stage. */
  owner: string;
  inputName: string;
  outputName: string;
  input: Tensor;
  output: Tensor;
  inputHash: Hex;
  outputHash: Hex;
  /** Positions computed (P). */
  positions: number;
  /** generationUnits(P). */
  units: number;
}

/** A session's trace while it runs: inputs and outputs per position. */
export class SessionTrace {
  readonly jobId: string;
  readonly index: number;
  readonly owner: string;
  private readonly input: PositionRows;
  private readonly output: PositionRows;
  private inputName = "";
  private outputName = "";

  constructor(key: { jobId: string; index: number; owner: string }, maxLength: number) {
    this.jobId = key.jobId;
    this.index = key.index;
    this.owner = key.owner;
    this.input = new PositionRows(maxLength);
    this.output = new PositionRows(maxLength);
  }

  /** One step: positions [position, position + n) went in as `input` and came out as `output`. */
  step(position: number, input: { name: string; t: Tensor }, output: { name: string; t: Tensor }): void {
    if (this.inputName === "") {
      this.inputName = input.name;
      this.outputName = output.name;
    }
    if (input.name !== this.inputName || output.name !== this.outputName)
      throw new SessionTraceError(`traced tensors changed names mid-session (${input.name}, ${output.name})`);
    if (input.t.dims[1] !== output.t.dims[1]) throw new SessionTraceError("a step's output covers other positions than its input");
    this.input.truncate(position);
    this.output.truncate(position);
    this.input.put(position, input.t);
    this.output.put(position, output.t);
  }

  /** The record to keep, or undefined when no position ran. */
  finish(): SessionTraceRecord | undefined {
    const P = this.input.length;
    if (P === 0) return undefined;
    const input = this.input.tensor();
    const output = this.output.tensor();
    return {
      jobId: this.jobId,
      index: this.index,
      owner: this.owner,
      inputName: this.inputName,
      outputName: this.outputName,
      input,
      output,
      inputHash: traceHash(this.inputName, input),
      outputHash: traceHash(this.outputName, output),
      positions: P,
      units: generationUnits(P),
    };
  }
}
