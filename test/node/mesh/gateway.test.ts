// The gateway's HTTP contract (docs/PROTOCOL.md "Gateway HTTP API") on a real in-process
// provider node serving both stages of the tiny model: OpenAPI document, health, models,
// inference with job indexes, CORS, and `{ error: { name } }` bodies.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startProvider } from "../../../node/src/provider/provider.ts";
import type { Provider } from "../../../node/src/provider/provider.ts";
import { DEFAULT_CONFIG } from "../../../node/src/provider/config.ts";
import { GatewayApiError, ShardMeshClient, float32FromTensor, tensorFromFloat32 } from "../../../node/src/sdk/index.ts";
import { writeTinyModel } from "./fixtures/tiny-model.ts";
import { until } from "./procs.ts";

describe("gateway HTTP API", () => {
  const dir = mkdtempSync(join(tmpdir(), "shardmesh-gw-"));
  let provider: Provider;
  let url: string;
  let sdk: ShardMeshClient;

  before(async () => {
    const model = writeTinyModel(join(dir, "model"));
    provider = await startProvider({
      ...structuredClone(DEFAULT_CONFIG),
      keyFile: join(dir, "node.key"),
      dataDir: join(dir, "data"),
      dht: false,
      models: [{ modelId: "tiny", manifest: model.manifest, stages: [0, 1], price: "5" }],
      gateway: { host: "127.0.0.1", port: 0, cors: ["http://localhost:3000"], unsignedJobs: true },
    });
    url = provider.gateway!.url;
    sdk = new ShardMeshClient(url);
    await until("own stages listed", async () => (await sdk.models()).models.length === 1);
  });
  after(async () => {
    await provider?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves an OpenAPI 3.1 document listing every route the web app uses", async () => {
    const doc = (await sdk.openapi()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, "3.1.0");
    for (const p of ["/v1/health", "/v1/models", "/v1/quotes", "/v1/infer", "/v1/jobs/{jobId}", "/v1/jobs/{jobId}/receipt", "/v1/mesh"]) {
      assert.ok(doc.paths[p], `documents ${p}`);
    }
  });

  it("answers health with the node's peer id", async () => {
    const h = await sdk.health();
    assert.equal(h.ok, true);
    assert.equal(h.peerId, provider.peerId);
  });

  it("runs inference with job indexes in arrival order and traces both stages", async () => {
    const x = tensorFromFloat32([1, 16], Float32Array.from({ length: 16 }, (_, i) => i / 10));
    const a = await sdk.infer({ modelId: "tiny", jobId: "42", input: { tensors: { x } } });
    const b = await sdk.infer({ modelId: "tiny", jobId: "42", input: { tensors: { x } } });
    assert.equal(a.index, 0);
    assert.equal(b.index, 1);
    assert.equal(float32FromTensor(a.output.y).length, 8);
    assert.equal(a.requestHash, b.requestHash);
    assert.deepEqual(a.stages.map((s) => s.stage), [0, 1]);
    const job = await sdk.job("42");
    assert.equal(job.served, 2);
    assert.equal(job.stageRecords.length, 4, "both stages traced for both requests");
  });

  it("answers errors as { error: { name, message } } with the class's status", async () => {
    await assert.rejects(sdk.infer({ modelId: "nope", input: { tensors: {} } }), (e: GatewayApiError) => e.status === 404 && e.errorName === "GatewayNotFoundError");
    await assert.rejects(sdk.infer({ modelId: "tiny", input: {} }), (e: GatewayApiError) => e.status === 400 && e.errorName === "GatewayBadRequestError");
    await assert.rejects(sdk.quotes("tiny", 10), (e: GatewayApiError) => e.status === 501 && e.errorName === "GatewayChainUnavailableError");
    const res = await fetch(`${url}/v1/nothing`);
    assert.equal(res.status, 404);
    assert.deepEqual(Object.keys(((await res.json()) as { error: object }).error).sort(), ["message", "name"]);
  });

  it("allows the configured browser origin and no other", async () => {
    const ok = await fetch(`${url}/v1/models`, { method: "OPTIONS", headers: { origin: "http://localhost:3000", "access-control-request-method": "POST" } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get("access-control-allow-origin"), "http://localhost:3000");
    const other = await fetch(`${url}/v1/models`, { headers: { origin: "http://evil.example" } });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
  });
});
