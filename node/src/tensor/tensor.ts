// Tensors, named-tensor bags, their canonical bytes and hashes (docs/PROTOCOL.md, "Tensors and
// hashes"). The canonical bytes are also the wire payload:
//   uint8 dtype | uint8 rank | uint32 BE dim × rank | raw little-endian row-major data
// tensorHash = keccak256(canonical bytes); bagHash = keccak256(tensorHash of each tensor,
// tensors ordered by name ascending by UTF-8 bytes).
import jsSha3 from "js-sha3";
import type { Hex } from "viem";
import { TensorDtypeError, TensorEncodingError, TensorNotFiniteError, TensorShapeError, TensorTooLargeError } from "../inference/errors.ts";

/** Element types, named as onnxruntime names them. */
export type DType = "float32" | "uint8" | "int8" | "int32" | "int64" | "float16" | "float64" | "bool";

export type TypedArray = Float32Array | Float64Array | Uint8Array | Int8Array | Int32Array | BigInt64Array | Uint16Array;

export interface Tensor {
  readonly dtype: DType;
  readonly dims: readonly number[];
  readonly data: TypedArray;
}

/** Named tensors: a request, a hop between stages, or a response. */
export type TensorBag = Record<string, Tensor>;

/** ONNX TensorProto.DataType codes (PROTOCOL.md) and element sizes. */
export const DTYPE_CODE: Readonly<Record<DType, number>> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
};
export const DTYPE_SIZE: Readonly<Record<DType, number>> = {
  float32: 4,
  uint8: 1,
  int8: 1,
  int32: 4,
  int64: 8,
  bool: 1,
  float16: 2,
  float64: 8,
};
const CODE_DTYPE = new Map<number, DType>(Object.entries(DTYPE_CODE).map(([k, v]) => [v, k as DType]));

/** Default limit for one tensor's data (64 MiB). */
export const MAX_TENSOR_BYTES = 64 * 1024 * 1024;
/** Canonical bytes encode the rank in one byte. */
export const MAX_RANK = 255;

export function isDType(x: unknown): x is DType {
  return typeof x === "string" && Object.hasOwn(DTYPE_CODE, x);
}
export function dtypeFromCode(code: number): DType {
  const d = CODE_DTYPE.get(code);
  if (!d) throw new TensorDtypeError(`unsupported dtype code ${code}`);
  return d;
}

/** Number of elements; validates dims (non-negative integers below 2^32, rank ≤ 255). */
export function elementCount(dims: readonly number[]): number {
  if (dims.length > MAX_RANK) throw new TensorShapeError(`rank ${dims.length} exceeds ${MAX_RANK}`);
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0 || d > 0xffffffff) throw new TensorShapeError(`invalid dim ${d} in [${dims.join(",")}]`);
    n *= d;
  }
  return n;
}

export function byteLength(t: Tensor): number {
  return t.data.byteLength;
}

/** Allocates a typed array of `dtype` over `n` elements. */
export function allocate(dtype: DType, n: number): TypedArray {
  switch (dtype) {
    case "float32":
      return new Float32Array(n);
    case "float64":
      return new Float64Array(n);
    case "uint8":
    case "bool":
      return new Uint8Array(n);
    case "int8":
      return new Int8Array(n);
    case "int32":
      return new Int32Array(n);
    case "int64":
      return new BigInt64Array(n);
    case "float16":
      return new Uint16Array(n);
  }
}

function arrayMatches(dtype: DType, data: TypedArray): boolean {
  switch (dtype) {
    case "float32":
      return data instanceof Float32Array;
    case "float64":
      return data instanceof Float64Array;
    case "uint8":
    case "bool":
      return data instanceof Uint8Array;
    case "int8":
      return data instanceof Int8Array;
    case "int32":
      return data instanceof Int32Array;
    case "int64":
      return data instanceof BigInt64Array;
    case "float16":
      return data instanceof Uint16Array;
  }
}

export interface TensorLimits {
  /** Largest data size accepted, in bytes (default MAX_TENSOR_BYTES). */
  maxBytes?: number;
  /** Reject NaN/±Inf in float tensors (default true). */
  requireFinite?: boolean;
}

/**
 * Checks a tensor is well formed: known dtype, matching typed array, valid dims whose product
 * equals the element count, within the size limit and (for floats) finite.
 */
export function validateTensor(t: Tensor, limits: TensorLimits = {}, label = "tensor"): void {
  if (!isDType(t.dtype)) throw new TensorDtypeError(`${label}: unsupported dtype ${String(t.dtype)}`);
  if (!arrayMatches(t.dtype, t.data)) throw new TensorDtypeError(`${label}: data is not a ${t.dtype} typed array`);
  const n = elementCount(t.dims);
  if (n !== t.data.length) throw new TensorShapeError(`${label}: dims [${t.dims.join(",")}] hold ${n} elements, data has ${t.data.length}`);
  const max = limits.maxBytes ?? MAX_TENSOR_BYTES;
  if (t.data.byteLength > max) throw new TensorTooLargeError(`${label}: ${t.data.byteLength} bytes exceeds the limit of ${max}`);
  if (limits.requireFinite !== false) assertFinite(t, label);
}

/** Throws TensorNotFiniteError if a float32/float64 tensor holds NaN or ±Infinity. */
export function assertFinite(t: Tensor, label = "tensor"): void {
  if (t.dtype !== "float32" && t.dtype !== "float64") return;
  const d = t.data as Float32Array | Float64Array;
  for (let i = 0; i < d.length; i++) {
    if (!Number.isFinite(d[i])) throw new TensorNotFiniteError(`${label}: element ${i} is ${d[i]}`);
  }
}

/** Little-endian view of a tensor's data (no copy; this platform is little-endian). */
export function dataBytes(t: Tensor): Uint8Array {
  return new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

/** Canonical bytes of a tensor (PROTOCOL.md). Validates dims and dtype, not finiteness. */
export function encodeTensor(t: Tensor): Uint8Array {
  validateTensor(t, { maxBytes: Number.MAX_SAFE_INTEGER, requireFinite: false });
  const head = 2 + 4 * t.dims.length;
  const out = new Uint8Array(head + t.data.byteLength);
  const view = new DataView(out.buffer);
  out[0] = DTYPE_CODE[t.dtype];
  out[1] = t.dims.length;
  t.dims.forEach((d, i) => view.setUint32(2 + 4 * i, d, false));
  out.set(dataBytes(t), head);
  return out;
}

/** Parses canonical bytes back into a tensor (data copied into an aligned buffer). */
export function decodeTensor(bytes: Uint8Array, limits: TensorLimits = {}): Tensor {
  if (bytes.byteLength < 2) throw new TensorEncodingError(`tensor bytes truncated: ${bytes.byteLength} < 2`);
  const dtype = dtypeFromCode(bytes[0]);
  const rank = bytes[1];
  const head = 2 + 4 * rank;
  if (bytes.byteLength < head) throw new TensorEncodingError(`tensor header truncated: ${bytes.byteLength} < ${head}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < rank; i++) dims.push(view.getUint32(2 + 4 * i, false));
  const n = elementCount(dims);
  const size = n * DTYPE_SIZE[dtype];
  const max = limits.maxBytes ?? MAX_TENSOR_BYTES;
  if (size > max) throw new TensorTooLargeError(`tensor of ${size} bytes exceeds the limit of ${max}`);
  if (bytes.byteLength !== head + size) {
    throw new TensorEncodingError(`tensor [${dims.join(",")}] ${dtype} needs ${head + size} bytes, got ${bytes.byteLength}`);
  }
  const data = allocate(dtype, n);
  new Uint8Array(data.buffer).set(bytes.subarray(head));
  const t: Tensor = { dtype, dims, data };
  if (limits.requireFinite !== false) assertFinite(t);
  return t;
}

/**
 * keccak256 of the canonical bytes of (dtype code, dims, little-endian data), streamed: header
 * then data, no copy of the data. The one implementation of PROTOCOL.md's tensor hash; the
 * mesh's wire tensors (node/src/pipeline/tensor.ts) hash through it too.
 */
export function canonicalTensorHash(dtypeCode: number, dims: readonly number[], data: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = new Uint8Array(2 + 4 * dims.length);
  const view = new DataView(head.buffer);
  head[0] = dtypeCode;
  head[1] = dims.length;
  dims.forEach((d, i) => view.setUint32(2 + 4 * i, d, false));
  // js-sha3 runs keccak ~2.5x faster than viem's noble implementation on large tensors.
  return new Uint8Array(jsSha3.keccak256.create().update(head).update(data).arrayBuffer());
}

/** keccak256 over 32-byte tensor hashes given in bag order (PROTOCOL.md's bagHash). */
export function hashOfTensorHashes(hashes: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  const all = new Uint8Array(32 * hashes.length);
  hashes.forEach((h, i) => all.set(h, 32 * i));
  return new Uint8Array(jsSha3.keccak256.arrayBuffer(all));
}

/** keccak256 of the canonical bytes (PROTOCOL.md), as 0x-hex. */
export function tensorHash(t: Tensor): Hex {
  validateTensor(t, { maxBytes: Number.MAX_SAFE_INTEGER, requireFinite: false });
  return `0x${Buffer.from(canonicalTensorHash(DTYPE_CODE[t.dtype], t.dims, dataBytes(t))).toString("hex")}`;
}

/** keccak256 of arbitrary bytes, as 0x-hex. */
export function keccakHex(bytes: Uint8Array): Hex {
  return `0x${jsSha3.keccak256.hex(bytes)}`;
}

const utf8 = new TextEncoder();
/** Bag names in ascending UTF-8 byte order (the order bagHash uses). */
export function sortedNames(bag: Readonly<Record<string, unknown>>): string[] {
  return Object.keys(bag).sort((a, b) => Buffer.compare(utf8.encode(a), utf8.encode(b)));
}

/** keccak256 over the concatenated tensor hashes, by name ascending (PROTOCOL.md). */
export function bagHash(bag: TensorBag): Hex {
  for (const t of Object.values(bag)) validateTensor(t, { maxBytes: Number.MAX_SAFE_INTEGER, requireFinite: false });
  const hashes = sortedNames(bag).map((n) => canonicalTensorHash(DTYPE_CODE[bag[n].dtype], bag[n].dims, dataBytes(bag[n])));
  return `0x${Buffer.from(hashOfTensorHashes(hashes)).toString("hex")}`;
}

/** Total data bytes of a bag (typed or wire tensors). */
export function bagBytes(bag: Readonly<Record<string, { data: { byteLength: number } }>>): number {
  let n = 0;
  for (const t of Object.values(bag)) n += t.data.byteLength;
  return n;
}

export function validateBag(bag: TensorBag, limits: TensorLimits = {}): void {
  for (const [name, t] of Object.entries(bag)) validateTensor(t, limits, name);
}

/** Deep copy (data buffers are not shared with the original). */
export function cloneTensor(t: Tensor): Tensor {
  return { dtype: t.dtype, dims: [...t.dims], data: t.data.slice() as TypedArray };
}

/** Wire form used by the mesh (node/src/pipeline): ONNX dtype code + raw data bytes. */
export interface WireTensor {
  dtype: number;
  dims: number[];
  data: Uint8Array;
}

export function toWireTensor(t: Tensor): WireTensor {
  return { dtype: DTYPE_CODE[t.dtype], dims: [...t.dims], data: dataBytes(t) };
}

export function fromWireTensor(w: WireTensor, limits: TensorLimits = {}): Tensor {
  const dtype = dtypeFromCode(w.dtype);
  const n = elementCount(w.dims);
  const size = n * DTYPE_SIZE[dtype];
  const max = limits.maxBytes ?? MAX_TENSOR_BYTES;
  if (size > max) throw new TensorTooLargeError(`tensor of ${size} bytes exceeds the limit of ${max}`);
  if (w.data.byteLength !== size)
    throw new TensorEncodingError(`tensor [${w.dims.join(",")}] ${dtype} needs ${size} bytes, got ${w.data.byteLength}`);
  const data = allocate(dtype, n);
  new Uint8Array(data.buffer).set(w.data);
  const t: Tensor = { dtype, dims: [...w.dims], data };
  if (limits.requireFinite !== false) assertFinite(t);
  return t;
}

/** Largest |a-b| over two tensors of the same dtype and dims (Infinity if they differ in kind). */
export function maxAbsDiff(a: Tensor, b: Tensor): number {
  if (a.dtype !== b.dtype || a.dims.length !== b.dims.length || a.dims.some((d, i) => d !== b.dims[i])) return Infinity;
  let m = 0;
  if (a.dtype === "int64") {
    const x = a.data as BigInt64Array;
    const y = b.data as BigInt64Array;
    for (let i = 0; i < x.length; i++) {
      const d = Number(x[i] > y[i] ? x[i] - y[i] : y[i] - x[i]);
      if (d > m) m = d;
    }
    return m;
  }
  const x = a.data as Exclude<TypedArray, BigInt64Array>;
  const y = b.data as Exclude<TypedArray, BigInt64Array>;
  for (let i = 0; i < x.length; i++) {
    const d = Math.abs(x[i] - y[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? Infinity : d;
  }
  return m;
}

/** Seeded float32 tensor with values uniform in [lo, hi) (mulberry32). */
export function randomTensor(dims: readonly number[], seed = 1, lo = 0, hi = 1): Tensor {
  const rnd = mulberry32(seed);
  const data = new Float32Array(elementCount(dims));
  for (let i = 0; i < data.length; i++) data[i] = lo + (hi - lo) * rnd();
  return { dtype: "float32", dims: [...dims], data };
}

export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
