// Agent for the network tests and bench: a buyer inside a namespace host, calling a gateway's
// HTTP API with the SDK (the test process itself has no route into the namespaces).
import { ShardMeshClient, tensorFromFloat32, float32FromTensor } from "../../node/src/sdk/index.ts";
import { serveAgent } from "./agent.ts";

export interface LoadResult {
  i: number;
  ok: boolean;
  ms: number;
  error?: string;
  y?: number[];
  stages?: string[];
}

serveAgent({
  mesh: (url: string) => new ShardMeshClient(url, { timeoutMs: 10_000 }).mesh(),
  /**
   * `count` requests of the tiny model (input i → x), `concurrency` at once; every result or
   * error is returned, none is thrown, so the caller can count what was lost.
   */
  load: async (a: {
    url: string;
    modelId: string;
    inputs: number[][];
    dims: number[];
    concurrency: number;
    inputName: string;
    outputName: string;
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
              y: [...float32FromTensor(r.output[a.outputName])],
              stages: r.stages.map((s) => s.peerId),
            });
          } catch (err) {
            out.push({ i, ok: false, ms: performance.now() - t0, error: `${(err as Error).name}: ${(err as Error).message}` });
          }
        }
      }),
    );
    return out.sort((x, y) => x.i - y.i);
  },
});
