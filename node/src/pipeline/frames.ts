// Pipeline framing: varint(headerLength) · Frame header (protobuf) · raw payload.
// The payload (the bag's tensor bytes, in header order) is written as-is after the header, so
// big activations are neither copied into a protobuf buffer on send nor parsed out of one on
// receipt. The reader is push-driven from the stream's 'message' events and pauses the stream
// when too much is buffered (backpressure reaches the sender through yamux's window).
import { Uint8ArrayList } from "uint8arraylist";
import type { Stream } from "@libp2p/interface";
import { Frame } from "../pb/pipeline.js";
import type { TensorMeta } from "../pb/pipeline.js";
import { MAX_HEADER_BYTES, MAX_PAYLOAD_BYTES, MAX_TENSORS_PER_FRAME, STREAM_READ_BUFFER_BYTES } from "./constants.ts";
import { PipelineFrameTooLargeError, PipelineMalformedFrameError, PipelineTooManyTensorsError } from "./errors.ts";
import type { WireBag } from "../tensor/index.ts";
import { SealedChannel } from "./dataplane.ts";

/** What pipeline frames travel over: a libp2p stream or a sealed data-plane socket. */
export type FrameStream = Stream | SealedChannel;

export function onMessage(stream: FrameStream, fn: (data: Uint8Array | Uint8ArrayList) => void): void {
  if (stream instanceof SealedChannel) stream.addEventListener("message", (evt) => fn(evt.data!));
  else stream.addEventListener("message", (evt) => fn(evt.data));
}

export function onClose(stream: FrameStream, fn: (error?: Error) => void): void {
  if (stream instanceof SealedChannel) stream.addEventListener("close", (evt) => fn(evt.error));
  else stream.addEventListener("close", (evt) => fn(evt.error));
}

export { Frame };
export type FrameHeader = Partial<Frame>;

export function encodeVarint(n: number): Uint8Array {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Uint8Array.from(out);
}

/** The byte parts of one frame, ready to send (no payload copy). */
export function encodeFrame(header: FrameHeader, bag?: WireBag, order?: string[]): Uint8Array[] {
  const parts: Uint8Array[] = [];
  const tensors: TensorMeta[] = [];
  let payloadLength = 0;
  if (bag) {
    for (const name of order ?? Object.keys(bag)) {
      const t = bag[name];
      tensors.push({ name, dtype: t.dtype, dims: t.dims, byteLength: t.data.byteLength });
      parts.push(t.data);
      payloadLength += t.data.byteLength;
    }
  }
  // A frame the peer's reader would refuse is refused here, before a byte is written: a reader
  // that meets one resets the whole stream (every other request on it fails), so one caller's
  // oversized bag must fail alone, by name.
  if (tensors.length > MAX_TENSORS_PER_FRAME)
    throw new PipelineTooManyTensorsError(`${tensors.length} tensors in one frame (limit ${MAX_TENSORS_PER_FRAME})`);
  if (payloadLength > MAX_PAYLOAD_BYTES) throw new PipelineFrameTooLargeError(payloadLength, MAX_PAYLOAD_BYTES);
  const head = Frame.encode({ ...header, tensors, payloadLength });
  if (head.byteLength > MAX_HEADER_BYTES) throw new PipelineFrameTooLargeError(head.byteLength, MAX_HEADER_BYTES);
  return [encodeVarint(head.byteLength), head, ...parts];
}

/** Send a frame's parts, waiting for the stream to drain when its send buffer is full. */
export async function writeFrame(stream: FrameStream, parts: Uint8Array[], options: { signal?: AbortSignal } = {}): Promise<void> {
  const list = new Uint8ArrayList(...parts);
  if (!stream.send(list)) await stream.onDrain(options);
}

export interface DecodedFrame {
  header: Frame;
  bag: WireBag;
}

/**
 * Incremental frame parser bound to one stream. Calls `onFrame` per complete frame and
 * `onError` once on a protocol violation (after which it stops reading).
 */
export class FrameReader {
  private readonly buffer = new Uint8ArrayList();
  private header: Frame | undefined;
  private failed = false;
  private readonly stream: FrameStream;
  private readonly onFrame: (frame: DecodedFrame) => void;
  private readonly onError: (err: Error) => void;
  private readonly maxPayload: number;

  constructor(
    stream: FrameStream,
    handlers: { onFrame: (frame: DecodedFrame) => void; onError: (err: Error) => void },
    limits: { maxPayload?: number } = {},
  ) {
    this.stream = stream;
    this.onFrame = handlers.onFrame;
    this.onError = handlers.onError;
    this.maxPayload = limits.maxPayload ?? MAX_PAYLOAD_BYTES;
    onMessage(stream, (data) => this.push(data));
  }

  /**
   * Stop turning bytes into frames, at once: frames already received but not yet handed on (a
   * chunk may hold thousands) are dropped, and whatever arrives later is ignored.
   */
  stop(): void {
    this.failed = true;
    this.header = undefined;
    this.buffer.consume(this.buffer.byteLength);
  }

  /** Bytes received but not yet turned into frames. */
  get buffered(): number {
    return this.buffer.byteLength;
  }

  private push(data: Uint8Array | Uint8ArrayList): void {
    if (this.failed) return;
    this.buffer.append(data);
    try {
      this.drain();
    } catch (err) {
      this.failed = true;
      this.onError(err as Error);
      return;
    }
    if (this.buffer.byteLength > STREAM_READ_BUFFER_BYTES) this.stream.pause();
  }

  private drain(): void {
    while (!this.failed) {
      if (!this.header) {
        const varint = this.readVarint();
        if (!varint) return;
        const [len, used] = varint;
        if (len > MAX_HEADER_BYTES) throw new PipelineFrameTooLargeError(len, MAX_HEADER_BYTES);
        if (this.buffer.byteLength < used + len) return;
        this.buffer.consume(used);
        let header: Frame;
        try {
          header = Frame.decode(this.buffer.sublist(0, len), { limits: { tensors: MAX_TENSORS_PER_FRAME } });
        } catch (err) {
          throw new PipelineMalformedFrameError(`bad frame header: ${(err as Error).message}`);
        }
        this.buffer.consume(len);
        if (header.payloadLength > this.maxPayload) throw new PipelineFrameTooLargeError(header.payloadLength, this.maxPayload);
        let sum = 0;
        for (const t of header.tensors) {
          sum += t.byteLength;
          if (t.dims.length > 8) throw new PipelineMalformedFrameError(`tensor ${t.name} has rank ${t.dims.length}`);
        }
        if (sum !== header.payloadLength) {
          throw new PipelineMalformedFrameError(`tensor lengths sum to ${sum}, payloadLength is ${header.payloadLength}`);
        }
        this.header = header;
      }
      const header = this.header;
      if (this.buffer.byteLength < header.payloadLength) return;
      // Each tensor in its own aligned buffer (Float32Array/onnxruntime need alignment): a chunk
      // that is exactly the tensor and owns its memory (the sealed data plane delivers big
      // tensors so) is taken as is; anything else is copied once.
      const bag: WireBag = {};
      for (const t of header.tensors) {
        const first: Uint8Array | undefined = this.buffer[Symbol.iterator]().next().value;
        let data: Uint8Array;
        if (
          first !== undefined &&
          t.byteLength > 0 &&
          first.byteLength === t.byteLength &&
          first.byteOffset === 0 &&
          first.buffer.byteLength === t.byteLength
        ) {
          data = first;
        } else {
          // Uninitialised (every byte is overwritten next), in its own ArrayBuffer: offset 0.
          data = new Uint8Array(Buffer.allocUnsafeSlow(t.byteLength).buffer, 0, t.byteLength);
          copyInto(this.buffer, 0, data);
        }
        this.buffer.consume(t.byteLength);
        bag[t.name] = { dtype: t.dtype, dims: t.dims, data };
      }
      this.header = undefined;
      this.onFrame({ header, bag });
    }
  }

  private readVarint(): [number, number] | undefined {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < Math.min(this.buffer.byteLength, 5); i++) {
      const b = this.buffer.get(i);
      value += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return [value, i + 1];
      mul *= 128;
    }
    if (this.buffer.byteLength >= 5) throw new PipelineMalformedFrameError("header length varint longer than 5 bytes");
    return undefined;
  }

  /** Let the stream deliver again after the consumer caught up. */
  resume(): void {
    // A stream that closed meanwhile (the caller went away mid-request) has nothing to resume:
    // libp2p throws StreamStateError, which in a request's completion took the provider down.
    if (this.stream.status !== "open") return;
    if (this.buffer.byteLength <= STREAM_READ_BUFFER_BYTES) this.stream.resume();
  }
}

function copyInto(list: Uint8ArrayList, start: number, dest: Uint8Array): void {
  let skip = start;
  let written = 0;
  for (const chunk of list) {
    if (written === dest.byteLength) return;
    if (skip >= chunk.byteLength) {
      skip -= chunk.byteLength;
      continue;
    }
    const take = Math.min(chunk.byteLength - skip, dest.byteLength - written);
    dest.set(chunk.subarray(skip, skip + take), written);
    written += take;
    skip = 0;
  }
}
