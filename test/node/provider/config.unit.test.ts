// Provider flags a person types (node/src/provider/config.ts): amounts in tokens, not base units.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { loadProviderConfig } from "../../../node/src/provider/config.ts";

describe("provider start flags", () => {
  it("--stake takes tokens: 5000 is 5000 SHARD, 0.5 half of one", () => {
    assert.equal(loadProviderConfig(["--stake", "5000"]).config.stake, (5000n * 10n ** 18n).toString());
    assert.equal(loadProviderConfig(["--stake", "0.5"]).config.stake, (5n * 10n ** 17n).toString());
    assert.equal(loadProviderConfig(["--stake", "0.000000000000000001"]).config.stake, "1");
  });

  it("refuses a stake that is no amount of tokens by name", () => {
    for (const bad of ["-1", "1e3", "5,000", "0.0000000000000000001", "SHARD"]) {
      assert.throws(() => loadProviderConfig(["--stake", bad]), { name: "ProviderConfigError" }, bad);
    }
  });

  it("--data-port is a TCP port (default: any free one)", () => {
    assert.equal(loadProviderConfig([]).config.dataPort, undefined);
    assert.equal(loadProviderConfig(["--data-port", "4002"]).config.dataPort, 4002);
    for (const bad of ["0", "65536", "-1", "x", "1.5"]) {
      assert.throws(() => loadProviderConfig(["--data-port", bad]), { name: "ProviderConfigError" }, bad);
    }
  });

  it("--help is help, not a flag missing its value", () => {
    assert.equal(loadProviderConfig(["--help"]).help, true);
  });
});
