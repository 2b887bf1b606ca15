// /shardmesh/quote/1.0.0: a provider signs a fresh EIP-712 quote for a (model, stage, maxCount)
// it serves, with its staking key; the gateway collects quotes from the providers it routes to.
import { randomBytes } from "node:crypto";
import { logger } from "@libp2p/logger";
import { bytesToBigInt, getAddress, isAddress } from "viem";
import type { Address } from "viem";
import { signQuote, signedQuoteFromJson } from "../receipts/eip712.ts";
import type { SignedQuote } from "../receipts/eip712.ts";
import { marketDomain } from "../chain/provider.ts";
import { callJson } from "./wire.ts";
import { chainNow, requireWallet } from "./context.ts";
import type { JobsContext } from "./context.ts";
import { MAX_QUOTES_PER_STAGE, QUOTE_MAX_JOB_SECONDS, QUOTE_PROTOCOL, QUOTE_TTL_SECONDS } from "./constants.ts";
import { JobsNoQuoteError, JobsNotServedError, JobsProtocolError, JobsUnknownModelError } from "./errors.ts";

const log = logger("shardmesh:jobs:quote");

export interface QuoteRequest {
  modelId: string;
  stage: number;
  maxUnits: number;
  /** The buyer the quote is made out to (only it can open a job with it). */
  buyer: Address;
}

/** A quote request as a provider receives it from a peer; JobsProtocolError for anything else. */
export function parseQuoteRequest(raw: unknown): QuoteRequest {
  const r = raw as Partial<QuoteRequest> | null;
  if (!r || typeof r.modelId !== "string" || !/^\d+$/.test(r.modelId) || !Number.isInteger(r.stage) || !Number.isInteger(r.maxUnits)) {
    throw new JobsProtocolError("quote request needs modelId (decimal), stage, maxUnits and buyer");
  }
  if (typeof r.buyer !== "string" || !isAddress(r.buyer)) throw new JobsProtocolError("quote request needs the buyer's address");
  if (r.stage! < 0 || r.stage! > 0xffff || r.maxUnits! <= 0 || r.maxUnits! > 0xffffffff)
    throw new JobsProtocolError("quote request out of range");
  return { modelId: r.modelId, stage: r.stage!, maxUnits: r.maxUnits!, buyer: getAddress(r.buyer) };
}

/** Provider side: a signed quote for a stage this node serves, at its configured price. */
export async function signQuoteFor(ctx: JobsContext, raw: unknown): Promise<SignedQuote> {
  const req = parseQuoteRequest(raw);
  const { pc, address } = requireWallet(ctx.chain);
  const model = ctx.models.find((m) => m.modelId === req.modelId && m.stages.includes(req.stage));
  if (!model) throw new JobsNotServedError(`this provider does not serve stage ${req.stage} of model ${req.modelId}`);
  const now = await chainNow(ctx.chain);
  const nonce = bytesToBigInt(randomBytes(16));
  const signed = await signQuote(pc.signer, marketDomain(pc), {
    modelId: BigInt(req.modelId),
    stage: req.stage,
    provider: address,
    buyer: req.buyer,
    price: BigInt(model.price),
    maxUnits: req.maxUnits,
    expiry: now + BigInt(QUOTE_TTL_SECONDS),
    maxJobExpiry: now + BigInt(QUOTE_MAX_JOB_SECONDS),
    nonce,
  });
  log("quoted stage %d of model %s at %s for %d units to %s", req.stage, req.modelId, model.price, req.maxUnits, req.buyer);
  return signed;
}

/** A provider's quote answer as the gateway receives it; JobsProtocolError for anything else. */
export function parseSignedQuote(raw: unknown): SignedQuote {
  let signed: SignedQuote;
  try {
    signed = signedQuoteFromJson(raw);
  } catch (err) {
    throw new JobsProtocolError(`malformed quote answer: ${(err as Error).message.split("\n")[0]}`);
  }
  // Number() of a missing or odd field is NaN, not an error: the struct's widths, checked here.
  const q = signed.quote;
  const u = (v: bigint, bits: number) => v >= 0n && v < 1n << BigInt(bits);
  const ok =
    Number.isInteger(q.stage) &&
    q.stage >= 0 &&
    q.stage <= 0xffff &&
    Number.isInteger(q.maxUnits) &&
    q.maxUnits > 0 &&
    q.maxUnits <= 0xffffffff &&
    u(q.modelId, 256) &&
    u(q.price, 96) &&
    u(q.expiry, 64) &&
    u(q.maxJobExpiry, 64) &&
    u(q.nonce, 256) &&
    /^0x[0-9a-fA-F]{2,1024}$/.test(signed.signature);
  if (!ok) throw new JobsProtocolError("malformed quote answer: a field is out of its range");
  return signed;
}

/** Asks one provider (this node itself without a network hop) for a quote. */
export async function requestQuote(
  ctx: JobsContext,
  peerId: string,
  req: QuoteRequest,
  options: { signal?: AbortSignal } = {},
): Promise<SignedQuote> {
  if (peerId === ctx.peerId) return signQuoteFor(ctx, req);
  return parseSignedQuote(await callJson(ctx.node, peerId, QUOTE_PROTOCOL, req, options));
}

/**
 * Gateway side: quotes for every stage of a model from the bound providers the router may use
 * (up to MAX_QUOTES_PER_STAGE per stage, cheapest and least loaded first), ready for `openJob`.
 */
export async function gatewayQuotes(
  ctx: JobsContext,
  modelId: string,
  maxUnits: number,
  buyer: Address,
  options: { signal?: AbortSignal } = {},
): Promise<SignedQuote[]> {
  const stageCount = ctx.directory.stageCount(modelId);
  if (stageCount === 0) throw new JobsUnknownModelError(`no provider on the mesh serves model ${modelId}`);
  const perStage = await Promise.all(
    Array.from({ length: stageCount }, async (_, stage) => {
      const candidates = ctx.directory
        .providers(modelId, stage)
        .filter((p) => p.stakingAddress)
        .sort((a, b) =>
          a.price === b.price ? a.load / Math.max(1, a.capacity) - b.load / Math.max(1, b.capacity) : a.price < b.price ? -1 : 1,
        )
        .slice(0, MAX_QUOTES_PER_STAGE);
      const settled = await Promise.allSettled(
        candidates.map((p) => requestQuote(ctx, p.peerId, { modelId, stage, maxUnits, buyer }, options)),
      );
      const quotes: SignedQuote[] = [];
      settled.forEach((s, i) => {
        if (s.status === "fulfilled") {
          if (s.value.quote.buyer !== buyer)
            log("peer %s quoted for buyer %s, not %s: dropped", candidates[i].peerId, s.value.quote.buyer, buyer);
          else if (s.value.quote.provider.toLowerCase() === candidates[i].stakingAddress!.toLowerCase()) quotes.push(s.value);
          else
            log("peer %s quoted as %s, bound to %s: dropped", candidates[i].peerId, s.value.quote.provider, candidates[i].stakingAddress);
        } else log("no quote from %s: %s", candidates[i].peerId, (s.reason as Error).message);
      });
      if (quotes.length === 0) throw new JobsNoQuoteError(`no bound provider quoted stage ${stage} of model ${modelId}`);
      return quotes;
    }),
  );
  return perStage.flat();
}
