// The gateway's admission checks in isolation: JSON shape before JSON.parse (the 2,000,000-key
// body, deep nesting), unpaid token buckets with bounded state, the body limit's derivation and
// the finiteness check.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkFinite, checkJsonShape, GATEWAY_LIMITS, maxBodyFor, RateLimiter, readJsonBody } from "../../../node/src/gateway/admission.ts";

const json = (s: string) => new TextEncoder().encode(s);

describe("gateway admission", () => {
  it("passes a tensor request's JSON, strings with escapes and structural characters inside strings", () => {
    const body = JSON.stringify({
      modelId: "1",
      input: { tensors: { x: { dtype: "float32", dims: [1, 3, 48, 320], data: "A".repeat(100_000) } } },
    });
    checkJsonShape(json(body));
    checkJsonShape(json(JSON.stringify({ a: '{[,:"\\\\', b: '\\"', c: "x".repeat(10) })));
    checkJsonShape(json(`{"a":"${"[".repeat(10_000)}"}`));
  });

  it("refuses bodies with too many members or too deep, before parsing them (GatewayBadRequestError)", () => {
    const keys = `{"modelId":"1","input":{"tensors":{${Array.from({ length: 5_000 }, (_, i) => `"k${i}":0`).join(",")}}}}`;
    assert.throws(() => checkJsonShape(json(keys)), { name: "GatewayBadRequestError", message: /more than 4096 members/ });
    const deep = `{"count":${"[".repeat(1_000_000)}1${"]".repeat(1_000_000)}}`;
    assert.throws(() => checkJsonShape(json(deep)), { name: "GatewayBadRequestError", message: /nested deeper than 32/ });
  });

  it("reads a body up to the limit (413 past it) and leaves malformed JSON to JSON.parse", async () => {
    async function* chunks(...parts: string[]) {
      for (const p of parts) yield Buffer.from(p);
    }
    assert.deepEqual(await readJsonBody(chunks('{"a":', "1}"), 100), { a: 1 });
    await assert.rejects(readJsonBody(chunks("x".repeat(60), "x".repeat(60)), 100), { name: "GatewayBodyTooLargeError" });
    await assert.rejects(readJsonBody(chunks("{"), 100), { name: "SyntaxError" });
  });

  it("derives the body limit from the largest request a served model allows", () => {
    assert.equal(maxBodyFor(0), GATEWAY_LIMITS.minBodyBytes);
    assert.equal(maxBodyFor(30_000_000), 40_000_000 + 64 * 1024);
  });

  it("gives each client a bucket: burst, then the sustained rate; 429 with the wait", () => {
    const rl = new RateLimiter({ perSecond: 2, burst: 3, maxClients: 100 });
    const t = 1_000_000;
    for (let i = 0; i < 3; i++) rl.take("a", t);
    assert.throws(
      () => rl.take("a", t),
      (e: Error & { retryAfterSeconds?: number }) => e.name === "GatewayRateLimitedError" && e.retryAfterSeconds === 1,
    );
    rl.take("b", t); // another client is not affected
    // check() refuses an empty bucket without taking (the gateway's test before reading a body).
    assert.throws(() => rl.check("a", t), { name: "GatewayRateLimitedError" });
    rl.check("c", t); // unknown: full
    rl.check("a", t + 500); // one token back after 0.5 s at 2/s; not taken by check
    rl.take("a", t + 500);
    assert.throws(() => rl.take("a", t + 500), { name: "GatewayRateLimitedError" });
  });

  it("keeps at most maxClients buckets (least recently seen dropped; a new client starts full)", () => {
    const rl = new RateLimiter({ perSecond: 1, burst: 1, maxClients: 1000 });
    for (let i = 0; i < 100_000; i++) rl.take(`10.0.${i >> 8}.${i & 255}`, 0);
    assert.equal(rl.clients, 1000);
  });

  it("refuses NaN and infinities in float tensors by name", () => {
    const f = new Float32Array([1, 2, Number.NaN]);
    assert.throws(() => checkFinite({ x: { dtype: 1, dims: [3], data: new Uint8Array(f.buffer) } }), { name: "TensorNotFiniteError" });
    checkFinite({ x: { dtype: 1, dims: [2], data: new Uint8Array(new Float32Array([1, 2]).buffer) } });
    checkFinite({ i: { dtype: 7, dims: [1], data: new Uint8Array(8).fill(255) } });
  });
});
