// Quotes from the gateway → the JobMarket's SignedQuote structs, choosing per stage the cheapest
// quotes until their max units cover the budget.
// The quotes are @shardmesh/node/receipts/eip712.ts `SignedQuote`s (the gateway's JSON turned
// back by its `signedQuoteFromJson`).
import type { SignedQuote } from "@shardmesh/node/receipts/eip712.ts";

export class QuotesMissingStageError extends Error {
  override name = "QuotesMissingStageError";
}

/** Cheapest unexpired quotes per stage covering `maxUnits` that allow a job ending at `expiresAt`;
 *  throws when a stage has none. */
export function chooseQuotes(
  all: readonly SignedQuote[],
  stageCount: number,
  maxUnits: number,
  nowSeconds: number,
  expiresAt = 0n,
): SignedQuote[] {
  const chosen: SignedQuote[] = [];
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
export function pricePerInference(quotes: readonly SignedQuote[]): bigint {
  return pricePerUnit(quotes.map((q) => q.quote));
}

/** Upper bound of one unit's price (an inference, or a token of a language model) over a job's
 *  stages: the highest price per stage, summed (royalty and fees not included). */
export function pricePerUnit(prices: readonly { stage: number; price: bigint }[]): bigint {
  const max = new Map<number, bigint>();
  for (const p of prices) if ((max.get(p.stage) ?? 0n) < p.price) max.set(p.stage, p.price);
  return [...max.values()].reduce((a, b) => a + b, 0n);
}
