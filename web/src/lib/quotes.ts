// Quotes from the gateway → the JobMarket's SignedQuote structs, choosing per stage the cheapest
// quotes until their max units cover the budget.
import { getAddress, type Address, type Hex } from "viem";
import type { SignedQuoteJson } from "./gateway";

export interface SignedQuoteArg {
  quote: {
    modelId: bigint;
    stage: number;
    provider: Address;
    buyer: Address;
    price: bigint;
    maxUnits: number;
    expiry: bigint;
    maxJobExpiry: bigint;
    nonce: bigint;
  };
  signature: Hex;
}

export class QuotesMissingStageError extends Error {
  override name = "QuotesMissingStageError";
}

export function toQuoteArg(q: SignedQuoteJson): SignedQuoteArg {
  return {
    quote: {
      modelId: BigInt(q.quote.modelId),
      stage: Number(q.quote.stage),
      provider: getAddress(q.quote.provider),
      buyer: getAddress(q.quote.buyer),
      price: BigInt(q.quote.price),
      maxUnits: Number(q.quote.maxUnits),
      expiry: BigInt(q.quote.expiry),
      maxJobExpiry: BigInt(q.quote.maxJobExpiry),
      nonce: BigInt(q.quote.nonce),
    },
    signature: q.signature,
  };
}

/** Cheapest unexpired quotes per stage covering `maxUnits` that allow a job ending at `expiresAt`;
 *  throws when a stage has none. */
export function chooseQuotes(
  all: readonly SignedQuoteArg[],
  stageCount: number,
  maxUnits: number,
  nowSeconds: number,
  expiresAt = 0n,
): SignedQuoteArg[] {
  const chosen: SignedQuoteArg[] = [];
  for (let stage = 0; stage < stageCount; stage++) {
    const options = all
      .filter((q) => q.quote.stage === stage && Number(q.quote.expiry) > nowSeconds + 60 && q.quote.maxJobExpiry >= expiresAt)
      .sort((a, b) => (a.quote.price < b.quote.price ? -1 : a.quote.price > b.quote.price ? 1 : b.quote.maxUnits - a.quote.maxUnits));
    if (options.length === 0) throw new QuotesMissingStageError(`no valid quote for stage ${stage}`);
    let covered = 0;
    for (const q of options) {
      chosen.push(q);
      covered += q.quote.maxUnits;
      if (covered >= maxUnits) break;
    }
  }
  // The contract wants quotes sorted by stage then provider for deterministic processing.
  return chosen.sort(
    (a, b) => a.quote.stage - b.quote.stage || a.quote.provider.toLowerCase().localeCompare(b.quote.provider.toLowerCase()),
  );
}

/** Upper bound of what the buyer pays per inference: the highest chosen price per stage. */
export function pricePerInference(quotes: readonly SignedQuoteArg[]): bigint {
  const max = new Map<number, bigint>();
  for (const q of quotes) if ((max.get(q.quote.stage) ?? 0n) < q.quote.price) max.set(q.quote.stage, q.quote.price);
  return [...max.values()].reduce((a, b) => a + b, 0n);
}
