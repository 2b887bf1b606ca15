// Tensors as they cross the wire: ONNX dtype code, dims and raw little-endian bytes, hashed
// exactly as docs/PROTOCOL.md says (canonical bytes → keccak256; bag = keccak of the sorted
// tensor hashes). Bags are plain records keyed by tensor name.
import { canonicalTensorHash, hashOfTensorHashes, sortedNames } from "../tensor/tensor.ts";

export { bagBytes, sortedNames } from "../tensor/tensor.ts";

export interface WireTensor {
  dtype: number;
  dims: number[];
  data: Uint8Array;
}
export type WireBag = Record<string, WireTensor>;

export function tensorHash(t: WireTensor): Uint8Array<ArrayBuffer> {
  return canonicalTensorHash(t.dtype, t.dims, t.data);
}

export function bagHash(bag: WireBag): Uint8Array<ArrayBuffer> {
  return hashOfTensorHashes(sortedNames(bag).map((n) => tensorHash(bag[n])));
}

export function toHex(bytes: Uint8Array): `0x${string}` {
  return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex")}`;
}

/** Float32 view of a tensor's bytes (copies when the bytes are not 4-byte aligned). */
export function float32(t: WireTensor): Float32Array {
  const d = t.data;
  if (d.byteOffset % 4 === 0) return new Float32Array(d.buffer, d.byteOffset, d.byteLength / 4);
  return new Float32Array(d.slice().buffer);
}
