// Session keys: a fresh secp256k1 key per job, created and kept in this browser (localStorage),
// so receipts and job requests are signed without a wallet prompt each time. It can only sign
// for its own job; losing it only means the buyer signs receipts from another device's key.
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import type { Address, Hex } from "viem";

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
