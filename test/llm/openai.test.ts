// The OpenAI-compatible API, driven by the official `openai` client from npm against a local
// server (127.0.0.1): /v1/models, /v1/completions and /v1/chat/completions, streaming and not;
// same seed → same text; bad requests are 4xx in OpenAI's error shape.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import OpenAI from "openai";
import { handleOpenAi } from "../../node/src/gateway/openai.ts";
import { RateLimiter } from "../../node/src/gateway/admission.ts";
import { DecoderGateway, DecoderStageRunner, type LlmService } from "../../node/src/llm/index.ts";
import { tinySplit } from "./helpers.ts";

describe("OpenAI-compatible API", () => {
  let server: Server;
  let client: OpenAI;
  let base: string;
  let gw: DecoderGateway;
  let stages: DecoderStageRunner[];

  before(async () => {
    const split = await tinySplit([2, 2]);
    gw = await DecoderGateway.open(split.path);
    stages = await Promise.all(split.manifest.stages.map((_, s) => DecoderStageRunner.fromManifest(gw.manifest, s)));
    const service: LlmService = {
      models: () => [{ id: "tiny-llama", created: 1_700_000_000 }],
      model: (id) => (id === "tiny-llama" ? { gateway: gw, links: async () => ({ links: stages, peerOf: () => "self" }) } : undefined),
    };
    server = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      handleOpenAi(req, res, path, service).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
    client = new OpenAI({ baseURL: base, apiKey: "unused", maxRetries: 0, timeout: 30_000 });
  });
  after(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await Promise.all([...stages.map((s) => s.close()), gw.close()]);
  });

  it("lists the models", async () => {
    const list = await client.models.list();
    assert.deepEqual(
      list.data.map((m) => m.id),
      ["tiny-llama"],
    );
  });

  it("chat completions, not streamed: text, finish reason, usage; the same seed gives the same text", async () => {
    const ask = () =>
      client.chat.completions.create({
        model: "tiny-llama",
        messages: [{ role: "user", content: "Tell me about whales." }],
        max_tokens: 10,
        temperature: 0.8,
        seed: 42,
      });
    const a = await ask();
    const b = await ask();
    assert.equal(a.object, "chat.completion");
    assert.equal(a.choices[0].message.role, "assistant");
    assert.equal(a.choices[0].message.content, b.choices[0].message.content);
    assert.ok(["stop", "length"].includes(a.choices[0].finish_reason));
    assert.equal(a.usage?.total_tokens, (a.usage?.prompt_tokens ?? 0) + (a.usage?.completion_tokens ?? 0));
    assert.ok((a.usage?.prompt_tokens ?? 0) > 5);
  });

  it("chat completions streamed: the deltas add up to the non-streamed text; usage chunk when asked", async () => {
    const params = { model: "tiny-llama", messages: [{ role: "user" as const, content: "Hello" }], max_tokens: 12, temperature: 0 };
    const whole = await client.chat.completions.create(params);
    const stream = await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let finish: string | null = null;
    let chunks = 0;
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const c of stream) {
      chunks++;
      if (c.usage) usage = c.usage;
      for (const ch of c.choices) {
        text += ch.delta.content ?? "";
        finish = ch.finish_reason ?? finish;
      }
    }
    assert.ok(chunks >= 3);
    assert.equal(text, whole.choices[0].message.content);
    assert.equal(finish, whole.choices[0].finish_reason);
    assert.equal(usage?.completion_tokens, whole.usage?.completion_tokens);
  });

  it("completions, streamed and not", async () => {
    const r = await client.completions.create({ model: "tiny-llama", prompt: "Call me Ishmael.", max_tokens: 8, temperature: 0 });
    assert.equal(r.object, "text_completion");
    assert.equal(r.usage?.completion_tokens, 8);
    assert.equal(r.choices[0].finish_reason, "length");
    let text = "";
    for await (const c of await client.completions.create({
      model: "tiny-llama",
      prompt: "Call me Ishmael.",
      max_tokens: 8,
      temperature: 0,
      stream: true,
    })) {
      text += c.choices[0]?.text ?? "";
    }
    assert.equal(text, r.choices[0].text);
  });

  it("bad requests are 4xx with OpenAI's error shape and a stable name", async () => {
    const bad = async (body: Record<string, unknown>, status: number, code: string) => {
      await assert.rejects(client.chat.completions.create(body as never), (e: unknown) => {
        const err = e as InstanceType<typeof OpenAI.APIError>;
        assert.equal(err.status, status, String(err.message));
        assert.equal(err.code, code);
        return true;
      });
    };
    await bad({ model: "nope", messages: [{ role: "user", content: "x" }] }, 404, "model_not_found");
    await bad({ model: "tiny-llama", messages: [] }, 400, "invalid_request_error");
    await bad({ model: "tiny-llama", messages: [{ role: "wizard", content: "x" }] }, 400, "invalid_request_error");
    await bad({ model: "tiny-llama", messages: [{ role: "user", content: "x" }], temperature: 9 }, 400, "invalid_request_error");
    await bad({ model: "tiny-llama", messages: [{ role: "user", content: "x" }], max_tokens: 100_000 }, 400, "context_length_exceeded");
    await bad({ model: "tiny-llama", messages: [{ role: "user", content: "x" }], n: 2 }, 400, "invalid_request_error");
    const raw = await fetch(`${base}/chat/completions`, { method: "POST", body: "{not json" });
    assert.equal(raw.status, 400);
    assert.equal(((await raw.json()) as { error: { name: string } }).error.name, "OpenAiRequestError");
    for (const s of stages) assert.equal(s.stats().sessions, 0, "no session left open");
  });

  it("an unpaid generation over the client's share is 429 GatewayRateLimitedError in OpenAI's error shape, and opens no session", async () => {
    // The gateway's admit hook (gateway/server.ts): no job headers → the client's unpaid bucket.
    const limiter = new RateLimiter({ perSecond: 0.001, burst: 1, maxClients: 16 });
    const service: LlmService = {
      models: () => [{ id: "tiny-llama", created: 1_700_000_000 }],
      model: (id) => (id === "tiny-llama" ? { gateway: gw, links: async () => ({ links: stages, peerOf: () => "self" }) } : undefined),
    };
    const limited = createServer((req, res) => {
      const path = new URL(req.url ?? "/", "http://x").pathname;
      handleOpenAi(req, res, path, service, {
        admit: async (r) => {
          limiter.take(r.socket.remoteAddress ?? "?");
          return undefined;
        },
      }).then((handled) => {
        if (!handled) res.writeHead(404).end();
      });
    });
    await new Promise<void>((r) => limited.listen(0, "127.0.0.1", r));
    try {
      const c = new OpenAI({ baseURL: `http://127.0.0.1:${(limited.address() as AddressInfo).port}/v1`, apiKey: "unused", maxRetries: 0 });
      const ask = () => c.chat.completions.create({ model: "tiny-llama", messages: [{ role: "user", content: "Hi" }], max_tokens: 2 });
      await ask();
      await assert.rejects(ask(), (e: unknown) => {
        const err = e as InstanceType<typeof OpenAI.APIError>;
        assert.equal(err.status, 429, String(err.message));
        assert.equal(err.code, "GatewayRateLimitedError");
        return true;
      });
      for (const st of stages) assert.equal(st.stats().sessions, 0, "no session left open");
    } finally {
      await new Promise<void>((r) => limited.close(() => r()));
    }
  });
});
