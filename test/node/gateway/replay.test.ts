// Issue 10, item 13: a buyer's request signature cannot be replayed to drain its job. The session
// key signs JobRequest(jobId, nonce, requestHash) and the gateway answers a nonce once per job,
// atomically with the job's units. On a real provider node (the tiny 2-stage model, both stages
// here) behind a gateway that checks real EIP-712 signatures against a session key (no chain: the
// hook is the jobs service's check, node/src/jobs/service.ts, with the job's key fixed) and a job
// of MAX_UNITS units. On the old code every replay below was served and billed.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { startProvider } from "../../../node/src/provider/provider.ts";
import type { Provider } from "../../../node/src/provider/provider.ts";
import { DEFAULT_CONFIG } from "../../../node/src/provider/config.ts";
import { Gateway } from "../../../node/src/gateway/server.ts";
import { JobAdmission } from "../../../node/src/jobs/admission.ts";
import { jobRequestHash, signJobRequest, verifyJobRequestSignature } from "../../../node/src/jobs/session.ts";
import { shardMeshDomain } from "../../../node/src/receipts/eip712.ts";
import type { Router } from "../../../node/src/router/router.ts";
import { RouterNoProviderError } from "../../../node/src/router/errors.ts";
import { type GatewayApiError, ShardMeshClient, tensorFromFloat32 } from "../../../node/src/sdk/index.ts";
import { writeTinyModel } from "../mesh/fixtures/tiny-model.ts";
import { until } from "../mesh/procs.ts";

const MAX_UNITS = 6;
const JOB = "5";

describe("gateway: one request per signed nonce", () => {
  const dir = mkdtempSync(join(tmpdir(), "shardmesh-replay-"));
  const session = privateKeyToAccount(generatePrivateKey());
  const domain = shardMeshDomain(31337, "0x5FbDB2315678afecb367f032d93F642f64180aa3");
  let provider: Provider;
  let gateway: Gateway;
  let sdk: ShardMeshClient;
  /** Runs left that fail after every stage worked (a hop lost on the way back). */
  let failAfterRun = 0;

  before(async () => {
    const model = writeTinyModel(join(dir, "model"));
    provider = await startProvider({
      ...structuredClone(DEFAULT_CONFIG),
      unstaked: true,
      keyFile: join(dir, "node.key"),
      dataDir: join(dir, "data"),
      dht: false,
      models: [{ modelId: "tiny", manifest: model.manifest, stages: [0, 1], price: "5" }],
      gateway: null,
    });
    await until("own stages listed", async () => provider.directory.stageCount("tiny") === 2);
    // The provider's router, failing on demand after a complete run (isolates "failed after work").
    const real = provider.router;
    const router = new Proxy(real, {
      get(target, prop) {
        if (prop === "run")
          return async (...args: Parameters<Router["run"]>) => {
            const r = await target.run(...args);
            if (failAfterRun > 0) {
              failAfterRun--;
              throw new RouterNoProviderError("the last hop's answer was lost");
            }
            return r;
          };
        const v = Reflect.get(target, prop) as unknown;
        return typeof v === "function" ? v.bind(target) : v;
      },
    });
    gateway = new Gateway({
      host: "127.0.0.1",
      port: 0,
      peerId: provider.peerId,
      chainId: 31337,
      directory: provider.directory,
      router,
      trace: provider.trace,
      admission: new JobAdmission({ store: provider.trace, maxUnits: async () => MAX_UNITS }),
      hooks: {
        verifyJobRequest: (jobId, nonce, requestHash, signature) =>
          verifyJobRequestSignature(domain, session.address, { jobId: BigInt(jobId), nonce: BigInt(nonce), requestHash }, signature),
      },
      limits: { unpaidPerSecond: 1_000, unpaidBurst: 1_000, refusedPerSecond: 1_000, refusedBurst: 1_000 },
    });
    sdk = new ShardMeshClient(await gateway.start());
  });
  after(async () => {
    await gateway?.stop();
    await provider?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const input = (v: number) => ({ x: tensorFromFloat32([1, 16], new Float32Array(16).fill(v)) });
  const sign = (tensors: ReturnType<typeof input>, nonce: number) =>
    signJobRequest(session, domain, { jobId: BigInt(JOB), nonce: BigInt(nonce), requestHash: jobRequestHash(tensors) });
  const infer = (tensors: ReturnType<typeof input>, o: { nonce?: number; signature?: string }) =>
    sdk.infer({ modelId: "tiny", jobId: JOB, input: { tensors } }, o);
  const refusedAs = (name: string, status: number) => (err: GatewayApiError) => {
    assert.equal(err.errorName, name, err.message);
    assert.equal(err.status, status);
    return true;
  };
  const billed = () => ({ served: provider.trace.requestCount(JOB), units: provider.trace.unitsUsed(JOB) });

  it("a replayed signature (same nonce) is refused 409 JobsNonceReusedError and not billed", async () => {
    const tensors = input(0.1);
    const signature = await sign(tensors, 0);
    const res = await infer(tensors, { nonce: 0, signature });
    assert.equal(res.index, 0);
    assert.equal(res.nonce, 0);
    assert.equal(provider.trace.requests(JOB)[0].traceIndex, 0, "the nonce is the trace index (the buyer leaf's nonce)");
    for (let i = 0; i < 3; i++) await assert.rejects(infer(tensors, { nonce: 0, signature }), refusedAs("JobsNonceReusedError", 409));
    // The job id spelled otherwise is the same job.
    await assert.rejects(
      sdk.infer({ modelId: "tiny", jobId: `00${JOB}`, input: { tensors } }, { nonce: 0, signature }),
      refusedAs("JobsNonceReusedError", 409),
    );
    assert.deepEqual(billed(), { served: 1, units: 1 });
  });

  it("10 concurrent copies of one signed request: exactly one is served, 9 are JobsNonceReusedError", async () => {
    const tensors = input(0.2);
    const signature = await sign(tensors, 1);
    const results = await Promise.allSettled(Array.from({ length: 10 }, () => infer(tensors, { nonce: 1, signature })));
    const served = results.filter((r) => r.status === "fulfilled");
    assert.equal(served.length, 1, `served ${served.length} of 10 copies`);
    for (const r of results) if (r.status === "rejected") refusedAs("JobsNonceReusedError", 409)(r.reason as GatewayApiError);
    assert.deepEqual(billed(), { served: 2, units: 2 });
  });

  it("a stolen signature under another nonce fails verification (401); a request without a nonce is a 400", async () => {
    const tensors = input(0.2);
    const signature = await sign(tensors, 1);
    for (const nonce of [2, 3, 0])
      await assert.rejects(infer(tensors, { nonce, signature }), refusedAs("GatewayUnauthorizedError", 401), `nonce ${nonce}`);
    await assert.rejects(infer(tensors, { signature }), refusedAs("GatewayBadRequestError", 400));
    for (const bad of ["-1", "1.0", "0x1", "1e0", "99999999999"])
      await assert.rejects(
        sdk.infer({ modelId: "tiny", jobId: JOB, input: { tensors } }, { signature, nonce: bad as unknown as number }),
        refusedAs("GatewayBadRequestError", 400),
        bad,
      );
    assert.deepEqual(billed(), { served: 2, units: 2 });
  });

  it("a nonce not below the job's maxUnits is JobsNonceOutOfRangeError (400), even correctly signed", async () => {
    const tensors = input(0.3);
    await assert.rejects(
      infer(tensors, { nonce: MAX_UNITS, signature: await sign(tensors, MAX_UNITS) }),
      refusedAs("JobsNonceOutOfRangeError", 400),
    );
    assert.deepEqual(billed(), { served: 2, units: 2 });
  });

  it("a request that failed after every stage worked is not billed, and its signature may be retried once", async () => {
    const tensors = input(0.4);
    const signature = await sign(tensors, 3);
    failAfterRun = 1;
    await assert.rejects(infer(tensors, { nonce: 3, signature }), refusedAs("RouterNoProviderError", 503));
    assert.deepEqual(billed(), { served: 2, units: 2 }, "the failed request is not billable");
    assert.ok(provider.trace.get(JOB, 3, 1), "both stages traced it under nonce 3");
    // The buyer retries with the same signature: the stages find the same input under the same
    // index (kept as it is), and the request is answered — once.
    const res = await infer(tensors, { nonce: 3, signature });
    assert.deepEqual([res.index, res.nonce], [2, 3], "answered requests stay dense; the skipped nonce 2 leaves no hole");
    await assert.rejects(infer(tensors, { nonce: 3, signature }), refusedAs("JobsNonceReusedError", 409));
    assert.deepEqual(billed(), { served: 3, units: 3 });
    assert.deepEqual(
      provider.trace.requests(JOB).map((r) => [r.index, r.traceIndex]),
      [
        [0, 0],
        [1, 1],
        [2, 3],
      ],
    );
  });
});
