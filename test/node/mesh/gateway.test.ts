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
import { type GatewayApiError, ShardMeshClient, float32FromTensor, tensorFromFloat32 } from "../../../node/src/sdk/index.ts";
import { createCanvas } from "@napi-rs/canvas";
import { ocrImageHooks } from "../../../node/src/ocr/gateway.ts";
import { bagHash, parseJsonBag } from "../../../node/src/tensor/index.ts";
import { writeTinyModel } from "./fixtures/tiny-model.ts";
import { until } from "./procs.ts";

describe("gateway HTTP API", () => {
  const dir = mkdtempSync(join(tmpdir(), "shardmesh-gw-"));
  let provider: Provider;
  let url: string;
  let sdk: ShardMeshClient;
  const ocr = ocrImageHooks((id) => (id === "tiny" ? "rec" : undefined));

  before(async () => {
    const model = writeTinyModel(join(dir, "model"));
    provider = await startProvider(
      {
        ...structuredClone(DEFAULT_CONFIG),
        unstaked: true,
        keyFile: join(dir, "node.key"),
        dataDir: join(dir, "data"),
        dht: false,
        models: [
          { modelId: "tiny", manifest: model.manifest, stages: [0, 1], price: "5" },
          // The same model under an on-chain style id, for modelId sent as a JSON number.
          { modelId: "7", manifest: model.manifest, stages: [0, 1], price: "5" },
        ],
        // Every request here comes from one client address: its unpaid and refused shares are not what is tested (test/abuse and test/node/gateway/refused.unit.test.ts are).
        gateway: {
          host: "127.0.0.1",
          port: 0,
          cors: ["http://localhost:3000"],
          unsignedJobs: true,
          limits: { unpaidPerSecond: 1_000, unpaidBurst: 1_000, refusedPerSecond: 1_000, refusedBurst: 1_000 },
        },
      },
      {
        // The real OCR recogniser pre-processing for /v1/prepare; the tiny model's output is no text.
        image: { toInput: ocr.toInput, toText: async () => undefined },
      },
    );
    url = provider.gateway!.url;
    sdk = new ShardMeshClient(url);
    await until("own stages listed", async () => (await sdk.models()).models.length === 2);
  });
  after(async () => {
    await provider?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves an OpenAPI 3.1 document listing every route the web app uses", async () => {
    const doc = (await sdk.openapi()) as { openapi: string; paths: Record<string, unknown> };
    assert.equal(doc.openapi, "3.1.0");
    for (const p of [
      "/v1/health",
      "/v1/models",
      "/v1/quotes",
      "/v1/infer",
      "/v1/prepare",
      "/v1/jobs/{jobId}",
      "/v1/jobs/{jobId}/receipt",
      "/v1/mesh",
    ]) {
      assert.ok(doc.paths[p], `documents ${p}`);
    }
  });

  it("answers exactly what its OpenAPI document says (no undocumented field, every required one)", async () => {
    const doc = (await sdk.openapi()) as {
      paths: Record<string, Record<string, OpenApiOp>>;
      components: { schemas: Record<string, Schema> };
    };
    const x = tensorFromFloat32([1, 16], new Float32Array(16).fill(0.1));
    await sdk.infer({ modelId: "tiny", jobId: "31", input: { tensors: { x } } });
    const answers: [string, string, unknown][] = [
      ["/v1/health", "get", await sdk.health()],
      ["/v1/models", "get", await sdk.models()],
      ["/v1/mesh", "get", await sdk.mesh()],
      ["/v1/infer", "post", await sdk.infer({ modelId: "tiny", jobId: "31", input: { tensors: { x } } })],
      ["/v1/jobs/{jobId}", "get", await sdk.job("31")],
    ];
    for (const [path, method, body] of answers) {
      const schema = doc.paths[path][method].responses["200"].content["application/json"].schema;
      conforms(body, schema, doc.components.schemas, `${method.toUpperCase()} ${path}`);
    }
  });

  it("answers health with the node's peer id", async () => {
    const h = await sdk.health();
    assert.equal(h.ok, true);
    assert.equal(h.peerId, provider.peerId);
  });

  it("runs inference with job indexes in arrival order and traces both stages", async () => {
    const x = tensorFromFloat32(
      [1, 16],
      Float32Array.from({ length: 16 }, (_, i) => i / 10),
    );
    const a = await sdk.infer({ modelId: "tiny", jobId: "42", input: { tensors: { x } } });
    const b = await sdk.infer({ modelId: "tiny", jobId: "42", input: { tensors: { x } } });
    assert.equal(a.index, 0);
    assert.equal(b.index, 1);
    assert.equal(float32FromTensor(a.output.y).length, 8);
    assert.equal(a.requestHash, b.requestHash);
    assert.deepEqual(
      a.stages.map((s) => s.stage),
      [0, 1],
    );
    const job = await sdk.job("42");
    assert.equal(job.served, 2);
    assert.equal(job.stageRecords?.length, 4, "both stages traced for both requests");
  });

  it("counts a job's requests under its number: 2, 02 and 002 are one job; a non-number is refused", async () => {
    const x = tensorFromFloat32([1, 16], new Float32Array(16).fill(0.25));
    const indices = [];
    for (const jobId of ["21", "021", "0021"]) indices.push((await sdk.infer({ modelId: "tiny", jobId, input: { tensors: { x } } })).index);
    assert.deepEqual(indices, [0, 1, 2]);
    const job = await sdk.job("00021");
    assert.equal(job.jobId, "21");
    assert.equal(job.served, 3);
    await assert.rejects(
      sdk.infer({ modelId: "tiny", jobId: "21a", input: { tensors: { x } } }),
      (e: GatewayApiError) => e.status === 400 && e.errorName === "JobsInvalidJobIdError",
    );
  });

  it("hashes a request's bytes once: the router and this node's own first stage use the hash the gateway computed", async () => {
    const input = parseJsonBag({ x: tensorFromFloat32([1, 16], new Float32Array(16).fill(0.5)) });
    // A marker instead of the real hash: whatever is recorded was passed along, not recomputed.
    const given = `0x${"ab".repeat(32)}` as const;
    const r = await provider.router.run("tiny", input, { jobId: "4343", index: 0, requestHash: given, preferSelf: true });
    assert.equal(r.requestHash, given);
    assert.equal(r.stages[0].inputHash, given);
    assert.equal(provider.trace.get("4343", 0, 0)?.inputHash, given, "the local stage traced the given hash");
    assert.equal(provider.trace.get("4343", 0, 1)?.inputHash, r.stages[0].outputHash, "stage 1's input is stage 0's output");
    assert.notEqual(r.stages[0].outputHash, given);
    assert.equal(r.stages[0].outputHash, bagHash(provider.trace.tensors("4343", 0, 0, "output")));
  });

  it("runs a job's requests on its own stages even when another provider is cheaper (it must be a part of the receipts it submits)", async () => {
    // A second provider of both stages at a fifth of the price (cost ∝ price, so the weighted
    // choice would send it much of the load once it has latency samples): job requests stay here.
    const other = await startProvider({
      ...structuredClone(DEFAULT_CONFIG),
      unstaked: true,
      keyFile: join(dir, "other.key"),
      dataDir: join(dir, "other"),
      dht: false,
      bootstrap: [provider.node.getMultiaddrs()[0].toString()],
      models: [{ modelId: "tiny", manifest: join(dir, "model", "manifest.json"), stages: [0, 1], price: "1" }],
      gateway: null,
    });
    try {
      await until(
        "the gateway sees both providers of each stage",
        async () => provider.directory.providers("tiny", 0).length === 2 && provider.directory.providers("tiny", 1).length === 2,
      );
      const x = tensorFromFloat32(
        [1, 16],
        Float32Array.from({ length: 16 }, (_, i) => i / 7),
      );
      for (let i = 0; i < 12; i++) {
        const r = await sdk.infer({ modelId: "tiny", jobId: "77", input: { tensors: { x } } });
        assert.deepEqual(
          r.stages.map((s) => [s.stage, s.peerId, s.retries]),
          [
            [0, provider.peerId, 0],
            [1, provider.peerId, 0],
          ],
          `job request ${i}`,
        );
      }
    } finally {
      await other.stop();
    }
  });

  it("prepares an image into the exact tensors and request hash a job request signs", async () => {
    const c = createCanvas(96, 32);
    const ctx = c.getContext("2d");
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, 96, 32);
    ctx.fillStyle = "#000";
    ctx.font = "20px sans-serif";
    ctx.fillText("ab12", 4, 24);
    const image = c.toBuffer("image/png").toString("base64");
    const p = await sdk.prepare({ modelId: "tiny", input: { image } });
    assert.deepEqual(Object.keys(p.tensors), ["x"]);
    assert.equal(p.tensors.x.dtype, "float32");
    assert.deepEqual(p.tensors.x.dims.slice(0, 3), [1, 3, 48]);
    const expected = await ocr.toInput("tiny", Buffer.from(image, "base64"));
    assert.equal(p.requestHash, bagHash(expected), "the hash /v1/infer computes for this image");
    assert.equal(bagHash(parseJsonBag(p.tensors)), p.requestHash, "the returned tensors hash to requestHash");
  });

  it("refuses bad prepare input by name", async () => {
    const png = Buffer.from("not an image").toString("base64");
    await assert.rejects(
      sdk.prepare({ modelId: "tiny", input: { image: png } }),
      (e: GatewayApiError) => e.status === 400 && e.errorName === "ImageDecodeError",
    );
    await assert.rejects(
      sdk.prepare({ modelId: "tiny", input: { image: "" } }),
      (e: GatewayApiError) => e.status === 400 && e.errorName === "GatewayBadRequestError",
    );
    await assert.rejects(
      sdk.prepare({ modelId: "tiny", input: { tensors: {} } } as unknown as { modelId: string; input: { image: string } }),
      (e: GatewayApiError) => e.status === 400 && e.errorName === "GatewayBadRequestError",
    );
    await assert.rejects(
      sdk.prepare({ modelId: "nope", input: { image: png } }),
      (e: GatewayApiError) => e.status === 404 && e.errorName === "GatewayNotFoundError",
    );
    await assert.rejects(
      sdk.prepare({ modelId: "tiny", input: { image: "A".repeat(provider.gateway!.maxBodyBytes) } }),
      (e: GatewayApiError) => e.status === 413 && e.errorName === "GatewayBodyTooLargeError" && /over \d+ bytes/.test(e.message),
    );
    const res = await fetch(`${url}/v1/prepare`, { method: "POST", headers: { "content-type": "application/json" }, body: "{" });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { name: string } }).error.name, "SyntaxError");
  });

  it("takes modelId as a JSON number (an on-chain id) as well as a string; other values are refused by name", async () => {
    const x = tensorFromFloat32([1, 16], new Float32Array(16).fill(0.3));
    const post = (modelId: unknown) =>
      fetch(`${url}/v1/infer`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ modelId, input: { tensors: { x } } }),
      });
    const byNumber = await post(7);
    assert.equal(byNumber.status, 200);
    const byString = (await (await post("7")).json()) as { output: { y: ReturnType<typeof tensorFromFloat32> } };
    assert.deepEqual(((await byNumber.json()) as typeof byString).output.y, byString.output.y);
    for (const bad of [7.5, -7, true, null, "", { id: 7 }]) {
      const res = await post(bad);
      assert.equal(res.status, 400, `modelId ${JSON.stringify(bad)}`);
      assert.equal(((await res.json()) as { error: { name: string } }).error.name, "GatewayBadRequestError");
    }
  });

  it("answers errors as { error: { name, message } } with the class's status", async () => {
    await assert.rejects(
      sdk.infer({ modelId: "nope", input: { tensors: {} } }),
      (e: GatewayApiError) => e.status === 404 && e.errorName === "GatewayNotFoundError",
    );
    await assert.rejects(
      sdk.infer({ modelId: "tiny", input: {} }),
      (e: GatewayApiError) => e.status === 400 && e.errorName === "GatewayBadRequestError",
    );
    await assert.rejects(
      sdk.quotes("tiny", 10, "0x00000000000000000000000000000000000000b2"),
      (e: GatewayApiError) => e.status === 501 && e.errorName === "GatewayChainUnavailableError",
    );
    const res = await fetch(`${url}/v1/nothing`);
    assert.equal(res.status, 404);
    assert.deepEqual(Object.keys(((await res.json()) as { error: object }).error).sort(), ["message", "name"]);
  });

  it("allows the configured browser origin and no other", async () => {
    const ok = await fetch(`${url}/v1/models`, {
      method: "OPTIONS",
      headers: { origin: "http://localhost:3000", "access-control-request-method": "POST" },
    });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get("access-control-allow-origin"), "http://localhost:3000");
    const other = await fetch(`${url}/v1/models`, { headers: { origin: "http://evil.example" } });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
  });
});

type Schema = {
  $ref?: string;
  type?: string | string[];
  properties?: Record<string, Schema>;
  required?: string[];
  items?: Schema;
  additionalProperties?: boolean | Schema;
  oneOf?: Schema[];
  anyOf?: Schema[];
};
type OpenApiOp = { responses: Record<string, { content: Record<string, { schema: Schema }> }> };

/** Checks a JSON answer against its documented schema: object keys documented, required keys present. */
function conforms(value: unknown, schema: Schema, defs: Record<string, Schema>, at: string): void {
  const s = schema.$ref ? defs[schema.$ref.replace("#/components/schemas/", "")] : schema;
  assert.ok(s, `${at}: schema ${schema.$ref} is defined`);
  const alts = s.oneOf ?? s.anyOf;
  if (alts) {
    const fits = alts.filter((alt) => {
      try {
        conforms(value, alt, defs, at);
        return true;
      } catch {
        return false;
      }
    });
    assert.ok(fits.length > 0, `${at}: ${JSON.stringify(value).slice(0, 80)} fits one of the documented shapes`);
    return;
  }
  if (value === null || typeof value !== "object") return;
  if (Array.isArray(value)) {
    if (s.items) for (const [i, v] of value.entries()) conforms(v, s.items, defs, `${at}[${i}]`);
    return;
  }
  if (!s.properties) return;
  for (const r of s.required ?? []) assert.ok(r in value, `${at}: required field ${r} is answered`);
  for (const [k, v] of Object.entries(value)) {
    const prop = s.properties[k];
    if (!prop) {
      assert.ok(s.additionalProperties !== false && s.additionalProperties !== undefined, `${at}: field ${k} is documented`);
      continue;
    }
    conforms(v, prop, defs, `${at}.${k}`);
  }
}
