// The committed verifiers (contracts/verifiers/) and keys (circuits/keys/) are what the circuits
// build to: scripts/build-circuits.ts --check over the test instances (cached in circuits/build/;
// a fresh clone compiles, runs the dev ceremony and the setup here). Runs first among the test
// files: the other circuit files wait for this build (it holds the build folder's lock) while
// test files of other areas run beside it.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildTestCircuits } from "./helpers.ts";

describe("circuit build", () => {
  it("the committed verifiers and keys match the circuits (build-circuits --check --test)", async () => {
    const r = await buildTestCircuits();
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /circuits checked: digits-head/);
  });
});
