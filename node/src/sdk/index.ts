// Typed fetch-based client for the ShardMesh gateway (docs/PROTOCOL.md, "Gateway HTTP API").
// Works in Node 22 and browsers; no dependencies beyond the node package's tensor hashing.
//
//   const sm = new ShardMeshClient("http://127.0.0.1:8600");
//   const { models } = await sm.models();
//   const r = await sm.infer({ modelId: "tiny", input: { tensors: { x: tensorFromFloat32([1, 16], xs) } } });
//   float32FromTensor(r.output.y);
//   await sm.chat({ model: "llm", messages: [{ role: "user", content: "Hi" }] }, { onText: (d) => process.stdout.write(d) });

export type {
  DtypeName,
  ErrorBody,
  Health,
  InferRequest,
  InferResponse,
  JobStatus,
  JsonTensor,
  MeshPeer,
  MeshStatus,
  ModelInfo,
  NamedJsonTensor,
  PaidGeneration,
  PrepareResponse,
  ProviderInfo,
  QuotesResponse,
  ReceiptStatus,
  ReceiptToSign,
  SignedQuoteJson,
  SubmitReceiptBody,
  SubmittedReceiptInfo,
} from "../gateway/api.ts";
export { InferHashMismatchError, ReceiptCheckError, checkInferResponse, checkReceiptToSign } from "./check.ts";
export type { LoggedResponse } from "./check.ts";
import { checkInferResponse } from "./check.ts";
import type {
  Health,
  InferRequest,
  InferResponse,
  JobStatus,
  JsonTensor,
  MeshStatus,
  ModelInfo,
  PaidGeneration,
  PrepareResponse,
  QuotesResponse,
  ReceiptToSign,
  SubmitReceiptBody,
  SubmittedReceiptInfo,
} from "../gateway/api.ts";

/** A gateway answered with an error; `errorName` is the node's error class name. */
export class GatewayApiError extends Error {
  override name = "GatewayApiError";
  readonly status: number;
  readonly errorName: string;
  constructor(status: number, errorName: string, message: string) {
    super(`${errorName}: ${message}`);
    this.status = status;
    this.errorName = errorName;
  }
}

/** A language-model request in OpenAI's shape (POST /v1/chat/completions, /v1/completions). */
export interface GenerationParams {
  model: string;
  max_tokens?: number;
  temperature?: number;
  top_p?: number;
  seed?: number;
  stop?: string | string[];
}
export interface ChatRequest extends GenerationParams {
  messages: { role: "system" | "user" | "assistant"; content: string }[];
}
export interface CompletionRequest extends GenerationParams {
  prompt: string;
}
export interface GenerationResult {
  id: string;
  text: string;
  finishReason: "stop" | "length";
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** Paid under a job: the request's index in the job and the units it used. */
  paid?: PaidGeneration;
}
export interface GenerationOptions {
  signal?: AbortSignal;
  /** Stream: called with each piece of text as the gateway sends it. */
  onText?: (delta: string) => void;
  /**
   * Paid use under a job: `nonce` is the request's number in the job (new in it: 0, 1, 2, …) and
   * `sign` returns the job's session-key signature of JobRequest(jobId, nonce, keccak256(body))
   * over the exact body text sent (node/src/jobs/session.ts signGenerationRequest).
   */
  job?: { jobId: string; nonce: number; sign: (body: string, nonce: number) => Promise<string> | string };
}

export interface ClientOptions {
  fetch?: typeof fetch;
  /** Per-call timeout, ms (default 60 s). */
  timeoutMs?: number;
}

export class ShardMeshClient {
  readonly baseUrl: string;
  private readonly fetchFn: typeof fetch;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, options: ClientOptions = {}) {
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.fetchFn = options.fetch ?? globalThis.fetch.bind(globalThis);
    this.timeoutMs = options.timeoutMs ?? 60_000;
  }

  health(options?: { signal?: AbortSignal }): Promise<Health> {
    return this.call("GET", "/v1/health", undefined, options);
  }
  models(options?: { signal?: AbortSignal }): Promise<{ models: ModelInfo[] }> {
    return this.call("GET", "/v1/models", undefined, options);
  }
  /** Quotes made out to `buyer` (the address that will open the job). */
  quotes(modelId: string, maxUnits: number, buyer: string, options?: { signal?: AbortSignal }): Promise<QuotesResponse> {
    const q = new URLSearchParams({ modelId, maxUnits: String(maxUnits), buyer });
    return this.call("GET", `/v1/quotes?${q}`, undefined, options);
  }
  /**
   * With a jobId, pass the request's `nonce` (its number in the job, new in it: 0, 1, 2, …) and
   * the session key's signature of JobRequest(jobId, nonce, requestHash) (see `requestHash`). A
   * nonce is answered once per job (409 JobsNonceReusedError); one that failed may be retried.
   * The answer's hashes are checked against the tensors sent and the output received
   * (InferHashMismatchError otherwise): never sign a receipt over a response you did not get.
   */
  async infer(req: InferRequest, options?: { signal?: AbortSignal; signature?: string; nonce?: number }): Promise<InferResponse> {
    const headers: Record<string, string> = {};
    if (req.jobId) headers["x-shardmesh-job"] = req.jobId;
    if (options?.nonce !== undefined) headers["x-shardmesh-nonce"] = String(options.nonce);
    if (options?.signature) headers["x-shardmesh-signature"] = options.signature;
    const res = await this.call<InferResponse>("POST", "/v1/infer", req, options, headers);
    checkInferResponse(req, res);
    return res;
  }
  /** Pre-process an image on the gateway: the tensors and request hash to sign for a job request. */
  prepare(req: { modelId: string; input: { image: string } }, options?: { signal?: AbortSignal }): Promise<PrepareResponse> {
    return this.call("POST", "/v1/prepare", req, options);
  }
  /**
   * A job's status; with `details` (the session key's signature over jobDetailsMessage(jobId,
   * expires), node/src/jobs/details.ts) also its per-request hashes, routes and stage records.
   */
  job(jobId: string, options?: { signal?: AbortSignal; details?: { expires: number; signature: string } }): Promise<JobStatus> {
    const headers: Record<string, string> = options?.details
      ? { "x-shardmesh-signature": options.details.signature, "x-shardmesh-expires": String(options.details.expires) }
      : {};
    return this.call("GET", `/v1/jobs/${encodeURIComponent(jobId)}`, undefined, options, headers);
  }
  receipt(jobId: string, options?: { signal?: AbortSignal }): Promise<ReceiptToSign> {
    return this.call("GET", `/v1/jobs/${encodeURIComponent(jobId)}/receipt`, undefined, options);
  }
  submitReceipt(jobId: string, body: SubmitReceiptBody, options?: { signal?: AbortSignal }): Promise<SubmittedReceiptInfo> {
    return this.call("POST", `/v1/jobs/${encodeURIComponent(jobId)}/receipt`, body, options);
  }
  mesh(options?: { signal?: AbortSignal }): Promise<MeshStatus> {
    return this.call("GET", "/v1/mesh", undefined, options);
  }
  openapi(options?: { signal?: AbortSignal }): Promise<Record<string, unknown>> {
    return this.call("GET", "/openapi.json", undefined, options);
  }
  /** A chat turn with a language model (the model's chat template); streamed when `onText` is given. */
  chat(req: ChatRequest, options: GenerationOptions = {}): Promise<GenerationResult> {
    return this.generate("/v1/chat/completions", req, options);
  }
  /** A plain text completion; streamed when `onText` is given. */
  complete(req: CompletionRequest, options: GenerationOptions = {}): Promise<GenerationResult> {
    return this.generate("/v1/completions", req, options);
  }

  private async generate(path: string, req: GenerationParams, options: GenerationOptions): Promise<GenerationResult> {
    type Choice = { text?: string; message?: { content: string }; delta?: { content?: string }; finish_reason: string | null };
    type Body = {
      id: string;
      choices: Choice[];
      usage?: GenerationResult["usage"];
      shardmesh?: PaidGeneration;
      error?: { name?: string; message?: string };
    };
    const body = JSON.stringify(options.onText ? { ...req, stream: true, stream_options: { include_usage: true } } : req);
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (options.job) {
      headers["x-shardmesh-job"] = options.job.jobId;
      headers["x-shardmesh-nonce"] = String(options.job.nonce);
      headers["x-shardmesh-signature"] = await options.job.sign(body, options.job.nonce);
    }
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const res = await this.fetchFn(`${this.baseUrl}${path}`, { method: "POST", headers, body, signal });
    if (!options.onText) {
      const b = (await res.json().catch(() => ({}))) as Body;
      if (!res.ok) throw new GatewayApiError(res.status, b.error?.name ?? `HTTP${res.status}`, b.error?.message ?? res.statusText);
      const c = b.choices[0];
      return {
        id: b.id,
        text: c.message?.content ?? c.text ?? "",
        finishReason: c.finish_reason as "stop" | "length",
        usage: b.usage!,
        ...(b.shardmesh ? { paid: b.shardmesh } : {}),
      };
    }
    if (!res.ok || !res.body) {
      const e = ((await res.json().catch(() => ({}))) as Body).error;
      throw new GatewayApiError(res.status, e?.name ?? `HTTP${res.status}`, e?.message ?? res.statusText);
    }
    const out: GenerationResult = {
      id: "",
      text: "",
      finishReason: "length",
      usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
    };
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    let buf = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let at: number;
      while ((at = buf.indexOf("\n\n")) >= 0) {
        const event = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const data = event.startsWith("data: ") ? event.slice(6) : "";
        if (!data || data === "[DONE]") continue;
        const b = JSON.parse(data) as Body;
        if (b.error) throw new GatewayApiError(502, b.error.name ?? "GatewayStreamError", b.error.message ?? "stream failed");
        out.id = b.id;
        if (b.usage) out.usage = b.usage;
        if (b.shardmesh) out.paid = b.shardmesh;
        for (const c of b.choices) {
          const d = c.delta?.content ?? c.text ?? "";
          if (d) {
            out.text += d;
            options.onText(d);
          }
          if (c.finish_reason) out.finishReason = c.finish_reason as "stop" | "length";
        }
      }
    }
    return out;
  }

  private async call<T>(
    method: string,
    path: string,
    body: unknown,
    options: { signal?: AbortSignal } = {},
    headers: Record<string, string> = {},
  ): Promise<T> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
    const res = await this.fetchFn(`${this.baseUrl}${path}`, {
      method,
      headers: body === undefined ? headers : { "content-type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
    const text = await res.text();
    let data: unknown;
    try {
      data = text ? JSON.parse(text) : undefined;
    } catch {
      throw new GatewayApiError(res.status, "GatewayBadResponse", `not JSON: ${text.slice(0, 200)}`);
    }
    if (!res.ok) {
      const e = (data as { error?: { name?: string; message?: string } })?.error;
      throw new GatewayApiError(res.status, e?.name ?? `HTTP${res.status}`, e?.message ?? res.statusText);
    }
    return data as T;
  }
}

function toBase64(bytes: Uint8Array): string {
  let s = "";
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
function fromBase64(b64: string): Uint8Array {
  const s = atob(b64);
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

export function tensorFromFloat32(dims: number[], values: Float32Array | number[]): JsonTensor {
  const f = values instanceof Float32Array ? values : Float32Array.from(values);
  return { dtype: "float32", dims, data: toBase64(new Uint8Array(f.buffer, f.byteOffset, f.byteLength)) };
}

export function float32FromTensor(t: JsonTensor): Float32Array {
  return new Float32Array(fromBase64(t.data).buffer);
}

export function bytesFromTensor(t: JsonTensor): Uint8Array {
  return fromBase64(t.data);
}
