// The gateway's HTTP API, defined once: what every route takes and answers. The gateway
// (./server.ts) returns these types, the SDK (node/src/sdk) and the web app read them, and the
// OpenAPI document (./openapi.ts) describes them. Types only: importing this module costs a
// browser bundle nothing.
import type { Hex } from "viem";
import type { JsonTensor, NamedJsonTensor } from "../tensor/codec.ts";
import type { GatewayRequestRecord, TraceRecord } from "../trace/store.ts";
import type { BuyerLeavesWire } from "../receipts/leaves.ts";

export type { DType as DtypeName } from "../tensor/tensor.ts";
export type { JsonTensor, NamedJsonTensor } from "../tensor/codec.ts";

export interface Health {
  ok: boolean;
  peerId: string;
  chainId: number | null;
  version: string;
}

export interface ProviderInfo {
  peerId: string;
  stakingAddress: string | null;
  price: string;
  load: number;
  capacity: number;
  latencyMs: number;
}

export interface ModelInfo {
  id: string;
  name: string;
  stageCount: number;
  stages: { stage: number; providers: ProviderInfo[] }[];
}

export interface InferRequest {
  /** The mesh's model id; an on-chain id may be sent as a number. */
  modelId: string | number;
  jobId?: string;
  input: { image?: string; tensors?: Record<string, JsonTensor> };
}

export interface InferResponse {
  /** The request's index in the job's answered requests (what receipts count); null without a job. */
  index: number | null;
  /** The request nonce it was answered under (x-shardmesh-nonce; the buyer leaf's nonce); null without a job. */
  nonce: number | null;
  output: Record<string, NamedJsonTensor>;
  text?: string;
  requestHash: `0x${string}`;
  responseHash: `0x${string}`;
  stages: { stage: number; peerId: string; ms: number; retries: number }[];
}

/**
 * What a paid generation's answer carries beside OpenAI's fields (`shardmesh`; in the last
 * streamed chunk, the one with `usage`): the request as the job's receipt will count it.
 */
export interface PaidGeneration {
  jobId: string;
  /** The request's index in the job (what receipts count). */
  index: number;
  /** The request nonce it was answered under (x-shardmesh-nonce; the buyer leaf's nonce). */
  nonce: number;
  /** Units used: prompt tokens + sampled tokens (PROTOCOL, "Paid per token"). */
  units: number;
  /** Units reserved before generating (prompt + max_tokens); the rest went back to the job. */
  reserved: number;
  /** The buyer leaf's hashes: stage 0's input hidden states and the last stage's output ones, over every position. */
  requestHash: `0x${string}`;
  responseHash: `0x${string}`;
}

export interface PrepareResponse {
  /** The model input tensors `/v1/infer` computes from the image; send them as `input.tensors`. */
  tensors: Record<string, NamedJsonTensor>;
  /** Bag hash of `tensors`: what the session key signs in `JobRequest(jobId, nonce, requestHash)`. */
  requestHash: `0x${string}`;
}

export interface JobStatus {
  jobId: string;
  served: number;
  /**
   * Per-request details (hashes, routes): only for the job's session key (a details signature,
   * node/src/jobs/details.ts), or on a development mesh without a chain.
   */
  requests?: GatewayRequestRecord[];
  stageRecords?: TraceRecord[];
  receipts: ReceiptStatus[];
}

export interface MeshPeer {
  peerId: string;
  self: boolean;
  stakingAddress: string | null;
  addrs: string[];
  gateway: string | null;
  stages: { modelId: string; stage: number; price: string }[];
  load: number;
  capacity: number;
  latencyMs: number;
  served: number;
  failed: number;
  penalty: number;
  ageMs: number;
  /** Whether peers outside reach it directly (behind NAT: "unreachable", dialled through relays). */
  reach: "unknown" | "reachable" | "unreachable";
  /** Present when it offers circuit relaying. */
  relay: { dataLimitBytes: string; durationLimitMs: number } | null;
  /** How the gateway's open hop to it carries tensors (null: none open). */
  path: "self" | "direct" | "punched" | "stream" | "relayed" | null;
  /** The relay's peer id when that hop's connection is relayed. */
  via: string | null;
}

export interface MeshStatus {
  self: string;
  peers: MeshPeer[];
}

/** A provider's signed quote as JSON: the JobMarket `Quote` struct (receipts/eip712.ts `Quote`) with
 *  its uint256 fields as decimal strings; `signedQuoteFromJson` turns it back into `openJob`'s argument. */
export interface SignedQuoteJson {
  quote: {
    modelId: string;
    stage: number;
    provider: Hex;
    buyer: Hex;
    price: string;
    maxUnits: number;
    expiry: string;
    maxJobExpiry: string;
    nonce: string;
  };
  signature: Hex;
}

/** GET /v1/quotes: EIP-712 quotes per stage for `openJob`, made out to the buyer. */
export interface QuotesResponse {
  quotes: SignedQuoteJson[];
}

/** GET /v1/jobs/{jobId}/receipt: what the job's session key signs for its next receipt. */
export interface ReceiptToSign {
  jobId: string;
  from: number;
  count: number;
  units: number;
  outputRoot: Hex;
  /** The gateway's request indices (as /v1/infer answered them) of requests from..count-1. */
  requests: number[];
  /** The buyer leaves under outputRoot (leaf from + k answers requests[k]): the buyer checks them against its own log. */
  leaves: BuyerLeavesWire;
}

/** POST /v1/jobs/{jobId}/receipt body. */
export interface SubmitReceiptBody {
  count: number;
  units: number;
  outputRoot: string;
  signature: string;
}

export type ReceiptState = "submitted" | "sampled" | "revealed" | "settled";

/** POST /v1/jobs/{jobId}/receipt answer. */
export interface SubmittedReceiptInfo {
  jobId: string;
  receiptId: string;
  from: number;
  count: number;
  outputRoot: Hex;
  txHash: Hex;
  state: ReceiptState;
}

/** One receipt the gateway submitted for a job, in GET /v1/jobs/{jobId}. */
export interface ReceiptStatus {
  receiptId: string;
  from: number;
  count: number;
  outputRoot: Hex;
  txHash: Hex;
  state: ReceiptState;
  samples: number[];
  parts: { stage: number; provider: Hex; newCount: number; root: Hex }[];
  lastError?: string;
}

/** `{ error: { name, message } }` with the HTTP status of the error's name (./status.ts). */
export interface ErrorBody {
  error: { name: string; message: string };
}
