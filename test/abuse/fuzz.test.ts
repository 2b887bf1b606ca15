// Property-based fuzzing (fast-check) of every decoder a stranger's bytes reach: image headers,
// pipeline frames, sealed data-plane records, shard messages, canonical tensors, the quote,
// receipt and tensor JSON protocols (both sides), capability announcements, and the gateway's
// tensor JSON with the model's request bounds. Each property: the decoder returns a value that
// satisfies its contract or throws one of its named errors — never a TypeError, RangeError,
// SyntaxError or a bare Error — and holds no more memory than the input justifies. Inputs are
// random bytes/JSON and valid messages with random mutations (so the search reaches past the
// first check). Bounded to run in CI in seconds: FUZZ_RUNS (default 300) cases per property.
import assert from "node:assert/strict";
import { EventEmitter } from "node:events";
import { randomBytes } from "node:crypto";
import { describe, it } from "node:test";
import fc from "fast-check";
import type { Uint8ArrayList } from "uint8arraylist";
import { imageHeader } from "../../node/src/ocr/header.ts";
import { Frame, FrameReader, encodeFrame, type DecodedFrame } from "../../node/src/pipeline/frames.ts";
import { SealedChannel, DATA_PLANE_MAX_RECORD } from "../../node/src/pipeline/dataplane.ts";
import { decodeShardRequest, decodeShardResponse } from "../../node/src/mesh/shards.ts";
import { ShardRequest, ShardResponse } from "../../node/src/pb/shard.js";
import { decodeTensor, fromWireTensor, encodeTensor, randomTensor } from "../../node/src/tensor/index.ts";
import { checkRequest, requestBounds, type Manifest } from "../../node/src/inference/index.ts";
import { parseTensorRequest } from "../../node/src/verifier/tensors.ts";
import { parseQuoteRequest, parseSignedQuote } from "../../node/src/jobs/quote.ts";
import { handleReceiptRequest, parsePartAnswer, parseRevealAnswer } from "../../node/src/jobs/parts.ts";
import type { JobsContext } from "../../node/src/jobs/context.ts";
import { parseAnnouncement } from "../../node/src/mesh/directory.ts";
import { MAX_ANNOUNCED_CAPACITY, MAX_ANNOUNCED_STAGES } from "../../node/src/mesh/constants.ts";
import { MAX_HEADER_BYTES, MAX_PAYLOAD_BYTES } from "../../node/src/pipeline/constants.ts";
import { parseJsonBag } from "../../node/src/tensor/index.ts";

const RUNS = Number(process.env.FUZZ_RUNS ?? 300);
const params = { numRuns: RUNS };

/** Runs `fn`; an error whose name is not in `names` fails the property (with that error). */
function namedOnly<T>(names: readonly string[], fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    if (err instanceof Error && names.includes(err.name)) return undefined;
    throw err;
  }
}

/** A JSON value with one field replaced, deleted or retyped, at the top or one level down. */
function mutated(base: Record<string, unknown>): fc.Arbitrary<unknown> {
  const keys = Object.keys(base);
  const odd = fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(null, -1, 2 ** 53, 1e300, Number.NaN, "", "0x", "__proto__", [], {}, "9".repeat(100)),
  );
  return fc.oneof(
    fc.constant(base),
    fc.record({ key: fc.constantFrom(...keys), value: odd }).map(({ key, value }) => ({ ...base, [key]: value })),
    fc.constantFrom(...keys).map((key) => {
      const copy = { ...base };
      delete copy[key];
      return copy;
    }),
    fc.record({ key: fc.constantFrom(...keys), inner: fc.string({ maxLength: 8 }), value: odd }).map(({ key, inner, value }) => {
      const v = base[key];
      if (Array.isArray(v) && v.length > 0) return { ...base, [key]: [{ ...(v[0] as object), [inner]: value }, ...v.slice(1)] };
      if (v && typeof v === "object") return { ...base, [key]: { ...(v as object), [inner]: value } };
      return { ...base, [key]: value };
    }),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

describe("fuzz: image headers", () => {
  it("PNG/JPEG headers: a positive size or ImageDecodeError", () => {
    const png = fc
      .uint8Array({ maxLength: 64 })
      .map((b) => Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82, ...b]));
    const segment = fc.record({ marker: fc.integer({ min: 0, max: 255 }), body: fc.uint8Array({ maxLength: 12 }) });
    const jpeg = fc
      .array(segment, { maxLength: 8 })
      .map((segs) =>
        Uint8Array.from([
          0xff,
          0xd8,
          ...segs.flatMap((s) => [0xff, s.marker, (s.body.length + 2) >> 8, (s.body.length + 2) & 255, ...s.body]),
        ]),
      );
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 64 }), png, jpeg), (bytes) => {
        const h = namedOnly(["ImageDecodeError"], () => imageHeader(bytes));
        if (h)
          assert.ok(h.width >= 1 && h.height >= 1 && h.width <= 0xffffffff && h.height <= 0xffffffff && ["png", "jpeg"].includes(h.format));
      }),
      params,
    );
  });
});

/** The part of a libp2p stream FrameReader uses, fed by hand. */
class FakeStream {
  private readonly listeners: Array<(evt: { data: Uint8Array | Uint8ArrayList }) => void> = [];
  addEventListener(type: string, fn: (evt: { data: Uint8Array | Uint8ArrayList }) => void): void {
    if (type === "message") this.listeners.push(fn);
  }
  pause(): void {}
  resume(): void {}
  push(data: Uint8Array): void {
    for (const l of this.listeners) l({ data });
  }
}

/** Splits bytes at random points into chunks (how a transport may deliver them). */
const chunked = (bytes: fc.Arbitrary<Uint8Array>) =>
  fc.tuple(bytes, fc.array(fc.nat(), { maxLength: 6 })).map(([b, cuts]) => {
    const at = [...new Set(cuts.map((c) => (b.length ? c % b.length : 0)))].sort((x, y) => x - y);
    const out: Uint8Array[] = [];
    let prev = 0;
    for (const c of [...at, b.length]) {
      out.push(b.subarray(prev, c));
      prev = c;
    }
    return { bytes: b, chunks: out };
  });

const smallBag = fc
  .array(fc.record({ name: fc.string({ minLength: 1, maxLength: 6 }), n: fc.integer({ min: 0, max: 40 }) }), { maxLength: 4 })
  .map((ts) => Object.fromEntries(ts.map((t) => [t.name, { dtype: 1, dims: [t.n], data: Uint8Array.from(randomBytes(4 * t.n)) }])));

function concat(parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(Buffer.concat(parts));
}

describe("fuzz: pipeline frames", () => {
  it("valid frames, split anywhere, come out as sent", () => {
    fc.assert(
      fc.property(
        chunked(
          fc
            .array(fc.tuple(smallBag, fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), { minLength: 1, maxLength: 3 })
            .map((fs) =>
              concat(
                fs.flatMap(([bag, id]) =>
                  encodeFrame({ kind: Frame.Kind.REQUEST, version: 1, requestId: id, modelId: "m", stage: 0 }, bag),
                ),
              ),
            ),
        ),
        ({ chunks }) => {
          const stream = new FakeStream();
          const frames: DecodedFrame[] = [];
          const reader = new FrameReader(stream as never, { onFrame: (f) => frames.push(f), onError: (e) => assert.fail(e) });
          for (const c of chunks) stream.push(c);
          assert.equal(reader.buffered, 0);
          assert.ok(frames.length >= 1);
          for (const f of frames) {
            for (const t of f.header.tensors) assert.equal(f.bag[t.name].data.byteLength, t.byteLength);
          }
        },
      ),
      params,
    );
  });

  it("random and mutated bytes: frames with consistent lengths, or a named error; never more buffered than fed", () => {
    const valid = smallBag.map((bag) =>
      concat(encodeFrame({ kind: Frame.Kind.REQUEST, version: 1, requestId: 7n, modelId: "m", stage: 0 }, bag)),
    );
    const flipped = fc.tuple(valid, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([b, at, x]) => {
      const c = Uint8Array.from(b);
      c[at % c.length] ^= x;
      return c;
    });
    const truncated = fc.tuple(valid, fc.nat()).map(([b, n]) => b.subarray(0, n % (b.length + 1)));
    fc.assert(
      fc.property(chunked(fc.oneof(fc.uint8Array({ maxLength: 256 }), flipped, truncated)), ({ bytes, chunks }) => {
        const stream = new FakeStream();
        const errors: Error[] = [];
        const reader = new FrameReader(stream as never, {
          onFrame: (f) => {
            let sum = 0;
            for (const t of f.header.tensors) {
              assert.equal(f.bag[t.name].data.byteLength, t.byteLength);
              sum += t.byteLength;
            }
            assert.equal(sum, f.header.payloadLength);
            assert.ok(f.header.payloadLength <= MAX_PAYLOAD_BYTES);
          },
          onError: (e) => errors.push(e),
        });
        for (const c of chunks) stream.push(c);
        assert.ok(errors.length <= 1);
        for (const e of errors)
          assert.ok(["PipelineMalformedFrameError", "PipelineFrameTooLargeError"].includes(e.name), `${e.name}: ${e.message}`);
        assert.ok(reader.buffered <= bytes.length);
        assert.ok(reader.buffered <= MAX_HEADER_BYTES + MAX_PAYLOAD_BYTES + 5);
      }),
      params,
    );
  });
});

/** A socket for SealedChannel that records writes and takes data by hand. */
class FakeSocket extends EventEmitter {
  written: Buffer[] = [];
  destroyed = false;
  writableLength = 0;
  setNoDelay(): void {}
  cork(): void {}
  uncork(): void {}
  pause(): void {}
  resume(): void {}
  write(b: Uint8Array): boolean {
    this.written.push(Buffer.from(b));
    return true;
  }
  end(): void {}
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => this.emit("close"));
  }
}

describe("fuzz: sealed data-plane records", () => {
  const key = randomBytes(32);
  /** Records a sender with the same keys writes for `parts`. */
  function sealed(parts: Uint8Array[]): Buffer {
    const socket = new FakeSocket();
    const sender = new SealedChannel(socket as never, key.subarray(0, 16), key.subarray(16), "send");
    for (const p of parts) sender.send(p);
    return Buffer.concat(socket.written);
  }
  const plain = fc.array(fc.uint8Array({ minLength: 1, maxLength: 40_000 }), { minLength: 1, maxLength: 3 });

  it("sealed records open to the bytes sent; random, flipped or truncated ones close the channel by name", async () => {
    await fc.assert(
      fc.asyncProperty(
        plain,
        fc.oneof(
          fc.constant({ kind: "intact" as const }),
          fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), x: fc.integer({ min: 1, max: 255 }) }),
          fc.record({ kind: fc.constant("random" as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
        ),
        fc.array(fc.nat(), { maxLength: 4 }),
        async (parts, how, cuts) => {
          let wire = sealed(parts);
          if (how.kind === "flip") {
            wire = Buffer.from(wire);
            wire[how.at % wire.length] ^= how.x;
          } else if (how.kind === "random") wire = Buffer.from(how.bytes);
          const socket = new FakeSocket();
          const channel = new SealedChannel(socket as never, key.subarray(16), key.subarray(0, 16), "recv");
          const got: Buffer[] = [];
          let closed: Error | undefined;
          channel.addEventListener("message", (e) => got.push(Buffer.from(e.data!.subarray())));
          channel.addEventListener("close", (e) => {
            closed = e.error ?? new Error("closed without error");
          });
          const at = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
          let prev = 0;
          for (const c of [...at, wire.length]) {
            socket.emit("data", wire.subarray(prev, c));
            prev = c;
          }
          await new Promise((r) => setImmediate(r));
          const sent = Buffer.concat(parts);
          const received = Buffer.concat(got);
          assert.ok(sent.subarray(0, received.length).equals(received), "only authentic bytes, in order");
          if (how.kind === "intact") {
            assert.equal(closed, undefined);
            assert.ok(received.equals(sent));
          } else if (closed) {
            assert.ok(["PipelineFrameTooLargeError", "PipelineStreamClosedError"].includes(closed.name), closed.name);
          }
          channel.abort(new Error("done"));
        },
      ),
      { numRuns: Math.max(50, Math.ceil(RUNS / 3)) },
    );
  });

  it("a length prefix over the record limit closes the channel before any buffer is sized by it", () => {
    const socket = new FakeSocket();
    const channel = new SealedChannel(socket as never, key.subarray(16), key.subarray(0, 16), "recv");
    let closed: Error | undefined;
    channel.addEventListener("close", (e) => {
      closed = e.error;
    });
    const head = Buffer.alloc(4);
    head.writeUInt32BE(DATA_PLANE_MAX_RECORD + 1);
    socket.emit("data", head);
    assert.equal(closed?.name, "PipelineFrameTooLargeError");
  });
});

describe("fuzz: shard messages", () => {
  it("decode to a message or ShardProtocolError", () => {
    const validReq = fc
      .record({
        sha256: fc.string({ maxLength: 70 }),
        offset: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        length: fc.nat(),
        have: fc.boolean(),
      })
      .map((r) => ShardRequest.encode(r));
    const validRes = fc
      .record({ found: fc.boolean(), size: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), data: fc.uint8Array({ maxLength: 64 }) })
      .map((r) => ShardResponse.encode(r));
    const flip = (arb: fc.Arbitrary<Uint8Array>) =>
      fc.tuple(arb, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([b, at, x]) => {
        const c = Uint8Array.from(b);
        if (c.length) c[at % c.length] ^= x;
        return c;
      });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 128 }), flip(validReq), flip(validRes)), (bytes) => {
        namedOnly(["ShardProtocolError"], () => decodeShardRequest(bytes));
        namedOnly(["ShardProtocolError"], () => decodeShardResponse(bytes));
      }),
      params,
    );
  });
});

describe("fuzz: canonical tensors", () => {
  const names = ["TensorEncodingError", "TensorDtypeError", "TensorShapeError", "TensorTooLargeError", "TensorNotFiniteError"];
  it("canonical bytes decode to a tensor of exactly that size, or a named error", () => {
    const valid = fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 4 }).map((dims) => encodeTensor(randomTensor(dims)));
    const flipped = fc.tuple(valid, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([b, at, x]) => {
      const c = Uint8Array.from(b);
      c[at % c.length] ^= x;
      return c;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 128 }), flipped), (bytes) => {
        const t = namedOnly(names, () => decodeTensor(bytes));
        if (t) assert.ok(t.data.byteLength <= bytes.byteLength);
      }),
      params,
    );
  });
  it("wire tensors (dtype code, dims, bytes) convert or fail by name", () => {
    fc.assert(
      fc.property(
        fc.record({
          dtype: fc.integer({ min: -1, max: 20 }),
          dims: fc.array(fc.oneof(fc.integer({ min: -2, max: 9 }), fc.constant(2 ** 40), fc.double()), { maxLength: 5 }),
          data: fc.uint8Array({ maxLength: 64 }),
        }),
        (w) => {
          const t = namedOnly(names, () => fromWireTensor(w, { requireFinite: true }));
          if (t) assert.equal(t.data.byteLength, w.data.byteLength);
        },
      ),
      params,
    );
  });
});

describe("fuzz: JSON protocols", () => {
  it("tensor protocol requests (provider side): TensorProtocolError only", () => {
    const base = { v: 1, jobId: "12", stage: 0, side: "input", hash: `0x${"ab".repeat(32)}`, index: 3 };
    fc.assert(
      fc.property(mutated(base), (raw) => {
        const r = namedOnly(["TensorProtocolError"], () => parseTensorRequest(raw));
        if (r) assert.ok(/^\d{1,78}$/.test(r.jobId) && r.stage >= 0 && r.stage <= 0xffff);
      }),
      params,
    );
  });

  it("quote requests (provider side) and quote answers (gateway side): JobsProtocolError only", () => {
    fc.assert(
      fc.property(mutated({ modelId: "1", stage: 0, maxUnits: 10, buyer: `0x${"12".repeat(20)}` }), (raw) => {
        const q = namedOnly(["JobsProtocolError"], () => parseQuoteRequest(raw));
        if (q) assert.ok(q.maxUnits > 0 && q.maxUnits <= 0xffffffff);
      }),
      params,
    );
    const quote = {
      modelId: "1",
      stage: 0,
      provider: `0x${"11".repeat(20)}`,
      buyer: `0x${"12".repeat(20)}`,
      price: "1000",
      maxUnits: 5,
      expiry: "99",
      maxJobExpiry: "999",
      nonce: "7",
    };
    fc.assert(
      fc.property(
        fc.oneof(
          mutated({ quote, signature: `0x${"22".repeat(65)}` }),
          mutated(quote).map((q) => ({ quote: q, signature: "0x00" })),
        ),
        (raw) => {
          const q = namedOnly(["JobsProtocolError"], () => parseSignedQuote(raw));
          if (q) assert.ok(q.quote.price < 2n ** 96n && q.quote.stage <= 0xffff);
        },
      ),
      params,
    );
  });

  it("receipt requests (provider side) and answers (gateway side): named errors only", async () => {
    const ctx = {
      chain: { account: { address: `0x${"11".repeat(20)}` }, pc: {} },
      trace: { get: () => undefined },
      peerId: "self",
    } as unknown as JobsContext;
    const route = [`0x${"11".repeat(20)}`, `0x${"11".repeat(20)}`];
    const buyer = {
      from: 0,
      routes: [route],
      leaves: [0, 1, 2].map((n) => [String(n), 1, `0x${"33".repeat(32)}`, `0x${"44".repeat(32)}`, 0]),
    };
    const part = { op: "part", jobId: "5", stage: 0, buyer, outputRoot: `0x${"33".repeat(32)}` };
    const reveal = { op: "reveal", jobId: "5", stage: 1, buyer, index: 1 };
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutated(part), mutated(reveal)), async (raw) => {
        try {
          await handleReceiptRequest(ctx, raw, "12D3KooWfuzz");
          assert.fail("the stub trace holds no request: a well-formed request is refused as not served");
        } catch (err) {
          assert.ok(
            ["JobsProtocolError", "JobsPartNotServedError", "JobsPartRootMismatchError"].includes((err as Error).name),
            `${(err as Error).name}: ${(err as Error).message}`,
          );
        }
      }),
      params,
    );
    const answer = {
      stage: 0,
      provider: `0x${"11".repeat(20)}`,
      count: 3,
      root: `0x${"44".repeat(32)}`,
      signature: `0x${"55".repeat(65)}`,
    };
    fc.assert(
      fc.property(mutated(answer), (raw) => void namedOnly(["JobsProtocolError"], () => parsePartAnswer(raw))),
      params,
    );
    const leaf = {
      leaf: { index: "2", inputHash: `0x${"66".repeat(32)}`, outputHash: `0x${"77".repeat(32)}` },
      proof: [`0x${"88".repeat(32)}`],
    };
    fc.assert(
      fc.property(mutated(leaf), (raw) => void namedOnly(["JobsProtocolError"], () => parseRevealAnswer(raw))),
      params,
    );
  });
});

describe("fuzz: capability announcements", () => {
  const base = {
    v: 1,
    peerId: "12D3KooWExample",
    addrs: ["/ip4/127.0.0.1/tcp/4001"],
    models: [{ modelId: "1", name: "rec", stageCount: 2, stages: [{ stage: 0, price: "1000", sha256: "a".repeat(64) }] }],
    capacity: 4,
    load: 0,
    latencyMs: 12.5,
    gateway: "http://127.0.0.1:8600",
    seq: 3,
    ts: 1_700_000_000_000,
  };
  it("parse to an announcement within the caps, or DirectoryInvalidAnnouncementError", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          mutated(base).map((v) => JSON.stringify(v) ?? ""),
          fc.string({ maxLength: 64 }),
        ),
        (text) => {
          const a = namedOnly(["DirectoryInvalidAnnouncementError"], () => parseAnnouncement(text));
          if (!a) return;
          assert.ok(a.capacity <= MAX_ANNOUNCED_CAPACITY);
          for (const m of a.models) {
            assert.ok(m.stageCount >= 1 && m.stageCount <= MAX_ANNOUNCED_STAGES);
            for (const s of m.stages) assert.ok(s.stage < m.stageCount && BigInt(s.price) < 2n ** 96n);
            // biome-ignore lint/suspicious/noControlCharactersInRegex: asserts that no control character got through
            assert.ok(m.name === undefined || !/[\u0000-\u001f]/.test(m.name));
          }
          assert.ok(a.gateway === undefined || /^https?:\/\//.test(a.gateway));
        },
      ),
      params,
    );
  });
  it("refuses what the issue saw accepted: capacity 1e9, a javascript: gateway, control characters in a name", () => {
    for (const bad of [
      { ...base, capacity: 1e9 },
      { ...base, gateway: "javascript:alert(1)" },
      { ...base, models: [{ ...base.models[0], name: "\u001b[2Jx" }] },
      { ...base, models: [{ ...base.models[0], stageCount: 1e6 }] },
      { ...base, models: [null] },
    ]) {
      assert.throws(() => parseAnnouncement(JSON.stringify(bad)), { name: "DirectoryInvalidAnnouncementError" });
    }
  });
});

describe("fuzz: gateway tensor JSON and request bounds", () => {
  const rec = {
    model: {
      inputs: [{ name: "x", dtype: "float32", shape: ["b", 3, 48, "w"] }],
      profileInputs: { x: [1, 3, 48, 320] },
    },
  } as unknown as Manifest;
  const bounds = requestBounds(rec);
  it("parseJsonBag gives wire tensors or TensorJsonError; checkRequest then accepts or names the mistake", () => {
    const tensor = { dtype: "float32", dims: [1, 3, 48, 64], data: Buffer.alloc(4 * 3 * 48 * 64).toString("base64") };
    fc.assert(
      fc.property(
        fc.oneof(
          mutated({ x: tensor }),
          mutated(tensor).map((t) => ({ x: t })),
          fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 6 }),
        ),
        (raw) => {
          const bag = namedOnly(["TensorJsonError"], () => parseJsonBag(raw as never));
          if (!bag) return;
          namedOnly(["InputMismatchError", "InputOutOfBoundsError", "InputTooLargeError"], () => checkRequest(bounds, bag));
        },
      ),
      params,
    );
  });
});
