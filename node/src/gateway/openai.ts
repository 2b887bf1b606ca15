// The gateway's OpenAI-compatible buyer API for language models (node/src/llm does the work): GET /v1/models, POST /v1/completions and
// POST /v1/chat/completions, streaming (server-sent events, `data: {chunk}` … `data: [DONE]`)
// and not, in the shapes the official client libraries parse. Errors are OpenAI's
// `{ error: { message, type, param, code } }` plus the project's stable `name`; a client's
// mistake is a 4xx. The handler is transport-only: a LlmService says which models exist and
// gives, per generation, the stage links to run it through.
//
// Paid use (docs/PROTOCOL.md, "Paid per token"): the same `x-shardmesh-job`, `x-shardmesh-nonce`
// and `x-shardmesh-signature` headers as /v1/infer, the signature being the job's session key's
// JobRequest(jobId, nonce, keccak256(body bytes)). The gateway reserves prompt tokens + max_tokens of
// the job's units before generating, runs every stage as a traced session of the job, and
// records the request with the units it used (prompt + sampled tokens), giving the rest back.
import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { logger } from "@libp2p/logger";
import { LlmError, SessionHandOffError, SessionLengthError, TokenizerError, type SamplingError } from "../llm/errors.ts";
import type { GenerateOptions, GenerateResult } from "../llm/generate.ts";
import { checkSampling, checkStops } from "../llm/sampling.ts";
import type { LlmModelHandle, LlmService } from "../llm/service.ts";
import type { ChatMessage } from "../llm/tokenizer.ts";
import { generationUnits, reservedUnits } from "../llm/trace.ts";
import type { Admission } from "../jobs/admission.ts";
import { generationRequestHash } from "../jobs/session.ts";
import type { SignedJobRequest } from "../pipeline/jobrequest.ts";
import type { PaidGeneration } from "./api.ts";
import { errorStatus } from "./status.ts";

export type { LlmModelHandle, LlmService };

const log = logger("shardmesh:gateway:openai");

/** Largest request body accepted. */
export const MAX_OPENAI_BODY_BYTES = 1024 * 1024;
/** Most messages in one chat request. */
export const MAX_CHAT_MESSAGES = 256;
/** Default max_tokens when the request gives none (OpenAI's completions default is 16). */
export const DEFAULT_MAX_TOKENS = 128;

/** A request the API refuses (4xx), in OpenAI's error shape. */
export class OpenAiRequestError extends Error {
  override name = "OpenAiRequestError";
  readonly status: number;
  readonly param: string | null;
  readonly code: string;
  constructor(status: number, message: string, param: string | null = null, code = "invalid_request_error") {
    super(message);
    this.status = status;
    this.param = param;
    this.code = code;
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}

function sendError(res: ServerResponse, err: Error): void {
  const status = err instanceof OpenAiRequestError ? err.status : errorStatus(err);
  const type = status < 500 ? "invalid_request_error" : "server_error";
  if (res.headersSent) {
    // Mid-stream: an error event the client libraries raise, then the end.
    res.write(`data: ${JSON.stringify({ error: { message: err.message, type, name: err.name, code: err.name } })}\n\n`);
    res.end();
    return;
  }
  const req = err instanceof OpenAiRequestError ? err : null;
  sendJson(res, status, { error: { message: err.message, type, param: req?.param ?? null, code: req?.code ?? err.name, name: err.name } });
}

/** Paid generations: how the gateway admits a request under the job its headers name. */
export interface OpenAiJobs {
  /**
   * The job named by the request's headers (its session key's signature over `body` checked),
   * with `units` reserved; undefined for a request without a job (free tier).
   */
  admit(req: IncomingMessage, body: Uint8Array, units: number): Promise<Admission | undefined>;
}

async function readJson(req: IncomingMessage): Promise<{ value: Record<string, unknown>; raw: Buffer }> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).byteLength;
    if (n > MAX_OPENAI_BODY_BYTES)
      throw new OpenAiRequestError(413, `request body over ${MAX_OPENAI_BODY_BYTES} bytes`, null, "body_too_large");
    chunks.push(c as Buffer);
  }
  const raw = Buffer.concat(chunks);
  let v: unknown;
  try {
    v = JSON.parse(raw.toString("utf8"));
  } catch {
    throw new OpenAiRequestError(400, "body is not JSON");
  }
  if (!v || typeof v !== "object" || Array.isArray(v)) throw new OpenAiRequestError(400, "body must be a JSON object");
  return { value: v as Record<string, unknown>, raw };
}

const optNum = (body: Record<string, unknown>, k: string): number | undefined => {
  const v = body[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) throw new OpenAiRequestError(400, `${k} must be a number`, k);
  return v;
};

function chatMessages(v: unknown): ChatMessage[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > MAX_CHAT_MESSAGES) {
    throw new OpenAiRequestError(400, `messages must be 1..${MAX_CHAT_MESSAGES} messages`, "messages");
  }
  return v.map((m, i) => {
    if (!m || typeof m !== "object") throw new OpenAiRequestError(400, `messages[${i}] is not an object`, "messages");
    const { role, content } = m as { role?: unknown; content?: unknown };
    if (typeof role !== "string" || !["system", "developer", "user", "assistant"].includes(role)) {
      throw new OpenAiRequestError(400, `messages[${i}].role must be system, developer, user or assistant`, "messages");
    }
    let text: string;
    if (typeof content === "string") text = content;
    else if (Array.isArray(content) && content.every((p) => p && typeof p === "object" && (p as { type?: unknown }).type === "text")) {
      text = content.map((p) => String((p as { text?: unknown }).text ?? "")).join("");
    } else throw new OpenAiRequestError(400, `messages[${i}].content must be text`, "messages");
    return { role: role === "developer" ? "system" : role, content: text };
  });
}

interface Parsed {
  model: string;
  handle: LlmModelHandle;
  prompt: number[];
  maxTokens: number;
  stream: boolean;
  includeUsage: boolean;
  opts: Pick<GenerateOptions, "temperature" | "topP" | "seed" | "stop">;
}

function parse(body: Record<string, unknown>, service: LlmService, chat: boolean): Parsed {
  const model = body.model;
  if (typeof model !== "string" || model.length === 0) throw new OpenAiRequestError(400, "model is required", "model");
  const handle = service.model(model);
  if (!handle) throw new OpenAiRequestError(404, `no language model ${model} on this gateway`, "model", "model_not_found");
  if ((optNum(body, "n") ?? 1) !== 1) throw new OpenAiRequestError(400, "only n = 1 is supported", "n");
  if (body.logprobs !== undefined && body.logprobs !== null && body.logprobs !== false) {
    throw new OpenAiRequestError(400, "logprobs are not supported", "logprobs");
  }
  const tok = handle.gateway.tokenizer;
  let prompt: number[];
  if (chat) prompt = tok.encode(tok.chatPrompt(chatMessages(body.messages)));
  else {
    const p = Array.isArray(body.prompt) && body.prompt.length === 1 ? body.prompt[0] : body.prompt;
    if (typeof p !== "string") throw new OpenAiRequestError(400, "prompt must be a string (or an array of one string)", "prompt");
    prompt = tok.encode(p);
  }
  if (prompt.length === 0) throw new OpenAiRequestError(400, "the prompt is empty", chat ? "messages" : "prompt");
  const maxPositions = handle.gateway.config.maxPositions;
  const room = maxPositions - prompt.length;
  if (room < 1)
    throw new OpenAiRequestError(
      400,
      `the prompt has ${prompt.length} tokens, the model takes ${maxPositions}`,
      "messages",
      "context_length_exceeded",
    );
  const asked = optNum(body, chat ? "max_completion_tokens" : "max_tokens") ?? optNum(body, "max_tokens");
  if (asked !== undefined && (!Number.isInteger(asked) || asked < 1))
    throw new OpenAiRequestError(400, "max_tokens must be a positive integer", "max_tokens");
  if (asked !== undefined && asked > room) {
    throw new OpenAiRequestError(
      400,
      `prompt (${prompt.length}) + max_tokens (${asked}) exceeds the model's ${maxPositions} positions`,
      "max_tokens",
      "context_length_exceeded",
    );
  }
  const opts = {
    temperature: optNum(body, "temperature") ?? 1,
    topP: optNum(body, "top_p") ?? 1,
    seed: optNum(body, "seed") ?? Math.floor(Math.random() * 2 ** 31),
    stop: checkStops(body.stop),
  };
  try {
    checkSampling(opts);
  } catch (err) {
    throw new OpenAiRequestError(400, (err as SamplingError).message, "temperature");
  }
  const so = body.stream_options as { include_usage?: unknown } | undefined;
  return {
    model,
    handle,
    prompt,
    maxTokens: asked ?? Math.min(DEFAULT_MAX_TOKENS, room),
    stream: body.stream === true,
    includeUsage: so?.include_usage === true,
    opts,
  };
}

const usage = (r: GenerateResult) => ({
  prompt_tokens: r.promptTokens,
  completion_tokens: r.tokens.length,
  total_tokens: r.promptTokens + r.tokens.length,
});

/** GET /v1/models in OpenAI's shape. */
export function openAiModelList(service: LlmService) {
  return { object: "list", data: service.models().map((m) => ({ id: m.id, object: "model", created: m.created, owned_by: "shardmesh" })) };
}

/** Handles the OpenAI routes; returns false for any other path. `jobs`: paid use under a job. */
export async function handleOpenAi(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  service: LlmService,
  jobs?: OpenAiJobs,
): Promise<boolean> {
  if (path === "/v1/models" && req.method === "GET") {
    sendJson(res, 200, {
      object: "list",
      data: service.models().map((m) => ({ id: m.id, object: "model", created: m.created, owned_by: "shardmesh" })),
    });
    return true;
  }
  const chat = path === "/v1/chat/completions";
  if (!chat && path !== "/v1/completions") return false;
  if (req.method !== "POST") {
    sendError(res, new OpenAiRequestError(405, `${path} takes POST`));
    return true;
  }
  const abort = new AbortController();
  res.on("close", () => {
    if (!res.writableFinished) abort.abort();
  });
  let admission: Admission | undefined;
  try {
    const body = await readJson(req);
    const p = parse(body.value, service, chat);
    admission = await jobs?.admit(req, body.raw, reservedUnits(p.prompt.length, p.maxTokens));
    // The buyer's signature (checked in admit) opens every stage's session: providers keep a paid
    // session's record only for the buyer's own request (pipeline/jobrequest.ts).
    const signature = req.headers["x-shardmesh-signature"];
    const jobRequest: SignedJobRequest | undefined =
      admission && typeof signature === "string"
        ? { requestHash: generationRequestHash(body.raw), signature: signature as `0x${string}` }
        : undefined;
    const id = `${chat ? "chatcmpl" : "cmpl"}-${randomUUID().replaceAll("-", "")}`;
    const created = Math.floor(Date.now() / 1000);
    const { links, replace, peerOf } = await p.handle.links(p.prompt.length + p.maxTokens, abort.signal, { jobId: admission?.jobId });
    const base = { id, created, model: p.model };
    const chunk = (delta: string, finish: string | null) =>
      chat
        ? {
            ...base,
            object: "chat.completion.chunk",
            choices: [{ index: 0, delta: delta ? { content: delta } : {}, finish_reason: finish, logprobs: null }],
          }
        : { ...base, object: "text_completion", choices: [{ index: 0, text: delta, finish_reason: finish, logprobs: null }] };
    const write = (v: unknown) => res.write(`data: ${JSON.stringify(v)}\n\n`);
    if (p.stream) {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache", connection: "keep-alive" });
      if (chat)
        write({
          ...base,
          object: "chat.completion.chunk",
          choices: [{ index: 0, delta: { role: "assistant", content: "" }, finish_reason: null, logprobs: null }],
        });
    }
    const result = await p.handle.gateway.generate(links, p.prompt, {
      ...p.opts,
      maxTokens: p.maxTokens,
      replace,
      onText: p.stream ? (d) => write(chunk(d, null)) : undefined,
      // A paid generation is not cut mid-step when its client goes away: it ends before the next
      // token, every stage holding the same positions, and is billed for what was computed.
      ...(admission
        ? { trace: { jobId: admission.jobId, index: admission.traceIndex, jobRequest }, stopWhen: () => abort.signal.aborted }
        : { signal: abort.signal }),
    });
    let paid: PaidGeneration | undefined;
    if (admission) {
      // A stage that kept no record would refuse every receipt naming the request: not billed.
      if (!result.recordsKept)
        throw new SessionHandOffError(`a stage of ${p.model} kept no record of this generation (hand-off missing or refused)`);
      const hashes = result.stageHashes!;
      const units = generationUnits(result.positions);
      const stages = result.links.map((l, s) => ({ stage: s, peerId: peerOf(l), ...hashes[s] }));
      const requestHash = hashes[0].inputHash;
      const responseHash = hashes[hashes.length - 1].outputHash;
      const a = admission;
      admission = undefined;
      const index = a.complete({ modelId: p.model, requestHash, responseHash, stages, units });
      paid = { jobId: a.jobId, index, nonce: a.traceIndex, units, reserved: a.units, requestHash, responseHash };
    }
    if (p.stream) {
      write(chunk("", result.finishReason));
      if (p.includeUsage || paid)
        write({
          ...base,
          object: chat ? "chat.completion.chunk" : "text_completion",
          choices: [],
          usage: usage(result),
          ...(paid ? { shardmesh: paid } : {}),
        });
      res.end("data: [DONE]\n\n");
    } else {
      sendJson(res, 200, {
        ...base,
        object: chat ? "chat.completion" : "text_completion",
        choices: [
          chat
            ? {
                index: 0,
                message: { role: "assistant", content: result.text, refusal: null },
                finish_reason: result.finishReason,
                logprobs: null,
              }
            : { index: 0, text: result.text, finish_reason: result.finishReason, logprobs: null },
        ],
        usage: usage(result),
        ...(paid ? { shardmesh: paid } : {}),
      });
    }
  } catch (err) {
    admission?.release();
    const e = err as Error;
    if (!(e instanceof OpenAiRequestError || e instanceof LlmError)) log.error("%s failed: %s", path, e.message);
    if (!abort.signal.aborted)
      sendError(res, e instanceof SessionLengthError || e instanceof TokenizerError ? new OpenAiRequestError(400, e.message) : e);
  }
  return true;
}
