// The hostile-client suite against a live local market (test/abuse/harness.ts: chain, contracts,
// the 2-stage recogniser, four staked provider processes, the gateway on provider 1). Each
// attack runs from its own loopback address while three honest buyers (each from theirs) send
// requests; it asserts the named error the attacker gets, that every honest request issued
// meanwhile succeeded with the right text, and that the attacked process's memory stayed under
// PEAK_BOUND above its level before the attack and returned under KEPT_BOUND after it.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  connectionFlood,
  deepJson,
  imageBomb,
  manyKeysBody,
  manyTensorsBody,
  postInfer,
  rawRequest,
  slowBody,
  tensorBody,
  unpaidFlood,
} from "./attacks.ts";
import {
  ATTACKER_ADDRESS,
  errorName,
  honestLoad,
  httpJson,
  MiB,
  rssOf,
  rssSettles,
  startMarket,
  stopMarket,
  watchRss,
  type HttpAnswer,
  type Market,
} from "./harness.ts";

/** Memory an attack may add to the attacked process at its peak, and keep after it. */
const PEAK_BOUND = 256 * MiB;
const KEPT_BOUND = 64 * MiB;
/** The abuse market's gateway closes a request not received whole within this (default 30 s). */
const REQUEST_TIMEOUT_MS = 4_000;

let market: Market;

before(async () => {
  market = await startMarket({ gatewayLimits: { requestTimeoutMs: REQUEST_TIMEOUT_MS } });
});
after(() => stopMarket(market));

/** Runs `attack` while three honest buyers send requests; checks them and the gateway's memory. */
async function underAttack<T>(attack: () => Promise<T>): Promise<T> {
  const pid = market.gateway.child.pid!;
  const base = rssOf(pid);
  const watch = watchRss(pid);
  const load = honestLoad(market);
  const result = await attack();
  // Keep the honest load running a little past the attack: effects that outlive it count too.
  await new Promise((r) => setTimeout(r, 1_000));
  const honest = await load.stop();
  const { peak } = watch.stop();
  assert.deepEqual(honest.errors, [], "every honest request during the attack succeeded");
  assert.ok(honest.latencies.length > 0, "honest requests were served during the attack");
  assert.ok(peak - base < PEAK_BOUND, `peak RSS grew ${((peak - base) / MiB).toFixed(0)} MiB (bound ${PEAK_BOUND / MiB})`);
  const settled = await rssSettles(pid, base + KEPT_BOUND);
  assert.ok(
    settled <= base + KEPT_BOUND,
    `RSS kept ${((settled - base) / MiB).toFixed(0)} MiB after the attack (bound ${KEPT_BOUND / MiB})`,
  );
  return result;
}

function assertNamed(a: HttpAnswer, status: number, name: string): void {
  assert.equal(errorName(a), name, `answer ${a.status} ${JSON.stringify(a.body).slice(0, 200)}`);
  assert.equal(a.status, status);
}

describe("hostile buyers against a live market", () => {
  it("image bombs: PNGs declaring 6000×6000 and 12000×12000 pixels are refused from their header (413 ImageTooLargeError)", async () => {
    const answers = await underAttack(async () => {
      const out = [];
      for (let i = 0; i < 5; i++) {
        out.push(await imageBomb(market.url, market.modelId, 6000, 6000));
        out.push(await imageBomb(market.url, market.modelId, 12000, 12000));
      }
      return out;
    });
    for (const a of answers) assertNamed(a, 413, "ImageTooLargeError");
  });

  it("a 2,000,000-key body is refused by size (413), a 400,000-key one by its JSON shape before it is parsed (400)", async () => {
    const [huge, keys] = await underAttack(async () => [
      await postInfer(market.url, manyKeysBody(market.modelId, 2_000_000)),
      await postInfer(market.url, manyKeysBody(market.modelId, 400_000)),
    ]);
    assertNamed(huge, 413, "GatewayBodyTooLargeError");
    assertNamed(keys, 400, "GatewayBadRequestError");
  });

  it("tensors outside the model's bounds are the buyer's 4xx before any hop: too wide, too many, wrong size, NaN", async () => {
    const nan = JSON.parse(tensorBody(market.modelId, [1, 3, 48, 320]));
    const f = new Float32Array(3 * 48 * 320);
    f[7] = Number.NaN;
    nan.input.tensors.x.data = Buffer.from(f.buffer).toString("base64");
    const answers = await underAttack(async () => ({
      tooWide: await postInfer(market.url, tensorBody(market.modelId, [1, 3, 48, 16000])),
      wide: await postInfer(market.url, tensorBody(market.modelId, [1, 3, 48, 2000])),
      batch: await postInfer(market.url, tensorBody(market.modelId, [8, 3, 48, 320])),
      tensors5000: await postInfer(market.url, manyTensorsBody(market.modelId, 5000)),
      tensors100: await postInfer(market.url, manyTensorsBody(market.modelId, 100)),
      tensors10: await postInfer(market.url, manyTensorsBody(market.modelId, 10)),
      wrongSize: await postInfer(market.url, tensorBody(market.modelId, [1, 3, 48, 320], 1000)),
      nan: await postInfer(market.url, JSON.stringify(nan)),
    }));
    assertNamed(answers.tooWide, 413, "GatewayBodyTooLargeError");
    assertNamed(answers.wide, 400, "InputOutOfBoundsError");
    assertNamed(answers.batch, 400, "InputOutOfBoundsError");
    assertNamed(answers.tensors5000, 400, "GatewayBadRequestError"); // its JSON shape, before parsing
    assertNamed(answers.tensors100, 400, "TensorJsonError");
    assertNamed(answers.tensors10, 400, "InputMismatchError");
    assertNamed(answers.wrongSize, 400, "InputMismatchError");
    assertNamed(answers.nan, 400, "TensorNotFiniteError");
    // No provider was charged for any of it: the gateway's router saw no failure.
    const mesh = (await httpJson(`${market.url}/v1/mesh`)).body as { peers: { failed: number; penalty: number }[] };
    assert.deepEqual(
      mesh.peers.map((p) => p.failed),
      mesh.peers.map(() => 0),
    );
  });

  it("sloppy edges are named 4xx: malformed escapes and non-numeric job ids, deep JSON, receipt-route mistakes, maxUnits over 32 bits", async () => {
    const answers = await underAttack(async () => ({
      escape: await rawRequest(market.url, "GET /v1/jobs/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
      jobWord: await httpJson(`${market.url}/v1/jobs/abc`, { localAddress: ATTACKER_ADDRESS }),
      receiptWord: await httpJson(`${market.url}/v1/jobs/abc/receipt`, { localAddress: ATTACKER_ADDRESS, body: "{}" }),
      deep: await httpJson(`${market.url}/v1/jobs/1/receipt`, { localAddress: ATTACKER_ADDRESS, body: deepJson(1_000_000) }),
      receiptEmpty: await httpJson(`${market.url}/v1/jobs/1/receipt`, { localAddress: ATTACKER_ADDRESS, body: "{}" }),
      receiptBadSig: await httpJson(`${market.url}/v1/jobs/1/receipt`, {
        localAddress: ATTACKER_ADDRESS,
        body: JSON.stringify({ count: 1, units: 1, outputRoot: `0x${"11".repeat(32)}`, signature: "0x1234" }),
      }),
      units: await httpJson(`${market.url}/v1/quotes?modelId=${market.modelId}&maxUnits=5000000000&buyer=0x${"12".repeat(20)}`, {
        localAddress: ATTACKER_ADDRESS,
      }),
    }));
    assert.match(answers.escape, /^HTTP\/1\.1 400 /);
    assert.match(answers.escape, /"name":"JobsInvalidJobIdError"/);
    assertNamed(answers.jobWord, 400, "JobsInvalidJobIdError");
    assertNamed(answers.receiptWord, 400, "JobsInvalidJobIdError");
    assertNamed(answers.deep, 400, "GatewayBadRequestError");
    assertNamed(answers.receiptEmpty, 400, "GatewayBadRequestError");
    assertNamed(answers.receiptBadSig, 400, "GatewayBadRequestError");
    assertNamed(answers.units, 400, "GatewayBadRequestError");
  });

  it("a slow body is cut off at the gateway's request deadline; idle connections past the per-client cap are refused", async () => {
    const { slow, flood } = await underAttack(async () => {
      const slowP = slowBody(market.url, { everyMs: 500, maxMs: REQUEST_TIMEOUT_MS + 10_000 });
      const floodR = await connectionFlood(market.url, 100, 3_000);
      floodR.close();
      return { slow: await slowP, flood: floodR };
    });
    assert.ok(slow.closedByServer, "the server closed the slow connection");
    assert.ok(slow.openMs < REQUEST_TIMEOUT_MS + 5_000, `open ${slow.openMs.toFixed(0)} ms`);
    assert.ok(flood.open <= 32, `${flood.open} of ${flood.opened} idle connections kept (cap 32 per client)`);
  });

  it("an unpaid flood from one client gets 429 with Retry-After beyond its share; honest clients keep theirs", async () => {
    const started = Date.now();
    const answers = await underAttack(() => unpaidFlood(market.url, market.honestBody, 200));
    const seconds = (Date.now() - started) / 1000;
    const byName = new Map<string, number>();
    for (const a of answers) {
      const k = a.status === 200 ? "ok" : `${a.status} ${errorName(a)}`;
      byName.set(k, (byName.get(k) ?? 0) + 1);
    }
    const odd = answers.find((a) => a.status !== 200 && a.status !== 429);
    assert.deepEqual(
      [...byName.keys()].sort(),
      ["429 GatewayRateLimitedError", "ok"],
      `${JSON.stringify([...byName])} ${JSON.stringify(odd?.body)}`,
    );
    // The client's share: a burst of 10, then 2 per second.
    assert.ok((byName.get("ok") ?? 0) <= 10 + 2 * seconds + 1, `${byName.get("ok")} unpaid requests served in ${seconds.toFixed(1)} s`);
    const limited = answers.find((a) => a.status === 429)!;
    assert.match(String(limited.headers["retry-after"]), /^\d+$/);
  });
});
