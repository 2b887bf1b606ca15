// Chat with a language model through the gateway's OpenAI-compatible API (via the app's
// /api/gateway proxy): POST /v1/chat/completions with `stream: true`, read as server-sent events
// (`data: {chunk}` … `data: [DONE]`). Errors keep the gateway's name. Paid under a job, the
// body text is signed (`job.sign`, lib/paid.ts signGenerationBody) and sent with
// x-shardmesh-job / x-shardmesh-nonce / x-shardmesh-signature; the last chunk then tells the units (tokens) used.
import type { PaidGeneration } from "@shardmesh/node/gateway/api.ts";
import { GatewayError } from "./gateway";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

export interface ChatSettings {
  maxTokens: number;
  temperature: number;
  seed?: number;
}

export interface ChatReply {
  text: string;
  finishReason: "stop" | "length" | null;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  /** Under a job: the request's index in the job and the units (tokens) it used. */
  paid?: PaidGeneration;
}

/** Paid use: the job, the request's nonce in it and the session key's signature over the exact body text for it. */
export interface ChatJob {
  jobId: string;
  nonce: number;
  sign: (body: string, nonce: number) => Promise<string>;
}

/** Bounds the page enforces before sending (the gateway checks them again). */
export const CHAT_LIMITS = { maxTokens: 512, maxTemperature: 2, maxMessageChars: 4000 } as const;

/**
 * Feeds text chunks of an SSE body; calls `onEvent` with each complete `data:` payload. Events
 * may be split anywhere across chunks.
 */
export function sseParser(onEvent: (data: string) => void): (chunk: string) => void {
  let buf = "";
  return (chunk) => {
    buf += chunk;
    for (let at = buf.indexOf("\n\n"); at >= 0; at = buf.indexOf("\n\n")) {
      const event = buf.slice(0, at);
      buf = buf.slice(at + 2);
      const data = event
        .split("\n")
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).trimStart())
        .join("\n");
      if (data) onEvent(data);
    }
  };
}

export async function streamChat(
  model: string,
  messages: ChatMessage[],
  settings: ChatSettings,
  onText: (delta: string) => void,
  options: { signal?: AbortSignal; fetchFn?: typeof fetch; base?: string; job?: ChatJob } = {},
): Promise<ChatReply> {
  const fetchFn = options.fetchFn ?? fetch;
  const body = JSON.stringify({
    model,
    messages,
    max_tokens: settings.maxTokens,
    temperature: settings.temperature,
    ...(settings.seed !== undefined ? { seed: settings.seed } : {}),
    stream: true,
    stream_options: { include_usage: true },
  });
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (options.job) {
    headers["x-shardmesh-job"] = options.job.jobId;
    headers["x-shardmesh-nonce"] = String(options.job.nonce);
    headers["x-shardmesh-signature"] = await options.job.sign(body, options.job.nonce);
  }
  const res = await fetchFn(`${options.base ?? "/api/gateway"}/v1/chat/completions`, {
    method: "POST",
    headers,
    body,
    signal: options.signal,
  });
  if (!res.ok || !res.body) {
    const body = (await res.json().catch(() => ({}))) as { error?: { name?: string; code?: string; message?: string } };
    throw new GatewayError(body.error?.name ?? body.error?.code ?? `HTTP${res.status}`, body.error?.message ?? res.statusText, res.status);
  }
  const reply: ChatReply = { text: "", finishReason: null };
  let failure: GatewayError | undefined;
  const feed = sseParser((data) => {
    if (data === "[DONE]" || failure) return;
    const b = JSON.parse(data) as {
      error?: { name?: string; message?: string };
      choices?: { delta?: { content?: string }; finish_reason?: string | null }[];
      usage?: ChatReply["usage"];
      shardmesh?: PaidGeneration;
    };
    if (b.error) {
      failure = new GatewayError(b.error.name ?? "GatewayStreamError", b.error.message ?? "the generation failed", 502);
      return;
    }
    if (b.usage) reply.usage = b.usage;
    if (b.shardmesh) reply.paid = b.shardmesh;
    for (const c of b.choices ?? []) {
      const d = c.delta?.content ?? "";
      if (d) {
        reply.text += d;
        onText(d);
      }
      if (c.finish_reason) reply.finishReason = c.finish_reason as ChatReply["finishReason"];
    }
  });
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    feed(value);
    if (failure) throw failure;
  }
  return reply;
}
