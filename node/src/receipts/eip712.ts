// EIP-712 typed data for quotes and receipts, mirroring contracts/libraries/ReceiptHashing.sol.
// Domain: { name: "ShardMesh", version: "1", chainId, verifyingContract: JobMarket } (docs/PROTOCOL.md).
import { getAddress, parseSignature } from "viem";
import type { Address, Hex, TypedDataDomain } from "viem";

export const EIP712_NAME = "ShardMesh";
export const EIP712_VERSION = "1";

export const quoteTypes = {
  Quote: [
    { name: "modelId", type: "uint256" },
    { name: "stage", type: "uint16" },
    { name: "provider", type: "address" },
    { name: "buyer", type: "address" },
    { name: "price", type: "uint96" },
    { name: "maxUnits", type: "uint32" },
    { name: "expiry", type: "uint64" },
    { name: "maxJobExpiry", type: "uint64" },
    { name: "nonce", type: "uint256" },
  ],
} as const;

export const buyerReceiptTypes = {
  BuyerReceipt: [
    { name: "jobId", type: "uint256" },
    { name: "count", type: "uint32" },
    { name: "units", type: "uint32" },
    { name: "outputRoot", type: "bytes32" },
  ],
} as const;

export const providerReceiptTypes = {
  ProviderReceipt: [
    { name: "jobId", type: "uint256" },
    { name: "stage", type: "uint16" },
    { name: "count", type: "uint32" },
    { name: "units", type: "uint32" },
    { name: "root", type: "bytes32" },
    { name: "outputRoot", type: "bytes32" },
  ],
} as const;

/** A hand-off across cut `boundary` of request `nonce`: the provider of stage `boundary - 1`
 *  signs the hash of the bag it actually sent (docs/PROTOCOL.md, "Signed statements"); SpotCheck
 *  takes it to answer a hand-off claim. */
export const handOffTypes = {
  HandOff: [
    { name: "jobId", type: "uint256" },
    { name: "nonce", type: "uint64" },
    { name: "boundary", type: "uint16" },
    { name: "hash", type: "bytes32" },
  ],
} as const;

export interface HandOff {
  jobId: bigint;
  nonce: bigint;
  boundary: number;
  hash: Hex;
}

export function handOffTypedData(domain: TypedDataDomain, handOff: HandOff) {
  return { domain, types: handOffTypes, primaryType: "HandOff" as const, message: { ...handOff } };
}

export function signHandOff(signer: TypedDataSigner, domain: TypedDataDomain, handOff: HandOff): Promise<Hex> {
  return signer.signTypedData(handOffTypedData(domain, handOff));
}

/** A buyer's request in a job: the session key signs (jobId, nonce, requestHash) for the gateway
 *  (headers `x-shardmesh-signature`, `x-shardmesh-nonce`), under the same domain as receipts. The
 *  nonce is new in the job (the request's number in it, 0-based): a signature buys one request. */
export const jobRequestTypes = {
  JobRequest: [
    { name: "jobId", type: "uint256" },
    { name: "nonce", type: "uint64" },
    { name: "requestHash", type: "bytes32" },
  ],
} as const;

/** What a job's session key signs for one request (JobRequest). */
export interface JobRequest {
  jobId: bigint;
  /** New in the job: answered at most once (the buyer leaf's nonce, the request's trace index). */
  nonce: bigint;
  requestHash: Hex;
}

/** A provider's offer for one stage of one model, made out to one buyer (the JobMarket `Quote`
 *  struct): `price` per unit up to `maxUnits`, for a job opened by `expiry` that ends by
 *  `maxJobExpiry`. */
export interface Quote {
  modelId: bigint;
  stage: number;
  provider: Address;
  buyer: Address;
  price: bigint;
  maxUnits: number;
  expiry: bigint;
  maxJobExpiry: bigint;
  nonce: bigint;
}

/** A quote with its provider's signature, as `openJob` takes it. */
export interface SignedQuote {
  quote: Quote;
  signature: Hex;
}

/** A signed quote from its JSON form (numbers as decimal strings or numbers, as the gateway's
 *  `GET /v1/quotes` and the quote protocol send it); throws on a malformed one. */
export function signedQuoteFromJson(raw: unknown): SignedQuote {
  const r = raw as { quote?: Record<string, string | number>; signature?: unknown } | null;
  const q = r?.quote;
  if (!q || typeof r?.signature !== "string") throw new TypeError("a signed quote needs quote and signature");
  return {
    quote: {
      modelId: BigInt(q.modelId),
      stage: Number(q.stage),
      provider: getAddress(String(q.provider)),
      buyer: getAddress(String(q.buyer)),
      price: BigInt(q.price),
      maxUnits: Number(q.maxUnits),
      expiry: BigInt(q.expiry),
      maxJobExpiry: BigInt(q.maxJobExpiry),
      nonce: BigInt(q.nonce),
    },
    signature: r.signature as Hex,
  };
}

/** The session key's statement: requests [0, count) of the job, worth `units` units, are
 *  answered under outputRoot. */
export interface BuyerReceipt {
  jobId: bigint;
  count: number;
  units: number;
  outputRoot: Hex;
}

/** A stage provider's statement: it served `count` requests worth `units` units of the job at
 *  `stage` so far; this receipt's leaves are under `root`, and it checked the buyer tree
 *  `outputRoot` (its route entries). */
export interface ProviderReceipt {
  jobId: bigint;
  stage: number;
  count: number;
  units: number;
  root: Hex;
  outputRoot: Hex;
}

/** Anything that signs EIP-712 typed data: a viem LocalAccount, or `walletSigner(wallet)`. */
export interface TypedDataSigner {
  signTypedData(typedData: {
    domain: TypedDataDomain;
    types: Record<string, readonly { name: string; type: string }[]>;
    primaryType: string;
    message: Record<string, unknown>;
  }): Promise<Hex>;
}

/** ShardToken's EIP-712 name (OpenZeppelin ERC20Permit, version "1"; its eip712Domain() says the same). */
export const TOKEN_EIP712_NAME = "ShardMesh Token";

/** EIP-2612 Permit, as ShardToken checks it for stakeWithPermit and openJobWithPermit. */
export const permitTypes = {
  Permit: [
    { name: "owner", type: "address" },
    { name: "spender", type: "address" },
    { name: "value", type: "uint256" },
    { name: "nonce", type: "uint256" },
    { name: "deadline", type: "uint256" },
  ],
} as const;

export interface Permit {
  owner: Address;
  spender: Address;
  value: bigint;
  nonce: bigint;
  deadline: bigint;
}

/** The token's permit domain on `chainId` (name and version as deployed unless given). */
export function tokenPermitDomain(
  chainId: number | bigint,
  token: Address,
  name: string = TOKEN_EIP712_NAME,
  version = "1",
): TypedDataDomain {
  return { name, version, chainId: Number(chainId), verifyingContract: token };
}

export function permitTypedData(domain: TypedDataDomain, permit: Permit) {
  return { domain, types: permitTypes, primaryType: "Permit" as const, message: { ...permit } };
}

/** A permit signature split the way the contracts take it: v (27 or 28), r, s. */
export function permitSignatureParts(signature: Hex): { v: number; r: Hex; s: Hex } {
  const { v, yParity, r, s } = parseSignature(signature);
  return { v: Number(v ?? BigInt(yParity + 27)), r, s };
}

/** The domain quotes and receipts are signed under. */
export function shardMeshDomain(chainId: number | bigint, jobMarket: Address): TypedDataDomain {
  return { name: EIP712_NAME, version: EIP712_VERSION, chainId: Number(chainId), verifyingContract: jobMarket };
}

export function quoteTypedData(domain: TypedDataDomain, quote: Quote) {
  return { domain, types: quoteTypes, primaryType: "Quote" as const, message: { ...quote } };
}

export function buyerReceiptTypedData(domain: TypedDataDomain, receipt: BuyerReceipt) {
  return { domain, types: buyerReceiptTypes, primaryType: "BuyerReceipt" as const, message: { ...receipt } };
}

export function providerReceiptTypedData(domain: TypedDataDomain, receipt: ProviderReceipt) {
  return { domain, types: providerReceiptTypes, primaryType: "ProviderReceipt" as const, message: { ...receipt } };
}

export function jobRequestTypedData(domain: TypedDataDomain, request: JobRequest) {
  return { domain, types: jobRequestTypes, primaryType: "JobRequest" as const, message: { ...request } };
}

export function signJobRequest(signer: TypedDataSigner, domain: TypedDataDomain, request: JobRequest): Promise<Hex> {
  return signer.signTypedData(jobRequestTypedData(domain, request));
}

export async function signQuote(signer: TypedDataSigner, domain: TypedDataDomain, quote: Quote): Promise<SignedQuote> {
  return { quote, signature: await signer.signTypedData(quoteTypedData(domain, quote)) };
}

export function signBuyerReceipt(signer: TypedDataSigner, domain: TypedDataDomain, receipt: BuyerReceipt): Promise<Hex> {
  return signer.signTypedData(buyerReceiptTypedData(domain, receipt));
}

export function signProviderReceipt(signer: TypedDataSigner, domain: TypedDataDomain, receipt: ProviderReceipt): Promise<Hex> {
  return signer.signTypedData(providerReceiptTypedData(domain, receipt));
}

/** Adapts a viem WalletClient-like object (`signTypedData({ account, ... })`) to a TypedDataSigner. */
export function walletSigner(wallet: {
  account?: { address: Address } | undefined;
  signTypedData: (args: never) => Promise<Hex>;
}): TypedDataSigner {
  return {
    signTypedData: (typedData) => (wallet.signTypedData as (args: unknown) => Promise<Hex>)({ account: wallet.account, ...typedData }),
  };
}
