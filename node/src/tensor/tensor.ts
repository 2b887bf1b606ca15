// Tensors and named-tensor bags, the one definition every layer uses (docs/PROTOCOL.md,
// "Tensors and hashes"). Two forms of the same tensor:
// - typed (`Tensor`): dtype name, dims and a typed array, what onnxruntime and the models use;
// - wire (`WireTensor`): ONNX dtype code, dims and raw little-endian bytes, what crosses the mesh,
//   the trace store and the gateway (no copy, no alignment needed).
// Their codecs are in ./codec.ts (canonical bytes, wire <-> typed, JSON), their hashes in ./hash.ts;
// a tensor hashes the same in either form.
import { MAX_RANK, MAX_TENSOR_BYTES } from "./constants.ts";
import { TensorDtypeError, TensorNotFiniteError, TensorShapeError, TensorTooLargeError } from "./errors.ts";

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

/** A tensor as it crosses the wire: ONNX dtype code (DTYPE_CODE), dims, raw little-endian bytes. */
export interface WireTensor {
  dtype: number;
  dims: number[];
  data: Uint8Array;
}
export type WireBag = Record<string, WireTensor>;

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
