// Worker thread owning snarkjs: witness + Groth16 proof for one circuit instance. The main
// thread never runs snarkjs, so proving (seconds of CPU) does not block the node's event loop.
// It imports snarkjs only (not circomlibjs, whose ffjavascript copy resets the cached curve).
import { readFileSync } from "node:fs";
import { parentPort, workerData } from "node:worker_threads";
import * as snarkjs from "snarkjs";

export interface ProverWorkerData {
  readonly wasm: string;
  readonly zkey: string;
}
export type ProverRequest = { type: "prove"; id: number; input: snarkjs.CircuitInput } | { type: "close" };
export type ProverReply =
  | { type: "ready" }
  | { type: "proved"; id: number; proof: snarkjs.Groth16Proof; publicSignals: string[]; witnessMs: number; proveMs: number }
  | { type: "failed"; id: number; stage: "witness" | "prove"; message: string }
  | { type: "closed" };

interface Terminable {
  terminate(): Promise<void>;
}

const port = parentPort;
if (!port) throw new Error("prover-worker.ts must run in a worker thread");
const { wasm, zkey } = workerData as ProverWorkerData;
// Both artifacts stay in memory for the life of the worker (fastfile "mem" files).
const wasmFile = { type: "mem" as const, data: new Uint8Array(readFileSync(wasm)) };
const zkeyFile = { type: "mem" as const, data: new Uint8Array(readFileSync(zkey)) };
let curve: Terminable | undefined;

port.on("message", async (msg: ProverRequest) => {
  if (msg.type === "close") {
    // snarkjs caches its curve (with worker threads of its own) on globalThis; our own
    // reference is terminated so the thread, and then the process, can exit.
    await curve?.terminate();
    port.postMessage({ type: "closed" } satisfies ProverReply);
    port.close();
    return;
  }
  const { id, input } = msg;
  const wtns: snarkjs.WtnsOutput = { type: "mem" };
  let t = performance.now();
  try {
    await snarkjs.wtns.calculate(input, wasmFile.data, wtns);
  } catch (err) {
    port.postMessage({ type: "failed", id, stage: "witness", message: String((err as Error).message ?? err) } satisfies ProverReply);
    return;
  }
  const witnessMs = performance.now() - t;
  t = performance.now();
  try {
    const { proof, publicSignals } = await snarkjs.groth16.prove(zkeyFile as unknown as Uint8Array, wtns);
    curve ??= (globalThis as { curve_bn128?: Terminable }).curve_bn128 ?? undefined;
    port.postMessage({ type: "proved", id, proof, publicSignals, witnessMs, proveMs: performance.now() - t } satisfies ProverReply);
  } catch (err) {
    port.postMessage({ type: "failed", id, stage: "prove", message: String((err as Error).message ?? err) } satisfies ProverReply);
  }
});
port.postMessage({ type: "ready" } satisfies ProverReply);
