// Proves executions of a model's int8 head for disputes: a long-lived snarkjs child process
// (curve and artifacts loaded once; see prover-child.ts for why not a worker thread) makes the
// witness and the Groth16 proof from a stage's revealed input. close() ends snarkjs' curve
// threads and the child, so the node's process exits cleanly.
import { fork, type ChildProcess } from "node:child_process";
import { logger } from "@libp2p/logger";
import type { Groth16Proof } from "snarkjs";
import type { Int8DenseParams } from "../models/int8.ts";
import { int8DenseReference } from "../models/int8.ts";
import { builtInstance, ROOT } from "./artifacts.ts";
import { headCircuitInput, toBytes32, validateHead, weightsCommitment } from "./commit.ts";
import { ZkInputError, ZkProverClosedError, ZkProverTimeoutError, ZkWitnessError } from "./errors.ts";
import { encodeStageProof, headHashes, type Hex } from "./proof.ts";
import type { ProverChildArgs, ProverReply, ProverRequest } from "./prover-child.ts";

const log = logger("shardmesh:zk");
const CHILD_PATH = new URL("./prover-child.ts", import.meta.url).pathname;

/** Default circuit instance: the project's digits head (circuits/circuits.json). */
export const DEFAULT_HEAD_INSTANCE = "digits-head";
/** Default time one proof may take before it fails with ZkProverTimeoutError. */
export const DEFAULT_PROVE_TIMEOUT_MS = 120_000;

export interface HeadProverInit {
  /** Circuit instance in circuits/circuits.json. Default "digits-head". */
  instance?: string;
  /** Repository root holding circuits/ (default: this checkout). */
  root?: string;
  /** Per-proof timeout. Default 120 s. */
  timeoutMs?: number;
}

export interface StageProof {
  /** Bytes for IStageProofVerifier.verifyStage. */
  readonly proof: Hex;
  readonly weightsCommitment: Hex;
  readonly inputHash: Hex;
  readonly outputHash: Hex;
  /** The head output the proof is about. */
  readonly output: Int8Array;
  readonly publicSignals: readonly bigint[];
  /** The proof as snarkjs returns it (for groth16.verify off chain). */
  readonly groth16: Groth16Proof;
  readonly witnessMs: number;
  readonly proveMs: number;
}

export interface ProveOptions {
  /**
   * The output to prove. Default: the head's true output for x. A different claim cannot be
   * proven (the witness fails with ZkWitnessError), which is the point of the dispute.
   */
  claimedOutput?: Int8Array;
  signal?: AbortSignal;
}

export interface HeadProver {
  /** The head this prover proves executions of. */
  readonly head: Int8DenseParams;
  readonly weightsCommitment: Hex;
  /** Process id of the prover child while it runs (for memory figures), else undefined. */
  readonly pid: number | undefined;
  /** Proves that the head maps x to its output (or fails for a wrong claimedOutput). */
  prove(x: Int8Array, options?: ProveOptions): Promise<StageProof>;
  /** Stops the prover process (and snarkjs' threads). Pending proofs fail with ZkProverClosedError. */
  close(): Promise<void>;
}

interface Pending {
  /** The process the request was sent to: only its exit fails the request. */
  worker: ChildProcess;
  resolve(reply: Extract<ProverReply, { type: "proved" } | { type: "failed" }>): void;
  reject(err: Error): void;
}

/** Starts a prover for one head. Throws ZkArtifactMissingError when the circuit is not built. */
export async function createHeadProver(head: Int8DenseParams, init: HeadProverInit = {}): Promise<HeadProver> {
  validateHead(head);
  const name = init.instance ?? DEFAULT_HEAD_INSTANCE;
  const built = builtInstance(name, init.root ?? ROOT);
  const { N, M, SHIFT } = built.instance.params;
  if (N !== head.outputs || M !== head.inputs || SHIFT !== head.shift) {
    throw new ZkInputError(
      `circuit ${name} is for ${M}→${N} heads with SHIFT ${SHIFT}, got ${head.inputs}→${head.outputs} with SHIFT ${head.shift}`,
    );
  }
  const commitment = await weightsCommitment(head);
  const timeoutMs = init.timeoutMs ?? DEFAULT_PROVE_TIMEOUT_MS;

  let worker: ChildProcess | undefined;
  let ready: Promise<void> | undefined;
  let closed = false;
  let nextId = 1;
  const pending = new Map<number, Pending>();

  const failAll = (err: Error, only?: ChildProcess) => {
    for (const [id, p] of pending) {
      if (only && p.worker !== only) continue;
      pending.delete(id);
      p.reject(err);
    }
  };
  const startWorker = (): Promise<void> => {
    const env = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // a child of a node:test file must not speak the test protocol
    const args: ProverChildArgs = { wasm: built.wasm, zkey: built.zkey };
    const w = fork(CHILD_PATH, [JSON.stringify(args)], { execArgv: [], env, stdio: ["ignore", "pipe", "pipe", "ipc"] });
    worker = w;
    // The witness calculator prints failed asserts; keep that out of the node's own output.
    w.stdout?.on("data", (d: Buffer) => log("prover: %s", d.toString().trimEnd()));
    w.stderr?.on("data", (d: Buffer) => log("prover: %s", d.toString().trimEnd()));
    log("prover process %d started for %s", w.pid, name);
    return new Promise<void>((resolve, reject) => {
      w.on("message", (msg: ProverReply) => {
        if (msg.type === "ready") resolve();
        else if (msg.type === "proved" || msg.type === "failed") {
          const p = pending.get(msg.id);
          pending.delete(msg.id);
          p?.resolve(msg);
        }
      });
      w.on("error", (err) => {
        log.error("prover process failed: %s", err.message);
        reject(err);
        failAll(new ZkProverClosedError(`prover process failed: ${err.message}`), w);
      });
      w.on("exit", (code, signal) => {
        if (worker === w) {
          worker = undefined;
          ready = undefined;
        }
        reject(new ZkProverClosedError(`prover process exited (${code ?? signal})`));
        failAll(new ZkProverClosedError(`prover process exited (${code ?? signal})`), w);
      });
    });
  };
  const stopWorker = async (w: ChildProcess): Promise<void> => {
    if (w.exitCode !== null || w.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => w.once("exit", () => resolve()));
    w.send({ type: "close" } satisfies ProverRequest);
    await exited;
  };

  return {
    head,
    weightsCommitment: toBytes32(commitment),
    get pid() {
      return worker?.pid;
    },
    async prove(x, options = {}) {
      if (closed) throw new ZkProverClosedError("prover is closed");
      const output = options.claimedOutput ?? int8DenseReference(head, x);
      const input = headCircuitInput(head, commitment, x, output);
      if (options.signal?.aborted) throw new ZkProverTimeoutError("proof aborted before it started");
      ready ??= startWorker();
      await ready;
      const w = worker;
      if (!w) throw new ZkProverClosedError("prover process exited");
      if (options.signal?.aborted) throw new ZkProverTimeoutError("proof aborted before it started");
      const id = nextId++;
      const reply = await new Promise<Extract<ProverReply, { type: "proved" } | { type: "failed" }>>((resolve, reject) => {
        const onAbort = () => {
          pending.delete(id);
          // A proof cannot be interrupted: drop the process, the next proof starts a new one.
          if (worker === w) {
            worker = undefined;
            ready = undefined;
          }
          w.kill();
          reject(new ZkProverTimeoutError(`proof ${id} aborted or timed out after ${timeoutMs} ms`));
        };
        const timer = setTimeout(onAbort, timeoutMs);
        const signal = options.signal;
        signal?.addEventListener("abort", onAbort, { once: true });
        pending.set(id, {
          worker: w,
          resolve: (r) => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", onAbort);
            resolve(r);
          },
          reject: (e) => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", onAbort);
            reject(e);
          },
        });
        w.send({ type: "prove", id, input } satisfies ProverRequest);
      });
      if (reply.type === "failed") {
        if (reply.stage === "witness") throw new ZkWitnessError(`the claimed head output does not satisfy the circuit: ${reply.message}`);
        throw new Error(`groth16 prove failed: ${reply.message}`);
      }
      log("proved %s in %d ms (witness %d ms)", name, Math.round(reply.proveMs), Math.round(reply.witnessMs));
      return {
        proof: encodeStageProof(reply.proof, reply.publicSignals),
        weightsCommitment: toBytes32(commitment),
        ...headHashes(x, output),
        output,
        publicSignals: reply.publicSignals.map(BigInt),
        groth16: reply.proof,
        witnessMs: reply.witnessMs,
        proveMs: reply.proveMs,
      };
    },
    async close() {
      if (closed) return;
      closed = true;
      const w = worker;
      failAll(new ZkProverClosedError("prover closed"));
      if (w) {
        await ready?.catch(() => undefined);
        await stopWorker(w);
      }
    },
  };
}
