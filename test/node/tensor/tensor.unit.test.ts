// Canonical tensor bytes, tensorHash and bagHash exactly as docs/PROTOCOL.md defines them, one
// hash whatever the form (typed, wire, JSON), and the named errors for malformed tensors.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { keccak256, concat, toHex } from "viem";
import {
  bagHash,
  decodeTensor,
  encodeTensor,
  formatJsonBag,
  fromWireBag,
  fromWireTensor,
  parseJsonBag,
  sortedNames,
  tensorHash,
  toWireBag,
  toWireTensor,
  validateTensor,
  type Tensor,
} from "../../../node/src/tensor/index.ts";

const t1: Tensor = { dtype: "float32", dims: [1, 2], data: new Float32Array([1.5, -2]) };

describe("tensor canonical bytes and hashes", () => {
  it("encodes dtype code, rank, big-endian uint32 dims, little-endian data", () => {
    const b = encodeTensor(t1);
    assert.equal(toHex(b), "0x" + "01" + "02" + "00000001" + "00000002" + "0000c03f" + "000000c0");
    assert.equal(tensorHash(t1), keccak256(b));
    const i8: Tensor = { dtype: "int8", dims: [3], data: new Int8Array([-1, 0, 127]) };
    assert.equal(toHex(encodeTensor(i8)), `${"0x03010000000300ff007f".slice(0, 2)}030100000003ff007f`);
    const i64: Tensor = { dtype: "int64", dims: [], data: new BigInt64Array([-2n]) };
    assert.equal(toHex(encodeTensor(i64)), "0x0700feffffffffffffff");
  });

  it("round-trips every dtype through canonical bytes and the mesh wire form", () => {
    const ts: Tensor[] = [
      t1,
      { dtype: "uint8", dims: [2, 2], data: new Uint8Array([1, 2, 3, 255]) },
      { dtype: "int32", dims: [2], data: new Int32Array([-7, 1 << 30]) },
      { dtype: "int64", dims: [1, 1], data: new BigInt64Array([123456789012n]) },
      { dtype: "float64", dims: [1], data: new Float64Array([Math.PI]) },
      { dtype: "float16", dims: [2], data: new Uint16Array([0x3c00, 0xc000]) },
      { dtype: "bool", dims: [0, 3], data: new Uint8Array(0) },
    ];
    for (const t of ts) {
      const back = decodeTensor(encodeTensor(t));
      assert.deepEqual(back, { dtype: t.dtype, dims: [...t.dims], data: t.data });
      assert.equal(tensorHash(fromWireTensor(toWireTensor(t))), tensorHash(t));
    }
  });

  it("bagHash = keccak of tensor hashes ordered by UTF-8 name bytes", () => {
    // U+FF01 sorts before U+1F600 in UTF-8 but after it in UTF-16 code units.
    const bag = { "\u{1F600}": t1, "\uFF01": t1, b: { ...t1, dims: [2, 1] }, a: t1 };
    assert.deepEqual(sortedNames(bag), ["a", "b", "\uFF01", "\u{1F600}"]);
    const expected = keccak256(concat([tensorHash(t1), tensorHash(bag.b), tensorHash(t1), tensorHash(t1)]));
    assert.equal(bagHash(bag), expected);
    assert.equal(bagHash({ x: t1 }), keccak256(tensorHash(t1)));
  });

  it("rejects malformed tensors with named errors", () => {
    const named = (fn: () => unknown, name: string) => assert.throws(fn, (e: Error) => e.name === name);
    named(() => validateTensor({ dtype: "float32", dims: [3], data: new Float32Array(2) }), "TensorShapeError");
    named(() => validateTensor({ dtype: "float32", dims: [-1], data: new Float32Array(0) }), "TensorShapeError");
    named(() => validateTensor({ dtype: "int32", dims: [2], data: new Float32Array(2) }), "TensorDtypeError");
    named(() => validateTensor({ dtype: "complex64" as never, dims: [1], data: new Float32Array(1) }), "TensorDtypeError");
    named(
      () => validateTensor({ dtype: "float32", dims: [1024], data: new Float32Array(1024) }, { maxBytes: 1000 }),
      "TensorTooLargeError",
    );
    named(() => validateTensor({ dtype: "float32", dims: [2], data: new Float32Array([0, NaN]) }), "TensorNotFiniteError");
    named(() => validateTensor({ dtype: "float64", dims: [1], data: new Float64Array([-Infinity]) }), "TensorNotFiniteError");
    const bytes = encodeTensor(t1);
    named(() => decodeTensor(bytes.subarray(0, bytes.length - 1)), "TensorEncodingError");
    named(() => decodeTensor(bytes.subarray(0, 5)), "TensorEncodingError");
    named(() => decodeTensor(new Uint8Array([99, 0])), "TensorDtypeError");
    // a header claiming 2^32-1 × 2^32-1 floats is refused before any allocation
    named(() => decodeTensor(new Uint8Array([1, 2, 255, 255, 255, 255, 255, 255, 255, 255])), "TensorTooLargeError");
  });

  it("hashes a bag the same in its typed, wire and JSON forms", () => {
    const bag = {
      x: t1,
      ids: { dtype: "int64", dims: [1, 3], data: new BigInt64Array([1n, -2n, 3n]) } as Tensor,
      m: { dtype: "bool", dims: [2], data: new Uint8Array([1, 0]) } as Tensor,
    };
    const wire = toWireBag(bag);
    const json = formatJsonBag(wire);
    assert.deepEqual(
      Object.values(json).map((t) => t.dtype),
      ["float32", "int64", "bool"],
    );
    const parsed = parseJsonBag(json);
    assert.equal(bagHash(wire), bagHash(bag));
    assert.equal(bagHash(parsed), bagHash(bag));
    assert.equal(bagHash(fromWireBag(parsed)), bagHash(bag));
    // dtype by ONNX code is the same tensor
    assert.equal(bagHash(parseJsonBag({ x: { ...json.x, dtype: 1 } })), bagHash({ x: t1 }));
  });

  it("refuses malformed JSON tensors with TensorJsonError", () => {
    const good = formatJsonBag(toWireBag({ x: t1 })).x;
    for (const bad of [
      { ...good, dtype: "complex64" },
      { ...good, dtype: 4 },
      { ...good, dims: [1, -2] },
      { ...good, dims: [1.5] },
      { ...good, dims: "1,2" },
      { ...good, data: 12 },
      null,
    ]) {
      assert.throws(() => parseJsonBag({ x: bad as never }), { name: "TensorJsonError" });
    }
  });
});
