// A language model on the mesh: provider processes on 127.0.0.1 (`shardmesh provider start`),
// the gateway running embeddings, head and sampling with its own block stage, another process
// serving the second block stage; the official OpenAI client against the gateway, streaming and
// not; kill -9 of the second stage's provider mid-stream: a spare takes over by replay and the
// text equals an uninterrupted run. Provider choice honours the advertised free KV cache.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import OpenAI from "openai";
import { spawnSync } from "node:child_process";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { ShardMeshClient } from "../../node/src/sdk/index.ts";
import { MeshLlmService } from "../../node/src/llm/index.ts";
import type { Directory, StageProvider } from "../../node/src/mesh/directory.ts";
import { startProviderProc, stopProc, until, type ProviderProc } from "../node/mesh/procs.ts";
import { tempDir, tinySplit } from "./helpers.ts";

const MODEL = "tiny-llama";
const BIN = new URL("../../node/bin/shardmesh.js", import.meta.url).pathname;
const CHAT = { model: MODEL, messages: [{ role: "user" as const, content: "Tell me about the sea." }], max_tokens: 60, temperature: 0 };

describe("language model on the mesh (provider processes)", () => {
  const procs: ProviderProc[] = [];
  let client: OpenAI;
  let manifest: string;
  const start = async (stages: string, extra: string[] = []) => {
    const p = await startProviderProc([
      "--model",
      `${MODEL}=${manifest}:${stages}:1000`,
      "--data-dir",
      tempDir("prov"),
      "--key-file",
      `${tempDir("key")}/node.key`,
      "--no-dht",
      ...(procs[0] ? ["--bootstrap", `${procs[0].addr}`] : []),
      ...extra,
    ]);
    procs.push(p);
    return p;
  };

  before(async () => {
    manifest = (await tinySplit([2, 2])).path;
    const gw = await start("0", ["--gateway-port", "0"]);
    await start("1", ["--no-gateway"]);
    assert.ok(gw.gateway);
    client = new OpenAI({ baseURL: `${gw.gateway}/v1`, apiKey: "unused", maxRetries: 0, timeout: 30_000 });
    await until("stage 1 announced", async () => {
      const r = (await (await fetch(`${gw.gateway}/v1/models`)).json()) as {
        models: Array<{ id: string; stages: Array<{ providers: unknown[] }> }>;
      };
      return r.models.find((m) => m.id === MODEL)?.stages[1]?.providers.length === 1;
    });
  });
  after(async () => {
    await Promise.all(procs.map((p) => stopProc(p)));
  });

  it("serves /v1/models and chat completions through 2 stages in 2 processes, streamed and not", async () => {
    const list = await client.models.list();
    assert.deepEqual(
      list.data.map((m) => m.id),
      [MODEL],
    );
    const whole = await client.chat.completions.create(CHAT);
    const n = whole.usage?.completion_tokens ?? 0;
    assert.ok(n > 0 && n <= 60 && (n === 60) === (whole.choices[0].finish_reason === "length"));
    let text = "";
    for await (const c of await client.chat.completions.create({ ...CHAT, stream: true })) text += c.choices[0]?.delta.content ?? "";
    assert.equal(text, whole.choices[0].message.content);
    const plain = await client.completions.create({ model: MODEL, prompt: "Call me Ishmael.", max_tokens: 10, temperature: 0.9, seed: 3 });
    const again = await client.completions.create({ model: MODEL, prompt: "Call me Ishmael.", max_tokens: 10, temperature: 0.9, seed: 3 });
    assert.equal(plain.choices[0].text, again.choices[0].text);
  });

  it("the SDK and `shardmesh chat --gateway` stream the same text", async () => {
    const sm = new ShardMeshClient(procs[0].gateway!);
    const req = { model: MODEL, messages: [{ role: "user" as const, content: "Hello" }], max_tokens: 12, temperature: 0 };
    const whole = await sm.chat(req);
    let streamed = "";
    const r = await sm.chat(req, { onText: (d) => (streamed += d) });
    assert.equal(r.text, whole.text);
    assert.equal(streamed, whole.text);
    assert.equal(r.usage.completion_tokens, whole.usage.completion_tokens);
    const cli = spawnSync(
      process.execPath,
      [BIN, "chat", "--gateway", procs[0].gateway!, "--model", MODEL, "--max-tokens", "12", "Hello"],
      {
        encoding: "utf8",
        env: { ...process.env, NODE_NO_WARNINGS: "1" },
      },
    );
    assert.equal(cli.status, 0, cli.stderr);
    assert.equal(cli.stdout, `${whole.text}\n`);
    await assert.rejects(sm.chat({ ...req, model: "nope" }), { name: "GatewayApiError" });
  });

  it("kill -9 of the second stage's provider mid-stream: a spare provider takes over, the text is unchanged", async () => {
    const reference = await client.chat.completions.create(CHAT);
    const victim = procs[1];
    await start("1", ["--no-gateway"]);
    await until("spare announced", async () => {
      const r = (await (await fetch(`${procs[0].gateway}/v1/models`)).json()) as {
        models: Array<{ id: string; stages: Array<{ providers: unknown[] }> }>;
      };
      return r.models.find((m) => m.id === MODEL)?.stages[1]?.providers.length === 2;
    });
    let text = "";
    let killedAt = 0;
    let chunksAfterDeath = 0;
    for await (const c of await client.chat.completions.create({ ...CHAT, stream: true })) {
      const d = c.choices[0]?.delta.content ?? "";
      text += d;
      if (d && !killedAt) {
        victim.child.kill("SIGKILL");
        await victim.exited;
        killedAt = Date.now();
      } else if (killedAt && d) chunksAfterDeath++;
    }
    assert.ok(killedAt > 0, "the stream produced text");
    assert.ok(chunksAfterDeath > 5, `only ${chunksAfterDeath} chunks came after the kill`);
    assert.equal(text, reference.choices[0].message.content);
  });
});

describe("a gateway with only the manifest", () => {
  it("fetches its stage file, the embed/head parts and the tokenizer from peers by sha256 and serves chat", async () => {
    const manifest = (await tinySplit([2, 2])).path;
    const procs: ProviderProc[] = [];
    const args = (m: string, stage: number) => [
      "--model",
      `${MODEL}=${m}:${stage}:1000`,
      "--data-dir",
      tempDir("prov"),
      "--key-file",
      `${tempDir("key")}/node.key`,
      "--no-dht",
    ];
    try {
      procs.push(await startProviderProc([...args(manifest, 0), "--no-gateway"]));
      procs.push(await startProviderProc([...args(manifest, 1), "--no-gateway", "--bootstrap", procs[0].addr]));
      const bare = tempDir("bare");
      copyFileSync(manifest, join(bare, "manifest.json"));
      // Bootstrapped to both holders: with --no-dht a peer known only from gossip has no address to dial.
      const gw = await startProviderProc([
        ...args(join(bare, "manifest.json"), 1),
        "--gateway-port",
        "0",
        "--bootstrap",
        procs[0].addr,
        "--bootstrap",
        procs[1].addr,
      ]);
      procs.push(gw);
      assert.ok(
        gw.events.some((e) => e.event === "shard-progress"),
        "the stage file came from the mesh",
      );
      const client = new OpenAI({ baseURL: `${gw.gateway}/v1`, apiKey: "unused", maxRetries: 0, timeout: 30_000 });
      await until("both stages reachable from the bare gateway", async () => {
        const r = (await (await fetch(`${gw.gateway}/v1/models`)).json()) as {
          data: unknown[];
          models: Array<{ id: string; stages: Array<{ providers: unknown[] }> }>;
        };
        const m = r.models.find((x) => x.id === MODEL);
        return r.data.length === 1 && m?.stages.length === 2 && m.stages.every((s) => s.providers.length > 0);
      });
      const r = await client.chat.completions.create({ ...CHAT, max_tokens: 8 });
      const n = r.usage?.completion_tokens ?? 0;
      assert.ok(n > 0 && n <= 8);
    } finally {
      await Promise.all(procs.map((p) => stopProc(p)));
    }
  });
});

describe("provider choice for sessions", () => {
  it("only providers whose advertised free KV cache holds the session are picked, least loaded first; failed ones are skipped", async () => {
    const providers: StageProvider[] = [
      { peerId: "small", price: 1n, load: 0, capacity: 4, latencyMs: 1, kvFreeBytes: 1000 },
      { peerId: "busy", price: 1n, load: 4, capacity: 4, latencyMs: 1, kvFreeBytes: 10_000_000 },
      { peerId: "idle", price: 1n, load: 0, capacity: 4, latencyMs: 1, kvFreeBytes: 10_000_000 },
    ];
    const directory = { providers: () => providers } as unknown as Directory;
    const split = await tinySplit([2, 2]);
    const { DecoderGateway } = await import("../../node/src/llm/index.ts");
    const gw = await DecoderGateway.open(split.path);
    try {
      const svc = new MeshLlmService({
        directory,
        client: {} as never,
        selfPeerId: "me",
        local: new Map(),
        gateways: new Map([[MODEL, gw]]),
      });
      const perToken = split.manifest.decoder!.kvBytesPerToken[1];
      // 100 positions need 100 × perToken bytes: "small" cannot hold them.
      assert.ok(100 * perToken > 1000);
      assert.deepEqual(
        svc.candidates(MODEL, 1, 100).map((c) => c.peer),
        ["idle", "busy"],
      );
      assert.deepEqual(
        svc.candidates(MODEL, 1, 100, new Set(["idle"])).map((c) => c.peer),
        ["busy"],
      );
      assert.deepEqual(
        svc.candidates(MODEL, 1, 1).map((c) => c.peer),
        ["small", "idle", "busy"],
      );
      // No room anywhere: KvCacheFullError; nobody serving the stage: LlmNoProviderError (both 503).
      const handle = svc.model(MODEL)!;
      providers.splice(1);
      await assert.rejects(handle.links(100, AbortSignal.timeout(1000)), { name: "KvCacheFullError" });
      providers.splice(0);
      await assert.rejects(handle.links(1, AbortSignal.timeout(1000)), { name: "LlmNoProviderError" });
    } finally {
      await gw.close();
    }
  });
});
