// Client for the provider gateway (docs/PROTOCOL.md "Gateway HTTP API"), reached through the
// app's /api/gateway proxy. Errors keep the gateway's error name.
import type { Address, Hex } from "viem";

export interface GatewayProvider {
  peerId: string;
  stakingAddress: Address | null;
  price: string;
  load: number;
  capacity?: number;
  latencyMs: number;
}

export interface GatewayModel {
  id: string;
  name: string;
  stageCount: number;
  stages: { stage: number; providers: GatewayProvider[] }[];
}

export interface InferResult {
  index: number | null;
  text?: string;
  requestHash: Hex;
  responseHash: Hex;
  output?: Record<string, { dtype: string | number; dims: number[]; data: string }>;
  stages: { stage: number; peerId: string; ms: number; retries: number }[];
}

export interface SignedQuoteJson {
  quote: {
    modelId: string;
    stage: number;
    provider: Address;
    buyer: Address;
    price: string;
    maxUnits: number | string;
    expiry: number | string;
    maxJobExpiry: number | string;
    nonce: string;
  };
  signature: Hex;
}

export class GatewayError extends Error {
  override name = "GatewayError";
  readonly gatewayName: string;
  readonly status: number;
  constructor(gatewayName: string, message: string, status: number) {
    super(message);
    this.gatewayName = gatewayName;
    this.status = status;
  }
  get unreachable(): boolean {
    return (
      this.gatewayName === "GatewayUnreachableError" ||
      this.status === 502 ||
      (this.status === 503 && this.gatewayName === "GatewayUnreachableError")
    );
  }
}

export async function gatewayFetch<T>(path: string, init: RequestInit & { base?: string } = {}): Promise<T> {
  const base = init.base ?? "/api/gateway";
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { ...init, cache: "no-store" });
  } catch (e) {
    throw new GatewayError("GatewayUnreachableError", e instanceof Error ? e.message : String(e), 0);
  }
  const text = await res.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : {};
  } catch {
    body = { error: { name: "GatewayBadResponseError", message: text.slice(0, 200) } };
  }
  if (!res.ok) {
    const err = (body as { error?: { name?: string; message?: string } }).error;
    throw new GatewayError(err?.name ?? `HTTP${res.status}`, err?.message ?? `gateway answered ${res.status}`, res.status);
  }
  return body as T;
}

export const gateway = {
  health: () => gatewayFetch<{ ok: boolean; peerId: string; chainId: number | null; version: string }>("/v1/health"),
  models: async () => (await gatewayFetch<{ models: GatewayModel[] }>("/v1/models")).models,
  /** Quotes made out to `buyer`, the address that opens the job. */
  quotes: async (modelId: string, maxUnits: number, buyer: Address) =>
    normalizeQuotes(
      (
        await gatewayFetch<{ quotes: unknown }>(
          `/v1/quotes?modelId=${encodeURIComponent(modelId)}&maxUnits=${maxUnits}&buyer=${encodeURIComponent(buyer)}`,
        )
      ).quotes,
    ),
  inferImage: (modelId: string, imageBase64: string) =>
    gatewayFetch<InferResult>("/v1/infer", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ modelId, input: { image: imageBase64 } }),
    }),
  receiptToSign: (jobId: string) =>
    gatewayFetch<{ count: number; units: number; outputRoot: Hex }>(`/v1/jobs/${encodeURIComponent(jobId)}/receipt`),
  submitReceiptSignature: (jobId: string, body: { count: number; units: number; outputRoot: Hex; signature: Hex }) =>
    gatewayFetch<unknown>(`/v1/jobs/${encodeURIComponent(jobId)}/receipt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  job: (jobId: string) => gatewayFetch<{ jobId: string; served: number; receipts: unknown[] }>(`/v1/jobs/${encodeURIComponent(jobId)}`),
};

/** Accepts `[SignedQuote]`, `{ quotes: [...] }` or per-stage groups, returns a flat list. */
export function normalizeQuotes(raw: unknown): SignedQuoteJson[] {
  const list = Array.isArray(raw) ? raw : Array.isArray((raw as { quotes?: unknown })?.quotes) ? (raw as { quotes: unknown[] }).quotes : [];
  return list.flatMap((q): SignedQuoteJson[] => {
    if (Array.isArray(q)) return normalizeQuotes(q);
    const o = q as Partial<SignedQuoteJson> & { quotes?: unknown };
    if (o && Array.isArray(o.quotes)) return normalizeQuotes(o.quotes);
    if (o?.quote && typeof o.signature === "string") return [o as SignedQuoteJson];
    return [];
  });
}

/** Lowest announced latency across a stage's providers, summed over stages (a model's best case). */
export function modelLatency(m: GatewayModel): number | undefined {
  let total = 0;
  for (const s of m.stages) {
    if (s.providers.length === 0) return undefined;
    total += Math.min(...s.providers.map((p) => p.latencyMs));
  }
  return total;
}

export function providerCount(m: GatewayModel): number {
  return new Set(m.stages.flatMap((s) => s.providers.map((p) => p.peerId))).size;
}
