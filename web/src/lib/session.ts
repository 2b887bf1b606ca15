// Session keys: a fresh secp256k1 key per job, created and kept in this browser (localStorage),
// so receipts and job requests are signed without a wallet prompt each time. It can only sign
// for its own job; losing it only means the buyer signs receipts from another device's key.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";
import type { LoggedResponse } from "@shardmesh/node/sdk/check.ts";

const PREFIX = "shardmesh:session:";

export interface SessionKey {
  address: Address;
  privateKey: Hex;
}

export function createSessionKey(): SessionKey {
  const privateKey = generatePrivateKey();
  return { privateKey, address: privateKeyToAccount(privateKey).address };
}

type KV = Pick<Storage, "getItem" | "setItem">;

function slot(chainId: number, jobId: string): string {
  return `${PREFIX}${chainId}:${jobId}`;
}

export function saveSessionKey(storage: KV, chainId: number, jobId: string, key: SessionKey): void {
  storage.setItem(slot(chainId, jobId), JSON.stringify(key));
}

export function loadSessionKey(storage: KV, chainId: number, jobId: string): SessionKey | undefined {
  try {
    const raw = storage.getItem(slot(chainId, jobId));
    if (!raw) return undefined;
    const key = JSON.parse(raw) as SessionKey;
    return privateKeyToAccount(key.privateKey).address === key.address ? key : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The buyer's own log of a job's answered, not yet receipted requests (by the index /v1/infer
 * answered), kept beside the session key: before the key signs a receipt, the receipt is checked
 * against it (checkReceiptToSign), and what was signed leaves it.
 */
export type AnswerLog = Map<number, LoggedResponse>;

function answersSlot(chainId: number, jobId: string): string {
  return `shardmesh:answers:${chainId}:${jobId}`;
}

export function loadAnswers(storage: Pick<Storage, "getItem">, chainId: number, jobId: string): AnswerLog {
  try {
    const raw = storage.getItem(answersSlot(chainId, jobId));
    return new Map(raw ? (JSON.parse(raw) as [number, LoggedResponse][]) : []);
  } catch {
    return new Map();
  }
}

function saveAnswers(storage: KV, chainId: number, jobId: string, log: AnswerLog): void {
  storage.setItem(answersSlot(chainId, jobId), JSON.stringify([...log]));
}

export function recordAnswer(storage: KV, chainId: number, jobId: string, index: number, answer: LoggedResponse): void {
  const log = loadAnswers(storage, chainId, jobId);
  log.set(index, answer);
  saveAnswers(storage, chainId, jobId, log);
}

/** Drops the answers a signed receipt covered (they can never be billed again). */
export function forgetAnswers(storage: KV, chainId: number, jobId: string, indices: readonly number[]): void {
  const log = loadAnswers(storage, chainId, jobId);
  for (const i of indices) log.delete(i);
  saveAnswers(storage, chainId, jobId, log);
}

/**
 * Request nonces: the session key signs each request of a job for one nonce (JobRequest(jobId,
 * nonce, requestHash)) and the gateway answers a nonce once per job. This browser numbers its
 * requests 0, 1, 2, … and keeps the next number beside the session key, so a reload never signs
 * an answered nonce again; the gateway stays the judge (a nonce another tab or device answered is
 * JobsNonceReusedError, and the request is signed again for the next one, lib/paid.ts withNonce).
 */
function nonceSlot(chainId: number, jobId: string): string {
  return `shardmesh:nonce:${chainId}:${jobId}`;
}

/** The next nonce this browser signs a request of the job for (0 for a job it has not used). */
export function nextNonce(storage: Pick<Storage, "getItem">, chainId: number, jobId: string): number {
  const n = Number(storage.getItem(nonceSlot(chainId, jobId)) ?? "0");
  return Number.isSafeInteger(n) && n >= 0 ? n : 0;
}

/** `nonce` is answered (or taken elsewhere): the next request signs a later one. Never goes back. */
export function spendNonce(storage: KV, chainId: number, jobId: string, nonce: number): void {
  if (nonce + 1 > nextNonce(storage, chainId, jobId)) storage.setItem(nonceSlot(chainId, jobId), String(nonce + 1));
}
