// The hostile-client suite against a live local market (test/abuse/harness.ts: chain, contracts,
// the 2-stage recogniser, four staked provider processes, the gateway on provider 1). Each
// attack asserts the named error the attacker gets, that every honest request issued meanwhile
// succeeds with the right text, and that the attacked process's memory stays under a stated
// bound and returns under it afterwards.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { imageBomb } from "./attacks.ts";
import { errorName, honestLoad, MiB, rssOf, rssSettles, startMarket, stopMarket, watchRss, type Market } from "./harness.ts";

/** Memory an attack may add to the attacked process at its peak, and keep after it. */
const PEAK_BOUND = 256 * MiB;
const KEPT_BOUND = 64 * MiB;

let market: Market;

before(async () => {
  market = await startMarket();
});
after(() => stopMarket(market));

/** Runs `attack` while two honest buyers send requests; checks them and the gateway's memory. */
async function underAttack<T>(attack: () => Promise<T>): Promise<{ result: T; peak: number; honest: number }> {
  const pid = market.gateway.child.pid!;
  const base = rssOf(pid);
  const watch = watchRss(pid);
  const load = honestLoad(market, { concurrency: 2 });
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
  return { result, peak, honest: honest.latencies.length };
}

describe("hostile buyers against a live market", () => {
  it("image bombs: PNGs declaring 6000×6000 and 12000×12000 pixels are refused from their header (413 ImageTooLargeError)", async () => {
    const { result } = await underAttack(async () => {
      const answers = [];
      for (let i = 0; i < 5; i++) {
        answers.push(await imageBomb(market.url, market.modelId, 6000, 6000));
        answers.push(await imageBomb(market.url, market.modelId, 12000, 12000));
      }
      return answers;
    });
    for (const a of result) {
      assert.equal(a.status, 413);
      assert.equal(errorName(a), "ImageTooLargeError");
    }
  });
});
