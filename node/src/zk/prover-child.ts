// Child process owning snarkjs: witness + Groth16 proof for one circuit instance, so proving
// (seconds of CPU on all cores) never blocks the node's event loop.
//
// A child process, not a worker thread: snarkjs' thread pool comes from the `web-worker`
// package, which treats every non-main thread as one of its own workers, so snarkjs cannot
// start its threads inside a worker_thread ("Worker is not a constructor"). In a child process
// it proves multi-threaded, and a crash or leak stays out of the node.
// It imports snarkjs only (not circomlibjs, whose ffjavascript copy resets the cached curve).
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";

export interface ProverChildArgs {
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

const send = (msg: ProverReply, then?: () => void) => {
  if (!process.send) throw new Error("prover-child.ts must run as a forked child process");
  process.send(msg, undefined, undefined, then);
};

const { wasm, zkey } = JSON.parse(process.argv[2] ?? "{}") as ProverChildArgs;
// Both artifacts stay in memory for the life of the process (fastfile "mem" files).
const wasmBytes = new Uint8Array(readFileSync(wasm));
const zkeyFile = { type: "mem" as const, data: new Uint8Array(readFileSync(zkey)) };
let curve: Terminable | undefined;

async function close(): Promise<void> {
  // snarkjs caches its curve (with threads of its own) on globalThis; our own reference is
  // terminated so nothing keeps the process alive, then it exits.
  await curve?.terminate();
  send({ type: "closed" }, () => process.exit(0));
}

process.on("disconnect", () => void close().catch(() => process.exit(0)));
process.on("message", async (msg: ProverRequest) => {
  if (msg.type === "close") return close();
  const { id, input } = msg;
  const wtns: snarkjs.WtnsOutput = { type: "mem" };
  let t = performance.now();
  try {
    await snarkjs.wtns.calculate(input, wasmBytes, wtns);
  } catch (err) {
    return send({ type: "failed", id, stage: "witness", message: String((err as Error).message ?? err) });
  }
  const witnessMs = performance.now() - t;
  t = performance.now();
  try {
    const { proof, publicSignals } = await snarkjs.groth16.prove(zkeyFile as unknown as Uint8Array, wtns);
    curve ??= (globalThis as { curve_bn128?: Terminable }).curve_bn128 ?? undefined;
    send({ type: "proved", id, proof, publicSignals, witnessMs, proveMs: performance.now() - t });
  } catch (err) {
    send({ type: "failed", id, stage: "prove", message: String((err as Error).message ?? err) });
  }
});
send({ type: "ready" });
