// The codecs of tensors and bags (docs/PROTOCOL.md, "Tensors and hashes"):
// - canonical bytes: uint8 dtype | uint8 rank | uint32 BE dim × rank | raw little-endian data
//   (what tensorHash hashes, and the wire payload of one tensor);
// - wire ↔ typed: a WireTensor's bytes copied into an aligned typed array and back (no copy);
// - JSON: `{ dtype: "float32" | 1, dims: [..], data: base64 of the raw bytes }`, the form of the
//   gateway's HTTP API and the SDK.
import { MAX_JSON_BAG_TENSORS, MAX_TENSOR_BYTES } from "./constants.ts";
import { TensorEncodingError, TensorJsonError, TensorTooLargeError } from "./errors.ts";
import {
  allocate,
  assertFinite,
  DTYPE_CODE,
  DTYPE_SIZE,
  dataBytes,
  dtypeFromCode,
  elementCount,
  type DType,
  type Tensor,
  type TensorBag,
  type TensorLimits,
  validateTensor,
  type WireBag,
  type WireTensor,
} from "./tensor.ts";

/** Canonical bytes of a tensor (PROTOCOL.md). Validates dims and dtype, not finiteness. */
export function encodeTensor(t: Tensor): Uint8Array {
  validateTensor(t, { maxBytes: Number.MAX_SAFE_INTEGER, requireFinite: false });
  const head = 2 + 4 * t.dims.length;
  const out = new Uint8Array(head + t.data.byteLength);
  const view = new DataView(out.buffer);
  out[0] = DTYPE_CODE[t.dtype];
  out[1] = t.dims.length;
  for (const [i, d] of t.dims.entries()) view.setUint32(2 + 4 * i, d, false);
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
  return typedFrom(dtype, dims, bytes.subarray(head), limits);
}

/** A typed tensor of `dtype` and `dims` over a copy of `data`, checked against the limits. */
function typedFrom(dtype: DType, dims: number[], data: Uint8Array, limits: TensorLimits): Tensor {
  const n = elementCount(dims);
  const size = n * DTYPE_SIZE[dtype];
  const max = limits.maxBytes ?? MAX_TENSOR_BYTES;
  if (size > max) throw new TensorTooLargeError(`tensor of ${size} bytes exceeds the limit of ${max}`);
  if (data.byteLength !== size)
    throw new TensorEncodingError(`tensor [${dims.join(",")}] ${dtype} needs ${size} bytes, got ${data.byteLength}`);
  const typed = allocate(dtype, n);
  new Uint8Array(typed.buffer).set(data);
  const t: Tensor = { dtype, dims, data: typed };
  if (limits.requireFinite !== false) assertFinite(t);
  return t;
}

/** The wire form of a typed tensor (its bytes are a view, not a copy). */
export function toWireTensor(t: Tensor): WireTensor {
  return { dtype: DTYPE_CODE[t.dtype], dims: [...t.dims], data: dataBytes(t) };
}

/** The typed form of a wire tensor (bytes copied into an aligned typed array), checked against the limits. */
export function fromWireTensor(w: WireTensor, limits: TensorLimits = {}): Tensor {
  return typedFrom(dtypeFromCode(w.dtype), [...w.dims], w.data, limits);
}

export function toWireBag(bag: TensorBag): WireBag {
  const out: WireBag = {};
  for (const [name, t] of Object.entries(bag)) out[name] = toWireTensor(t);
  return out;
}

/** Typed tensors in fresh buffers (so they can be transferred to a worker without a clone). */
export function fromWireBag(bag: WireBag, limits: TensorLimits = {}): TensorBag {
  const out: TensorBag = {};
  for (const [name, t] of Object.entries(bag)) out[name] = fromWireTensor(t, limits);
  return out;
}

/** A tensor in the gateway's JSON form. */
export interface JsonTensor {
  /** dtype name (`float32`) or ONNX code (1) */
  dtype: string | number;
  dims: number[];
  /** base64 of the raw little-endian bytes */
  data: string;
}
/** A tensor in JSON as the gateway answers it (dtype always by name). */
export interface NamedJsonTensor extends JsonTensor {
  dtype: DType;
}

const CODE_NAMES = new Map<number, DType>(Object.entries(DTYPE_CODE).map(([name, code]) => [code, name as DType]));

/**
 * Wire tensors of a JSON bag (dtype by name or code, dims, base64 data). Checks the form only:
 * a dtype this protocol knows and non-negative integer dims; the byte count against the dims and
 * the model's bounds are checked where the request is admitted (inference/bounds.ts).
 */
export function parseJsonBag(tensors: Record<string, JsonTensor>): WireBag {
  if (!tensors || typeof tensors !== "object" || Array.isArray(tensors))
    throw new TensorJsonError("tensors must be an object of named tensors");
  const entries = Object.entries(tensors);
  if (entries.length > MAX_JSON_BAG_TENSORS) throw new TensorJsonError(`${entries.length} tensors: at most ${MAX_JSON_BAG_TENSORS}`);
  // No prototype: a tensor named "__proto__" is a tensor, not the bag's prototype.
  const bag: WireBag = Object.create(null);
  for (const [name, t] of entries) {
    const code = typeof t?.dtype === "number" ? t.dtype : DTYPE_CODE[String(t?.dtype) as DType];
    if (!code || !CODE_NAMES.has(code)) throw new TensorJsonError(`tensor ${name}: unknown dtype ${String(t?.dtype)}`);
    if (!Array.isArray(t.dims) || !t.dims.every((d) => Number.isInteger(d) && d >= 0))
      throw new TensorJsonError(`tensor ${name}: bad dims`);
    if (typeof t.data !== "string") throw new TensorJsonError(`tensor ${name}: data must be base64`);
    const raw = Buffer.from(t.data, "base64");
    const data = new Uint8Array(raw.byteLength);
    data.set(raw);
    bag[name] = { dtype: code, dims: t.dims, data };
  }
  return bag;
}

/** The JSON form of a wire bag (dtype by name). */
export function formatJsonBag(bag: WireBag): Record<string, NamedJsonTensor> {
  const out: Record<string, NamedJsonTensor> = {};
  for (const [name, t] of Object.entries(bag)) {
    out[name] = {
      dtype: CODE_NAMES.get(t.dtype) ?? dtypeFromCode(t.dtype),
      dims: t.dims,
      data: Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).toString("base64"),
    };
  }
  return out;
}
