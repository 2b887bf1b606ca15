// One hop: run one stage of a model on a bag. This node's own stages (PipelineServer) and a remote
// provider's (PipelineClient.hop) answer the same call, so the router has one code path for both.
import type { Hex } from "viem";
import type { WireBag } from "../tensor/index.ts";
import type { SignedJobRequest } from "./jobrequest.ts";

export interface HopRequest {
  modelId: string;
  stage: number;
  bag: WireBag;
  /**
   * bagHash of `bag` when the caller already computed it. An in-process stage uses it instead of
   * hashing the bytes again; a remote provider hashes what it received.
   */
  inputHash?: Hex;
  /** Job and request index the stage traces the request under (untraced without a job). */
  jobId?: string;
  index?: number;
  /** Stage > 0 of a job request: the previous stage's HandOff signature over `bag` (pipeline/handoff.ts). */
  upstreamHandOff?: Hex;
  /** A job request: the buyer's signed request (pipeline/jobrequest.ts), the same at every stage. */
  jobRequest?: SignedJobRequest;
}

export interface HopResult {
  bag: WireBag;
  /** bagHash of the input and output as the stage computed them (absent for untraced requests). */
  inputHash?: Hex;
  outputHash?: Hex;
  /** A job request's stage before the last: its provider's HandOff signature over the output sent. */
  handOff?: Hex;
  /** Stage compute time, ms. */
  computeMs: number;
  /** Round trip seen by the caller, ms. */
  ms: number;
}

export interface HopOptions {
  signal?: AbortSignal;
  /** Deadline of the hop, ms; past it the call rejects with PipelineTimeoutError. */
  timeoutMs?: number;
}

/** A stage that answers hops: rejects with a named error, never hangs past `timeoutMs`. */
export interface Hop {
  call(req: HopRequest, options?: HopOptions): Promise<HopResult>;
}

/** This node's own stages as the router sees them. */
export interface LocalStages extends Hop {
  /** This node's peer id (a provider in the directory like any other). */
  readonly peerId: string;
  serves(modelId: string, stage: number): boolean;
}
