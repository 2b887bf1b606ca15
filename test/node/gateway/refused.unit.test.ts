// Refused requests count against their client (GatewayLimits.refusedPerSecond / refusedBurst): a
// POST answered with a 4xx other than 429 (a bad body, bad input, a bad signature under a job, an
// unknown model) takes a token from the client's refused bucket, and a client whose bucket is
// empty is refused 429 before its next body is read. On the old code a flood of bad bodies or
// bad signatures was answered 400/401 forever: each one cost the gateway a body read, a parse and
// a signature check and took no unpaid token. The gateway is real (HTTP on 127.0.0.1); its router
// is a stub that answers at once.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Gateway } from "../../../node/src/gateway/server.ts";
import type { GatewayInit } from "../../../node/src/gateway/server.ts";
import { postFrom, type Answer } from "./http.ts";

describe("refused requests per client", { timeout: 30_000 }, () => {
  const BURST = 5;
  let gateway: Gateway;
  let url: string;
  let routed = 0;
  let signaturesChecked = 0;
  const one = Buffer.from(new Float32Array([1]).buffer).toString("base64");
  const good = JSON.stringify({ modelId: "m", input: { tensors: { x: { dtype: "float32", dims: [1], data: one } } } });
  const badInput = JSON.stringify({ modelId: "m", input: { tensors: { x: { dtype: "float32", dims: [1], data: [1] } } } });

  before(async () => {
    const router = {
      run: async (_modelId: string, input: unknown) => {
        routed++;
        return { output: input, requestHash: `0x${"00".repeat(32)}`, responseHash: `0x${"00".repeat(32)}`, stages: [] };
      },
    };
    gateway = new Gateway({
      peerId: "gateway",
      directory: { stageCount: () => 1, list: () => [] },
      router,
      trace: {},
      admission: {},
      llm: { models: () => [], model: () => undefined },
      hooks: {
        verifyJobRequest: async () => {
          signaturesChecked++;
          return false;
        },
      },
      // Effectively no refill within the test: the counts below are exact.
      limits: {
        unpaidPerSecond: 1_000,
        unpaidBurst: 1_000,
        refusedPerSecond: 0.001,
        refusedBurst: BURST,
        rateLimitedDelayMs: 0,
        minBodyBytes: 64 * 1024,
      },
    } as unknown as GatewayInit);
    url = await gateway.start();
  });
  after(() => gateway.stop());

  it("throttles a client after refusedBurst bad bodies, before reading the next body, and only that client", async () => {
    const client = "127.0.0.2";
    const bad = ["{", "[]", badInput, "{", badInput];
    for (const body of bad) {
      const a = await postFrom(url, "/v1/infer", body, client);
      assert.equal(a.status, 400, `${body} is the client's mistake`);
    }
    // Its share is spent: the next request is 429, whatever it holds (its body is not read).
    const next = await postFrom(url, "/v1/infer", good, client);
    assert.equal(next.status, 429);
    assert.equal(next.name, "GatewayRateLimitedError");
    assert.match(next.message ?? "", /refused requests/);
    const routedBefore = routed;
    assert.equal((await postFrom(url, "/v1/infer", "{", client)).status, 429, "a 429 takes no further token and reads nothing");
    assert.equal(routed, routedBefore);
    // Another client is served.
    assert.equal((await postFrom(url, "/v1/infer", good, "127.0.0.3")).status, 200);
    // GETs are not throttled: a client can still read the health and models of the gateway.
    const health = await fetch(`${url}/v1/health`);
    assert.equal(health.status, 200);
  });

  it("counts bad signatures under a job: a flood of them stops being checked", async () => {
    const client = "127.0.0.4";
    const headers = { "x-shardmesh-job": "1", "x-shardmesh-nonce": "0", "x-shardmesh-signature": `0x${"11".repeat(65)}` };
    for (let i = 0; i < BURST; i++) {
      const a = await postFrom(url, "/v1/infer", good, client, headers);
      assert.equal(a.status, 401);
      assert.equal(a.name, "GatewayUnauthorizedError");
    }
    const checked = signaturesChecked;
    for (let i = 0; i < 10; i++) assert.equal((await postFrom(url, "/v1/infer", good, client, headers)).status, 429);
    assert.equal(signaturesChecked, checked, "no signature checked once the client's refused share is spent");
  });

  it("counts the OpenAI routes' refusals (they answer in OpenAI's error shape)", async () => {
    const client = "127.0.0.5";
    const body = JSON.stringify({ model: "no-such-model", prompt: "hi" });
    for (let i = 0; i < BURST; i++) {
      const a = await postFrom(url, "/v1/completions", body, client);
      assert.ok(a.status >= 400 && a.status < 500 && a.status !== 429, `status ${a.status}`);
    }
    const a = await postFrom(url, "/v1/completions", body, client);
    assert.equal(a.status, 429);
    assert.equal(a.name, "GatewayRateLimitedError");
  });

  it("counts bodies over the limit (refused mid-body, when the request has no socket left)", async () => {
    const client = "127.0.0.7";
    const huge = JSON.stringify({ modelId: "m", pad: "x".repeat(gateway.maxBodyBytes) });
    for (let i = 0; i < BURST; i++) {
      const a = await postFrom(url, "/v1/infer", huge, client).catch(() => ({ status: 413 }) as Answer);
      assert.equal(a.status, 413);
    }
    assert.equal((await postFrom(url, "/v1/infer", good, client)).status, 429);
  });

  it("does not count successes: an honest client's good requests never spend its refused share", async () => {
    const client = "127.0.0.6";
    for (let i = 0; i < BURST * 3; i++) assert.equal((await postFrom(url, "/v1/infer", good, client)).status, 200);
    for (let i = 0; i < BURST; i++) assert.equal((await postFrom(url, "/v1/infer", "{", client)).status, 400);
  });
});
