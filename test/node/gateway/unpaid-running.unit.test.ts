// A client's unpaid requests run at most RateLimiter.maxRunning (⌈unpaidPerSecond⌉) at once: a
// burst of tokens spent at one moment would put them all on the providers ahead of every other
// client's. The gateway here is real (HTTP on 127.0.0.1); its router is a stub that holds each
// request until released, so what runs at once can be counted.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Gateway } from "../../../node/src/gateway/server.ts";
import type { GatewayInit } from "../../../node/src/gateway/server.ts";
import { RateLimiter } from "../../../node/src/gateway/admission.ts";
import { until } from "../../../scripts/lib/wait.ts";
import { postFrom } from "./http.ts";

/** An unpaid /v1/infer request from `localAddress`. */
const post = (url: string, body: string, localAddress = "127.0.0.1") => postFrom(url, "/v1/infer", body, localAddress);

describe("unpaid requests running per client", { timeout: 20_000 }, () => {
  let gateway: Gateway;
  let url: string;
  let running = 0;
  let most = 0;
  const waiting: (() => void)[] = [];
  const one = Buffer.from(new Float32Array([1]).buffer).toString("base64");
  const body = JSON.stringify({ modelId: "m", input: { tensors: { x: { dtype: "float32", dims: [1], data: one } } } });

  before(async () => {
    const router = {
      run: async (_modelId: string, input: unknown) => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((r) => waiting.push(r));
        running--;
        return { output: input, requestHash: `0x${"00".repeat(32)}`, responseHash: `0x${"00".repeat(32)}`, stages: [] };
      },
    };
    const directory = { stageCount: () => 1, list: () => [] };
    gateway = new Gateway({
      peerId: "gateway",
      directory,
      router,
      trace: {},
      admission: {},
      limits: { unpaidPerSecond: 2, unpaidBurst: 10, rateLimitedDelayMs: 0 },
    } as unknown as GatewayInit);
    url = await gateway.start();
  });
  after(() => gateway.stop());

  const releaseAll = () => {
    for (const r of waiting.splice(0)) r();
  };
  // Waits on what the gateway did, never on a fixed time (a loaded machine stretches any delay).
  const runningIs = (n: number) => until(`${n} request(s) running`, async () => running === n, 10_000, 5);
  const answered = <T>(ps: Promise<T>[], n: number) => {
    let done = 0;
    for (const p of ps)
      p.then(
        () => done++,
        () => done++,
      );
    return until(`${n} answer(s)`, async () => done >= n, 10_000, 5);
  };

  it("is derived from the sustained rate: ⌈perSecond⌉, at least 1", () => {
    assert.equal(new RateLimiter({ perSecond: 2, burst: 10, maxClients: 10 }).maxRunning, 2);
    assert.equal(new RateLimiter({ perSecond: 0.5, burst: 10, maxClients: 10 }).maxRunning, 1);
    assert.equal(new RateLimiter({ perSecond: 1000, burst: 1000, maxClients: 10 }).maxRunning, 1000);
  });

  it("runs two of one client's burst at once and refuses the rest with 429, spending no token on them", async () => {
    const answers = Array.from({ length: 6 }, () => post(url, body, "127.0.0.2"));
    await runningIs(2);
    await answered(answers, 4); // the four over the client's running slots are refused at once
    assert.equal(running, 2, "two of the six run");
    // Another client is not held up by the first one's.
    const other = post(url, body, "127.0.0.3");
    await runningIs(3);
    releaseAll();
    const got = await Promise.all([...answers, other]);
    assert.equal(most, 3);
    assert.equal(got.filter((a) => a.status === 200).length, 3);
    for (const a of got.filter((x) => x.status !== 200)) {
      assert.equal(a.status, 429);
      assert.equal(a.name, "GatewayRateLimitedError");
      assert.match(a.message ?? "", /running/);
    }
    // The four refused spent no token: 10 − 2 = 8 are left, two at a time.
    for (let round = 0; round < 4; round++) {
      const pair = [post(url, body, "127.0.0.2"), post(url, body, "127.0.0.2")];
      await runningIs(2);
      releaseAll();
      assert.deepEqual(
        (await Promise.all(pair)).map((a) => a.status),
        [200, 200],
      );
    }
    assert.equal((await post(url, body, "127.0.0.2")).status, 429, "the burst is spent");
  });

  it("frees a running slot when a request fails", async () => {
    const bad = JSON.stringify({ modelId: "m", input: { tensors: { x: { dtype: "float32", dims: [1], data: [1] } } } });
    for (let i = 0; i < 3; i++) assert.equal((await post(url, bad, "127.0.0.4")).name, "TensorJsonError");
    const pair = [post(url, body, "127.0.0.4"), post(url, body, "127.0.0.4")];
    await runningIs(2);
    releaseAll();
    assert.deepEqual(
      (await Promise.all(pair)).map((a) => a.status),
      [200, 200],
    );
  });
});
