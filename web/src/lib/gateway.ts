// Client for the provider gateway (docs/PROTOCOL.md "Gateway HTTP API"), reached through the
// app's /api/gateway proxy. Errors keep the gateway's error name.
// The shapes are the gateway's own (@shardmesh/node/gateway/api.ts, defined once).
import type { Address } from "viem";
import type {
  Health,
  InferResponse,
  JobStatus,
  ModelInfo,
  QuotesResponse,
  ReceiptToSign,
  SignedQuoteJson,
  SubmitReceiptBody,
  SubmittedReceiptInfo,
} from "@shardmesh/node/gateway/api.ts";

export type { InferResponse, ModelInfo, ProviderInfo, SignedQuoteJson } from "@shardmesh/node/gateway/api.ts";

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
  health: () => gatewayFetch<Health>("/v1/health"),
  models: async (): Promise<ModelInfo[]> => (await gatewayFetch<{ models: ModelInfo[] }>("/v1/models")).models,
  /** Quotes made out to `buyer`, the address that opens the job. */
  quotes: async (modelId: string, maxUnits: number, buyer: Address): Promise<SignedQuoteJson[]> =>
    (await gatewayFetch<QuotesResponse>(`/v1/quotes?${new URLSearchParams({ modelId, maxUnits: String(maxUnits), buyer })}`)).quotes,
  inferImage: (modelId: string, imageBase64: string) =>
    gatewayFetch<InferResponse>("/v1/infer", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ modelId, input: { image: imageBase64 } }),
    }),
  receiptToSign: (jobId: string) => gatewayFetch<ReceiptToSign>(`/v1/jobs/${encodeURIComponent(jobId)}/receipt`),
  submitReceiptSignature: (jobId: string, body: SubmitReceiptBody) =>
    gatewayFetch<SubmittedReceiptInfo>(`/v1/jobs/${encodeURIComponent(jobId)}/receipt`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    }),
  job: (jobId: string) => gatewayFetch<JobStatus>(`/v1/jobs/${encodeURIComponent(jobId)}`),
};

/** Lowest announced latency across a stage's providers, summed over stages (a model's best case). */
export function modelLatency(m: ModelInfo): number | undefined {
  let total = 0;
  for (const s of m.stages) {
    if (s.providers.length === 0) return undefined;
    total += Math.min(...s.providers.map((p) => p.latencyMs));
  }
  return total;
}

export function providerCount(m: ModelInfo): number {
  return new Set(m.stages.flatMap((s) => s.providers.map((p) => p.peerId))).size;
}
