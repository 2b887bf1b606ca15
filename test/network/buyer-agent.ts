// Agent for the network tests and bench: a buyer inside a namespace host, calling a gateway's
// HTTP API with the SDK and, in the market test, the chain's JSON-RPC (the test process itself has
// no route into the namespaces).
import { ShardMeshClient, tensorFromFloat32, float32FromTensor } from "../../node/src/sdk/index.ts";
import type { Deployment } from "../../node/src/chain/deployments.ts";
import { createHash } from "node:crypto";
import { createPublicClient, http } from "viem";
import type { Address, PublicClient } from "viem";
import type { PaidJobResult } from "../../scripts/demo/buyer.ts";
import { serveAgent } from "./agent.ts";

/** Deadline of one gateway call by the paid buyer (a relayed hop of the recogniser on a busy machine). */
const PAID_CALL_TIMEOUT_MS = 60_000;

/** What the `paidJob` command answers: scripts/demo/buyer.ts's PaidJobResult, amounts as decimal strings. */
export type PaidJobAnswer = Omit<PaidJobResult, "jobId" | "credits"> & { jobId: string; credits: { address: Address; amount: string }[] };

export interface LoadResult {
  i: number;
  ok: boolean;
  ms: number;
  /** Wall-clock time (Date.now()) the answer or error arrived: comparable across namespaces. */
  doneAt: number;
  error?: string;
  y?: number[];
  stages?: string[];
}

/** Deterministic input `i` of shape `dims` (the same bytes in every run and on every path). */
export function randomInput(dims: number[], i: number): Float32Array {
  let a = (i + 1) * 0x9e3779b9;
  const out = new Float32Array(dims.reduce((x, y) => x * y, 1));
  for (let k = 0; k < out.length; k++) {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[k] = ((t ^ (t >>> 14)) >>> 0) / 4294967296 - 0.5;
  }
  return out;
}

serveAgent({
  mesh: (url: string) => new ShardMeshClient(url, { timeoutMs: 10_000 }).mesh(),
  /** Waits until the gateway routes every stage of a model to at least `perStage` providers. */
  waitForMesh: async (a: { url: string; modelId: string; stages: number; perStage: number; timeoutMs: number }) => {
    const { waitForMesh } = await import("../../scripts/demo/market.ts");
    return waitForMesh(new ShardMeshClient(a.url, { timeoutMs: 10_000 }), BigInt(a.modelId), a.stages, a.perStage, a.timeoutMs);
  },
  /**
   * The demo's paid job (scripts/demo/buyer.ts) from this host: quotes, a job opened on chain with
   * a fresh session key, signed requests, the receipt the session key signs after checking it,
   * submitted by the gateway with every stage provider's part, revealed and settled. Its progress
   * goes to stderr (the test shows it when something fails).
   */
  paidJob: async (a: {
    url: string;
    chainUrl: string;
    deployment: Deployment;
    modelId: string;
    buyerKey: number;
    providers: Address[];
  }): Promise<PaidJobAnswer> => {
    const { paidJob } = await import("../../scripts/demo/buyer.ts");
    const publicClient = createPublicClient({ transport: http(a.chainUrl), pollingInterval: 100 }) as PublicClient;
    const r = await paidJob(
      {
        chainUrl: a.chainUrl,
        publicClient,
        deployment: a.deployment,
        gateway: new ShardMeshClient(a.url, { timeoutMs: PAID_CALL_TIMEOUT_MS }),
        modelId: BigInt(a.modelId),
        buyerKey: a.buyerKey,
        providers: a.providers,
      },
      (line) => process.stderr.write(`${line}\n`),
    );
    return { ...r, jobId: r.jobId.toString(), credits: r.credits.map((c) => ({ address: c.address, amount: c.amount.toString() })) };
  },
  /**
   * One measured block: requests `from` … `from + count - 1` (deterministic random inputs),
   * `concurrency` at once. Returns each request's latency, the wall time, failures and the
   * sha256 of each output (to check that every path gives the same answer).
   */
  bench: async (a: {
    url: string;
    modelId: string;
    dims: number[];
    inputName: string;
    from: number;
    count: number;
    concurrency: number;
  }) => {
    const sdk = new ShardMeshClient(a.url, { timeoutMs: 60_000 });
    const latencies: number[] = [];
    const outputs: Record<number, string> = {};
    const errors: string[] = [];
    let next = a.from;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: a.concurrency }, async () => {
        while (next < a.from + a.count) {
          const i = next++;
          const started = performance.now();
          try {
            const r = await sdk.infer({
              modelId: a.modelId,
              input: { tensors: { [a.inputName]: tensorFromFloat32(a.dims, randomInput(a.dims, i)) } },
            });
            latencies.push(performance.now() - started);
            const [name] = Object.keys(r.output);
            outputs[i] = createHash("sha256").update(r.output[name].data).digest("hex");
          } catch (err) {
            errors.push(`${i}: ${(err as Error).name}: ${(err as Error).message}`);
          }
        }
      }),
    );
    return { latencies, wallMs: performance.now() - t0, outputs, errors };
  },
  /**
   * `count` requests of the tiny model (input i → x), `concurrency` at once, each worker pausing
   * `gapMs` after each answer (so that a load lasts long enough to be interrupted); every result
   * or error is returned, none is thrown, so the caller can count what was lost.
   */
  load: async (a: {
    url: string;
    modelId: string;
    inputs: number[][];
    dims: number[];
    concurrency: number;
    inputName: string;
    outputName: string;
    gapMs?: number;
  }) => {
    const sdk = new ShardMeshClient(a.url, { timeoutMs: 30_000 });
    const out: LoadResult[] = [];
    let next = 0;
    await Promise.all(
      Array.from({ length: a.concurrency }, async () => {
        while (next < a.inputs.length) {
          const i = next++;
          const t0 = performance.now();
          try {
            const r = await sdk.infer({
              modelId: a.modelId,
              input: { tensors: { [a.inputName]: tensorFromFloat32(a.dims, Float32Array.from(a.inputs[i])) } },
            });
            out.push({
              i,
              ok: true,
              ms: performance.now() - t0,
              doneAt: Date.now(),
              y: [...float32FromTensor(r.output[a.outputName])],
              stages: r.stages.map((s) => s.peerId),
            });
          } catch (err) {
            out.push({
              i,
              ok: false,
              ms: performance.now() - t0,
              doneAt: Date.now(),
              error: `${(err as Error).name}: ${(err as Error).message}`,
            });
          }
          if (a.gapMs) await new Promise((r) => setTimeout(r, a.gapMs));
        }
      }),
    );
    return out.sort((x, y) => x.i - y.i);
  },
});
