// Poseidon commitments and packings of the int8 head, identical to circuits/src/commit.circom
// and circuits/src/int8_dense.circom (docs/PROTOCOL.md, "Commitments").
import { buildPoseidon, type PoseidonHasher } from "circomlibjs";
import type { Int8DenseParams } from "../models/int8.ts";
import { ZkInputError } from "./errors.ts";

/** The BN254 scalar field order (circom's p). */
export const SNARK_FIELD = 21888242871839275222246405745257275088548364400416034343698204186575808495617n;
/** Offset int8 bytes per packed field element. */
export const BYTES_PER_ELEMENT = 31;
/** Offset int32 words per packed field element. */
export const WORDS_PER_ELEMENT = 7;
/** Elements absorbed per Poseidon16 call of the chain (the 16th input is the running state). */
export const CHAIN_CHUNK = 15;

/** Number of field elements holding `n` int8 values. */
export const int8Elements = (n: number): number => Math.ceil(n / BYTES_PER_ELEMENT);
/** Number of field elements holding `n` int32 values. */
export const int32Elements = (n: number): number => Math.ceil(n / WORDS_PER_ELEMENT);

/** Packs int8 values: byte v + 128, 31 per element, little-endian within an element. */
export function packInt8(values: ArrayLike<number>): bigint[] {
  const out: bigint[] = [];
  for (let k = 0; k < values.length; k += BYTES_PER_ELEMENT) {
    let acc = 0n;
    const end = Math.min(values.length, k + BYTES_PER_ELEMENT);
    for (let i = end - 1; i >= k; i--) {
      const v = values[i];
      if (!Number.isInteger(v) || v < -128 || v > 127) throw new ZkInputError(`int8 value ${v} at ${i} is out of range`);
      acc = (acc << 8n) | BigInt(v + 128);
    }
    out.push(acc);
  }
  return out;
}

/** Inverse of packInt8 for `length` values. Throws ZkInputError on a non-canonical packing. */
export function unpackInt8(packed: readonly bigint[], length: number): Int8Array {
  if (packed.length !== int8Elements(length)) {
    throw new ZkInputError(`${length} int8 values pack into ${int8Elements(length)} elements, got ${packed.length}`);
  }
  const out = new Int8Array(length);
  packed.forEach((e, k) => {
    let rest = e;
    const end = Math.min(length, (k + 1) * BYTES_PER_ELEMENT);
    for (let i = k * BYTES_PER_ELEMENT; i < end; i++) {
      out[i] = Number(rest & 0xffn) - 128;
      rest >>= 8n;
    }
    if (rest !== 0n) throw new ZkInputError(`packed element ${k} has bytes beyond value ${end - 1}`);
  });
  return out;
}

/** Packs int32 values: v + 2^31, 7 per element, base 2^32 little-endian. */
export function packInt32(values: ArrayLike<number>): bigint[] {
  const out: bigint[] = [];
  for (let k = 0; k < values.length; k += WORDS_PER_ELEMENT) {
    let acc = 0n;
    const end = Math.min(values.length, k + WORDS_PER_ELEMENT);
    for (let i = end - 1; i >= k; i--) {
      const v = values[i];
      if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new ZkInputError(`int32 value ${v} at ${i} is out of range`);
      acc = (acc << 32n) | BigInt(v + 2 ** 31);
    }
    out.push(acc);
  }
  return out;
}

let hasher: Promise<PoseidonHasher> | undefined;
/** circomlibjs' Poseidon (circomlib parameters), built once per thread. */
export function poseidon(): Promise<PoseidonHasher> {
  hasher ??= buildPoseidon();
  return hasher;
}

/** state = length; for each chunk of up to 15 elements (zero-padded) state = Poseidon16(state, chunk). */
export async function poseidonChain(elements: readonly bigint[]): Promise<bigint> {
  const h = await poseidon();
  let state = BigInt(elements.length);
  for (let c = 0; c < elements.length; c += CHAIN_CHUNK) {
    const chunk = elements.slice(c, c + CHAIN_CHUNK);
    while (chunk.length < CHAIN_CHUNK) chunk.push(0n);
    state = h.F.toObject(h([state, ...chunk]));
  }
  return state;
}

/** Checks the head's shapes and constants against the PROTOCOL.md limits. */
export function validateHead(p: Int8DenseParams): void {
  if (!Number.isInteger(p.outputs) || !Number.isInteger(p.inputs) || p.outputs < 1 || p.inputs < 1) {
    throw new ZkInputError(`head shape ${p.outputs}×${p.inputs} is not positive`);
  }
  if (p.weights.length !== p.outputs * p.inputs) {
    throw new ZkInputError(`head has ${p.weights.length} weights, needs ${p.outputs * p.inputs}`);
  }
  if (p.bias.length !== p.outputs) throw new ZkInputError(`head has ${p.bias.length} biases, needs ${p.outputs}`);
  if (!Number.isInteger(p.mult) || p.mult <= 0 || p.mult >= 2 ** 31) throw new ZkInputError(`MULT ${p.mult} is not in [1, 2^31)`);
  if (!Number.isInteger(p.shift) || p.shift < 1 || p.shift > 62) throw new ZkInputError(`SHIFT ${p.shift} is not in [1, 62]`);
  if (!Number.isInteger(p.zeroPoint) || p.zeroPoint < -128 || p.zeroPoint > 127) {
    throw new ZkInputError(`ZP ${p.zeroPoint} is not an int8`);
  }
}

/** The field elements the weights commitment hashes: packed W, packed b, MULT, SHIFT, ZP + 128. */
export function weightsElements(p: Int8DenseParams): bigint[] {
  validateHead(p);
  return [...packInt8(p.weights), ...packInt32(p.bias), BigInt(p.mult), BigInt(p.shift), BigInt(p.zeroPoint + 128)];
}

/** The model registry's weight commitment for a head (a field element). */
export async function weightsCommitment(p: Int8DenseParams): Promise<bigint> {
  return poseidonChain(weightsElements(p));
}

/** A field element as the bytes32 the contracts store (big-endian). */
export function toBytes32(e: bigint): `0x${string}` {
  if (e < 0n || e >= 1n << 256n) throw new ZkInputError(`${e} does not fit bytes32`);
  return `0x${e.toString(16).padStart(64, "0")}`;
}

/** The circuit's public signals: [weightsCommitment, xPacked…, yPacked…]. */
export function headPublicSignals(commitment: bigint, x: Int8Array, y: Int8Array): bigint[] {
  return [commitment, ...packInt8(x), ...packInt8(y)];
}

/** Names and values of every circuit input (decimal strings) for one execution of the head. */
export function headCircuitInput(
  p: Int8DenseParams,
  commitment: bigint,
  x: Int8Array,
  y: Int8Array,
): Record<string, string | string[] | string[][]> {
  validateHead(p);
  if (x.length !== p.inputs) throw new ZkInputError(`head expects ${p.inputs} inputs, got ${x.length}`);
  if (y.length !== p.outputs) throw new ZkInputError(`head has ${p.outputs} outputs, got ${y.length}`);
  const W: string[][] = [];
  for (let i = 0; i < p.outputs; i++) {
    W.push(Array.from(p.weights.subarray(i * p.inputs, (i + 1) * p.inputs), String));
  }
  return {
    weightsCommitment: commitment.toString(),
    xPacked: packInt8(x).map(String),
    yPacked: packInt8(y).map(String),
    W,
    b: Array.from(p.bias, String),
    x: Array.from(x, String),
    mult: String(p.mult),
    zp: String(p.zeroPoint),
  };
}
