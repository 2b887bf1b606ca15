// Paid requests from this browser: the image is pre-processed by the gateway (/v1/prepare, as
// browsers have no node-side image pipeline), the job's session key (kept in localStorage)
// signs EIP-712 JobRequest(jobId, nonce, requestHash) without a wallet prompt, and /v1/infer runs
// the exact tensors that were hashed, under the job. The nonce is the request's number in the job,
// kept beside the session key (lib/session.ts nextNonce): a signature buys one request. Types are @shardmesh/node/receipts/eip712.ts.
// A language model's chat turn is signed the same way over keccak256 of its exact body text
// (@shardmesh/node/jobs/session.ts generationRequestHash), units being tokens.
import type { Address, Hex } from "viem";
import type { JobRequest } from "@shardmesh/node/receipts/eip712.ts";
import { privateKeyToAccount } from "viem/accounts";
import { jobRequestTypedData, shardMeshDomain } from "@shardmesh/node/receipts/eip712.ts";
import { generationRequestHash } from "@shardmesh/node/jobs/session.ts";
import { checkInferResponse } from "@shardmesh/node/sdk/check.ts";
import type { PrepareResponse } from "@shardmesh/node/gateway/api.ts";
import { gateway, GatewayError, gatewayFetch, type InferResponse } from "./gateway";
import { jobStatus, type JobInfo } from "./jobs";
import { loadSessionKey, nextNonce, spendNonce } from "./session";

export { jobRequestTypes } from "./receipts";

export function signJobRequest(sessionKey: Hex, chainId: number, jobMarket: Address, request: JobRequest): Promise<Hex> {
  return privateKeyToAccount(sessionKey).signTypedData(jobRequestTypedData(shardMeshDomain(chainId, jobMarket), request));
}

/** The x-shardmesh-signature of a language-model request under `jobId`: JobRequest(jobId, nonce,
 *  keccak256(body)) signed by the job's session key, `body` being the exact text sent. */
export function signGenerationBody(
  sessionKey: Hex,
  chainId: number,
  jobMarket: Address,
  jobId: string,
  nonce: number,
  body: string,
): Promise<Hex> {
  return signJobRequest(sessionKey, chainId, jobMarket, {
    jobId: BigInt(jobId),
    nonce: BigInt(nonce),
    requestHash: generationRequestHash(body),
  });
}

/** Most nonces one request tries when the gateway names them answered (by another tab or device). */
export const NONCE_ATTEMPTS = 8;

/**
 * Sends a paid request as the job's next nonce (kept in `storage` beside the session key). The
 * nonce is spent once the gateway answered, or named it answered or in flight
 * (JobsNonceReusedError: another tab or device used it; the request is signed again for the next
 * one). A request that failed otherwise keeps its nonce for the next try: the gateway frees the
 * nonce of a request it did not answer, and never answers one twice.
 */
export async function withNonce<T>(
  storage: Pick<Storage, "getItem" | "setItem">,
  chainId: number,
  jobId: string,
  send: (nonce: number) => Promise<T>,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const nonce = nextNonce(storage, chainId, jobId);
    try {
      const res = await send(nonce);
      spendNonce(storage, chainId, jobId, nonce);
      return res;
    } catch (e) {
      if (!(e instanceof GatewayError && e.gatewayName === "JobsNonceReusedError")) throw e;
      spendNonce(storage, chainId, jobId, nonce);
      if (attempt >= NONCE_ATTEMPTS) throw e;
    }
  }
}

/**
 * Units the gateway served under the job beyond its receipts (what the next receipt will count):
 * 0 when there is none (JobsNothingToReceiptError). Units used = the chain's receipted units +
 * these.
 */
export async function unreceiptedUnits(jobId: string, receiptToSign = gateway.receiptToSign): Promise<number> {
  try {
    return Number((await receiptToSign(jobId)).units);
  } catch (e) {
    if (e instanceof GatewayError && e.gatewayName === "JobsNothingToReceiptError") return 0;
    throw e;
  }
}

/** Open jobs of this buyer for `modelId` whose session key this browser holds and that have inferences left. */
export function payableJobs(jobs: JobInfo[], modelId: string, now: number, storage: Pick<Storage, "getItem">, chainId: number): JobInfo[] {
  return jobs.filter(
    (j) =>
      j.modelId === modelId &&
      jobStatus(j, now) === "open" &&
      j.used < j.maxUnits &&
      loadSessionKey({ getItem: (k) => storage.getItem(k), setItem: () => {} }, chainId, j.id) !== undefined,
  );
}

/** prepare → sign with the session key for the job's next nonce (withNonce) → infer under the job. */
export async function runPaid(args: {
  modelId: string;
  jobId: string;
  sessionKey: Hex;
  chainId: number;
  jobMarket: Address;
  imageBase64: string;
  base?: string;
  /** Where the job's next nonce is kept (default: this browser's localStorage). */
  storage?: Pick<Storage, "getItem" | "setItem">;
}): Promise<InferResponse> {
  const json = { "content-type": "application/json" };
  const prepared = await gatewayFetch<PrepareResponse>("/v1/prepare", {
    base: args.base,
    method: "POST",
    headers: json,
    body: JSON.stringify({ modelId: args.modelId, input: { image: args.imageBase64 } }),
  });
  const res = await withNonce(args.storage ?? window.localStorage, args.chainId, args.jobId, async (nonce) => {
    const signature = await signJobRequest(args.sessionKey, args.chainId, args.jobMarket, {
      jobId: BigInt(args.jobId),
      nonce: BigInt(nonce),
      requestHash: prepared.requestHash,
    });
    return gatewayFetch<InferResponse>("/v1/infer", {
      base: args.base,
      method: "POST",
      headers: { ...json, "x-shardmesh-job": args.jobId, "x-shardmesh-nonce": String(nonce), "x-shardmesh-signature": signature },
      body: JSON.stringify({ modelId: args.modelId, jobId: args.jobId, input: { tensors: prepared.tensors } }),
    });
  });
  // The hashes the receipt will carry must be those of the tensors sent and the output received.
  checkInferResponse({ input: { tensors: prepared.tensors } }, res);
  return res;
}

/** A readable line for a failed paid request, decoded by the gateway's error name. */
export function describePaidError(name: string, message: string): string {
  if (name === "JobsJobUnavailableError") {
    if (/used all/.test(message)) return `Job used up: ${message}. Open a new job to keep going.`;
    if (/expired/.test(message)) return `Job expired: ${message}. Close it to refund the unused escrow.`;
    if (/not open/.test(message)) return `Job closed: ${message}.`;
    return `Job unavailable: ${message}`;
  }
  if (name === "JobsUnitsExceededError") return `Not enough units left in the job: ${message}. Lower max tokens or open a new job.`;
  if (name === "JobsNonceReusedError")
    return `This request was already answered under the job (its nonce is used): ${message}. Send it again.`;
  if (name === "GatewayUnauthorizedError") return `Signature refused: the session key in this browser is not the job's (${message}).`;
  if (name === "ImageDecodeError") return `Not an image the gateway can read: ${message}`;
  if (name === "GatewayUnreachableError") return `Gateway unreachable: ${message}`;
  if (name === "GatewayChainUnavailableError") return `This gateway has no chain connection for paid requests: ${message}`;
  return `${name}: ${message}`;
}
