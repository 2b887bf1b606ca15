// /shardmesh/quote/1.0.0: a provider signs a fresh EIP-712 quote for a (model, stage, maxCount)
// it serves, with its staking key; the gateway collects quotes from the providers it routes to.
import { randomBytes } from "node:crypto";
import { logger } from "@libp2p/logger";
import { bytesToBigInt } from "viem";
import { signQuote } from "../receipts/eip712.ts";
import type { SignedQuote } from "../receipts/eip712.ts";
import { marketDomain } from "../chain/provider.ts";
import { callJson } from "./wire.ts";
import { chainNow, requireWallet } from "./context.ts";
import type { JobsContext } from "./context.ts";
import { MAX_QUOTES_PER_STAGE, QUOTE_PROTOCOL, QUOTE_TTL_SECONDS } from "./constants.ts";
import { JobsNoQuoteError, JobsNotServedError, JobsProtocolError, JobsUnknownModelError } from "./errors.ts";

const log = logger("shardmesh:jobs:quote");

export interface QuoteRequest {
  modelId: string;
  stage: number;
  maxCount: number;
}

function parseQuoteRequest(raw: unknown): QuoteRequest {
  const r = raw as Partial<QuoteRequest> | null;
  if (!r || typeof r.modelId !== "string" || !/^\d+$/.test(r.modelId) || !Number.isInteger(r.stage) || !Number.isInteger(r.maxCount)) {
    throw new JobsProtocolError("quote request needs modelId (decimal), stage and maxCount");
  }
  if (r.stage! < 0 || r.stage! > 0xffff || r.maxCount! <= 0 || r.maxCount! > 0xffffffff)
    throw new JobsProtocolError("quote request out of range");
  return { modelId: r.modelId, stage: r.stage!, maxCount: r.maxCount! };
}

/** Provider side: a signed quote for a stage this node serves, at its configured price. */
export async function signQuoteFor(ctx: JobsContext, raw: unknown): Promise<SignedQuote> {
  const req = parseQuoteRequest(raw);
  const { pc, address } = requireWallet(ctx.chain);
  const model = ctx.models.find((m) => m.modelId === req.modelId && m.stages.includes(req.stage));
  if (!model) throw new JobsNotServedError(`this provider does not serve stage ${req.stage} of model ${req.modelId}`);
  const expiry = (await chainNow(ctx.chain)) + BigInt(QUOTE_TTL_SECONDS);
  const nonce = bytesToBigInt(randomBytes(16));
  const signed = await signQuote(pc.signer, marketDomain(pc), {
    modelId: BigInt(req.modelId),
    stage: req.stage,
    provider: address,
    price: BigInt(model.price),
    maxCount: req.maxCount,
    expiry,
    nonce,
  });
  log("quoted stage %d of model %s at %s for %d", req.stage, req.modelId, model.price, req.maxCount);
  return signed;
}

function parseSignedQuote(raw: unknown): SignedQuote {
  const r = raw as { quote?: Record<string, string | number>; signature?: string } | null;
  const q = r?.quote;
  if (!q || typeof r?.signature !== "string") throw new JobsProtocolError("quote answer needs quote and signature");
  return {
    quote: {
      modelId: BigInt(q.modelId),
      stage: Number(q.stage),
      provider: String(q.provider) as `0x${string}`,
      price: BigInt(q.price),
      maxCount: Number(q.maxCount),
      expiry: BigInt(q.expiry),
      nonce: BigInt(q.nonce),
    },
    signature: r.signature as `0x${string}`,
  };
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
  maxInferences: number,
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
        candidates.map((p) => requestQuote(ctx, p.peerId, { modelId, stage, maxCount: maxInferences }, options)),
      );
      const quotes: SignedQuote[] = [];
      settled.forEach((s, i) => {
        if (s.status === "fulfilled") {
          if (s.value.quote.provider.toLowerCase() === candidates[i].stakingAddress!.toLowerCase()) quotes.push(s.value);
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
