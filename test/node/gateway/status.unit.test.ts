// The gateway's name → HTTP status table: every name it lists is an error class some layer really
// raises (a stale name maps nothing), buyers' mistakes are 4xx, and unlisted names are 500.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ERROR_STATUS, errorStatus } from "../../../node/src/gateway/status.ts";
import { GatewayBadRequestError, GatewayChainUnavailableError } from "../../../node/src/gateway/errors.ts";
import { JobsJobUnavailableError } from "../../../node/src/jobs/errors.ts";
import { PipelineTimeoutError } from "../../../node/src/pipeline/errors.ts";
import { RouterNoProviderError } from "../../../node/src/router/errors.ts";
import { TensorJsonError } from "../../../node/src/tensor/errors.ts";

const src = new URL("../../../node/src/", import.meta.url).pathname;

function errorNames(dir: string): Set<string> {
  const names = new Set<string>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile() || !entry.name.endsWith(".ts")) continue;
    const text = readFileSync(join(entry.parentPath, entry.name), "utf8");
    for (const m of text.matchAll(/override (?:readonly )?name = "(\w+)"/g)) names.add(m[1]);
  }
  return names;
}

describe("gateway error statuses", () => {
  it("lists only names some error class in node/src has", () => {
    const known = errorNames(src);
    const stale = Object.keys(ERROR_STATUS).filter((n) => n !== "SyntaxError" && !known.has(n));
    assert.deepEqual(stale, []);
  });

  it("maps errors by name; unknown names are 500", () => {
    assert.equal(errorStatus(new GatewayBadRequestError("x")), 400);
    assert.equal(errorStatus(new TensorJsonError("x")), 400);
    assert.equal(errorStatus(new SyntaxError("x")), 400);
    assert.equal(errorStatus(new JobsJobUnavailableError("x")), 409);
    assert.equal(errorStatus(new GatewayChainUnavailableError("x")), 501);
    assert.equal(errorStatus(new RouterNoProviderError("x")), 503);
    assert.equal(errorStatus(new PipelineTimeoutError("x")), 504);
    assert.equal(errorStatus(new Error("x")), 500);
  });
});
