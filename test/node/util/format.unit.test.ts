// The one token formatter (node/src/util/format.ts): the CLI, scripts, demo and web app show
// amounts through it, in tokens, never base units.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { formatAmount, formatTokens, TOKEN_SYMBOL } from "../../../node/src/util/format.ts";

const TOKEN = 10n ** 18n;

describe("token amounts for people", () => {
  it("shows tokens, grouped, with every decimal by default (CLI prices stay exact)", () => {
    assert.equal(formatTokens(1_234_567n * TOKEN + TOKEN / 2n), `1,234,567.5 ${TOKEN_SYMBOL}`);
    assert.equal(formatTokens(10n), "0.00000000000000001 SHARD");
    assert.equal(formatTokens("1000000000000000"), "0.001 SHARD", "decimal strings (gateway JSON) too");
    assert.equal(formatTokens(0n), "0 SHARD");
  });

  it("cuts to maxDecimals without rounding up, and never shows a nonzero amount as 0", () => {
    assert.equal(formatAmount(123_456_789n * 10n ** 9n, 18, 4), "0.1234");
    assert.equal(formatAmount(99_999n * 10n ** 13n, 18, 4), "0.9999");
    assert.equal(formatTokens(1n, 4), "<0.0001 SHARD");
    assert.equal(formatAmount(1n, 18, 0), "<1");
    assert.equal(formatAmount(-2n * TOKEN), "-2");
  });

  it("other decimals (a wallet's native balance, a 6-decimal token)", () => {
    assert.equal(formatAmount(1_500_000n, 6), "1.5");
  });
});
