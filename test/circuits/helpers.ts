// Shared fixtures of the circuit tests: the test instances built on demand, seeded random heads
// and inputs, witness helpers.
import { spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import * as snarkjs from "snarkjs";
import type { Int8DenseParams } from "../../node/src/models/int8.ts";
import { mulberry32 } from "../../node/src/tensor/index.ts";
import { instancePaths } from "../../node/src/zk/artifacts.ts";

const ROOT = new URL("../..", import.meta.url).pathname;

/**
 * Builds the test instances when missing or stale (cached in circuits/build/; one build at a
 * time, other callers wait for it) and checks them against the committed verifiers and keys.
 */
export async function buildTestCircuits(): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, [`${ROOT}scripts/build-circuits.ts`, "--check", "--test"], {
    cwd: ROOT,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
  return { code, output };
}

// Every circuit test file needs the build: wait for it (or make it) before any test runs.
const built = await buildTestCircuits();
if (built.code !== 0) throw new Error(`the circuit build failed:\n${built.output}`);

export const HEAD = "digits-head";
export const paths = instancePaths(HEAD);
export const vkey = (): object => JSON.parse(readFileSync(paths.vkey, "utf8"));

export function randInt8(rand: () => number, n: number): Int8Array {
  return Int8Array.from({ length: n }, () => Math.floor(rand() * 256) - 128);
}

/** A random 64→10 head with SHIFT 35 (the digits-head instance). */
export function randomHead(seed: number, opts: { mult?: number; zeroPoint?: number; biasScale?: number } = {}): Int8DenseParams {
  const rand = mulberry32(seed);
  const biasScale = opts.biasScale ?? 2 ** 20;
  return {
    outputs: 10,
    inputs: 64,
    weights: randInt8(rand, 640),
    bias: Int32Array.from({ length: 10 }, () => Math.floor((rand() * 2 - 1) * biasScale)),
    mult: opts.mult ?? 1 + Math.floor(rand() * 2 ** 26),
    shift: 35,
    zeroPoint: opts.zeroPoint ?? Math.floor(rand() * 21) - 10,
  };
}

/** Witness in memory; rejects (Assert Failed …) when the input violates a constraint. */
export async function witness(input: snarkjs.CircuitInput): Promise<snarkjs.WtnsOutput> {
  const out: snarkjs.WtnsOutput = { type: "mem" };
  await snarkjs.wtns.calculate(input, paths.wasm, out);
  return out;
}

/** Byte offset and size of the witness values in a .wtns file (section 2), for tampering. */
export function witnessValues(wtns: Uint8Array): { offset: number; n8: number; count: number } {
  const view = new DataView(wtns.buffer, wtns.byteOffset, wtns.byteLength);
  const nSections = view.getUint32(8, true);
  let pos = 12;
  let n8 = 0;
  let count = 0;
  for (let s = 0; s < nSections; s++) {
    const type = view.getUint32(pos, true);
    const size = Number(view.getBigUint64(pos + 4, true));
    pos += 12;
    if (type === 1) {
      n8 = view.getUint32(pos, true);
      count = view.getUint32(pos + 4 + n8, true);
    }
    if (type === 2) return { offset: pos, n8, count };
    pos += size;
  }
  throw new Error("no witness section");
}

/** Adds `delta` to witness value `index` (little-endian field element, no reduction needed here). */
export function bumpWitness(wtns: Uint8Array, index: number, delta: bigint): Uint8Array {
  const copy = new Uint8Array(wtns);
  const { offset, n8 } = witnessValues(copy);
  const at = offset + index * n8;
  let v = 0n;
  for (let i = n8 - 1; i >= 0; i--) v = (v << 8n) | BigInt(copy[at + i]);
  v += delta;
  for (let i = 0; i < n8; i++) {
    copy[at + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return copy;
}

/** Witness index of a signal by its full name in the .sym file (e.g. "main.yOff[0]"). */
export function signalIndex(name: string): number {
  for (const line of readFileSync(paths.r1cs.replace(/\.r1cs$/, ".sym"), "utf8").split("\n")) {
    const [, witnessIdx, , sym] = line.split(",");
    if (sym === name) return Number(witnessIdx);
  }
  throw new Error(`signal ${name} not in the symbol file`);
}
