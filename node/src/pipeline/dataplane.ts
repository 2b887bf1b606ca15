// Pipeline data plane: a direct TCP socket per hop for the tensor frames, set up through the
// libp2p pipeline stream. The libp2p stream (noise-authenticated) carries a DATA_PLANE_REQUEST;
// the provider answers with a port, a one-time token and two fresh AES-128-GCM keys (one per
// direction). The caller connects, sends the token, and from then on the frame bytes travel as
// sealed records:
//   uint32 BE ciphertext length · ciphertext · 16-byte tag,   nonce = 4 zero bytes · uint64 BE counter
// A record holds one big part of a send (a tensor of >= 16 KiB) or the short parts around it
// (varint, header, small tensors) together; the frame reader reassembles frames from records.
// Why: noise seals every 64 KiB chunk separately with ChaCha20-Poly1305 and yamux/noise copy and
// dispatch per chunk. Sealing is the largest cost per byte here: AES-128-GCM (AES-NI, VAES) runs
// at ~7.4 GB/s against ~4.3 GB/s for ChaCha20-Poly1305 in `openssl speed` on this machine
// (bench/results/mesh.json, aeadMsPerMiB). A tensor's record is opened in one call into a fresh
// buffer that becomes the tensor itself (no copy after decryption), and on the caller's side the
// kernel reads a record's body straight into the record buffer (no 'data' chunks). Peer identity
// and key secrecy still come from noise: the token and keys are only ever sent inside it. Nonces
// are per-direction counters under per-hop keys, so none repeats; a dropped, reordered or altered
// record fails its tag.
// Lifetime: a channel closes after carrying nothing either way for its idle timeout (provider
// DATA_PLANE_IDLE_TIMEOUT_MS, caller DATA_PLANE_CALLER_IDLE_TIMEOUT_MS: constants.ts), and the
// provider closes it when the libp2p stream its offer was made on closes: a channel never
// outlives its control stream, so channels are bounded by connections × streams per peer.
import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { CipherGCM } from "node:crypto";
import { connect, createServer } from "node:net";
import type { OnReadOpts, Server, Socket } from "node:net";
import { Uint8ArrayList } from "uint8arraylist";
import { logger } from "@libp2p/logger";
import { DATA_PLANE_CALLER_IDLE_TIMEOUT_MS, DATA_PLANE_IDLE_TIMEOUT_MS, MAX_HEADER_BYTES, MAX_PAYLOAD_BYTES } from "./constants.ts";
import { PipelineFrameTooLargeError, PipelineIdleError, PipelineOfferLimitError, PipelineStreamClosedError } from "./errors.ts";

const log = logger("shardmesh:pipeline:dataplane");

export const DATA_PLANE_TOKEN_BYTES = 32;
export const DATA_PLANE_KEY_BYTES = 16;
/** How long an offered token stays valid. */
export const DATA_PLANE_TOKEN_TTL_MS = 10_000;
/**
 * Offers one peer may be made within DATA_PLANE_TOKEN_TTL_MS (used or not): a caller needs one
 * per hop stream it sets up, at most MAX_PIPELINE_STREAMS_PER_PEER (4) at once, so 16 lets it
 * set up all of them four times over within one TTL (10 s: 1.6 offers/s sustained). Beyond it
 * the request is refused (PipelineOfferLimitError) before any randomness is drawn; the caller
 * keeps its libp2p stream.
 */
export const MAX_DATA_PLANE_OFFERS_PER_PEER = 16;
/** How long a new socket may take to present its token. */
export const DATA_PLANE_HELLO_TIMEOUT_MS = 3_000;
/** Largest sealed record (one frame: header + payload + varint). */
export const DATA_PLANE_MAX_RECORD = MAX_PAYLOAD_BYTES + MAX_HEADER_BYTES + 16;
const TAG = 16;
const CIPHER = "aes-128-gcm";

function nonce(counter: bigint): Buffer {
  const n = Buffer.alloc(12);
  n.writeBigUInt64BE(counter, 4);
  return n;
}

/**
 * Bytes sealed per cipher call on the sending side. Each call returns a fresh buffer that is
 * written and dropped; buffers of this size are recycled by malloc, megabyte-sized ones would come
 * from (and go back to) the kernel with their page faults.
 */
const SEAL_SLICE = 64 * 1024;
/**
 * Parts of a send at least this long are sealed as records of their own; shorter ones are
 * coalesced into one record. A record is opened by one cipher call whose output is a fresh buffer
 * owning its memory, so a tensor that was a part of its own arrives as exactly one such buffer
 * and the frame reader takes it without copying (aligned, offset 0).
 */
export const DATA_PLANE_OWN_RECORD_BYTES = 16 * 1024;
/** Plaintext queued for sealing beyond which send() asks the caller to wait for onDrain. */
const SEND_HIGH_WATER = 4 * 1024 * 1024;
/** Ciphertext allowed to wait in the socket's user-space queue; sealing pauses beyond it. */
const WRITE_AHEAD_BYTES = 256 * 1024;
/** Reads that do not go straight into a record buffer land in a scratch buffer of this size. */
const READ_SCRATCH_BYTES = 64 * 1024;
/** The receive buffer a channel keeps between records; bigger ones are dropped after use. */
const KEEP_RECORD_BUFFER_BYTES = 4 * 1024 * 1024;

type Listener = (evt: { data?: Uint8ArrayList; error?: Error }) => void;

/**
 * One end of a sealed data-plane socket, shaped like the part of a libp2p Stream the pipeline
 * uses (send/onDrain/pause/resume/abort/close, 'message' and 'close' events), so the same frame
 * reader and server code run over either. The channel carries a byte stream: record boundaries
 * follow the sender's parts, not frames, and the frame reader reassembles frames from records.
 */
export class SealedChannel {
  readonly id: string;
  status: "open" | "closed" | "aborted" = "open";
  private readonly socket: Socket;
  private readonly sendKey: Buffer;
  private readonly recvKey: Buffer;
  private sendCounter = 0n;
  private recvCounter = 0n;
  // Receive state: 4 length bytes, then ciphertext and tag gathered into `record` (kept between
  // records), opened in one call once complete: nothing is released before its tag checked out.
  private readonly lenBytes = Buffer.alloc(4);
  private lenFill = 0;
  /** Ciphertext + tag length of the record being received; -1 while reading a length. */
  private recordLen = -1;
  private record = Buffer.alloc(0);
  private recordFill = 0;
  private readonly listeners = { message: [] as Listener[], close: [] as Listener[] };
  // Send state: records waiting to be sealed, the one being sealed, and who waits for room.
  private readonly queue: { parts: Uint8Array[]; length: number }[] = [];
  private queuedBytes = 0;
  private sealing: { cipher: CipherGCM; parts: Uint8Array[]; part: number; offset: number } | undefined;
  private readonly drainWaiters: { resolve(): void; reject(err: Error): void }[] = [];
  private closing = false;

  /** Where socket reads land when the socket was made with `readInto` (see connectDataPlane). */
  private scratch: Buffer | undefined;
  // Idle timeout: socket activity only stamps `lastActive`; the timer, when it fires, closes the
  // channel or re-arms for the time left (no timer churn per record).
  private readonly idleTimeoutMs: number;
  private lastActive = performance.now();
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(socket: Socket, sendKey: Buffer, recvKey: Buffer, id: string, idleTimeoutMs = DATA_PLANE_IDLE_TIMEOUT_MS) {
    this.socket = socket;
    this.sendKey = sendKey;
    this.recvKey = recvKey;
    this.id = id;
    this.idleTimeoutMs = idleTimeoutMs;
    this.armIdle(idleTimeoutMs);
    socket.setNoDelay(true);
    socket.on("data", (d: Buffer) => this.onData(d));
    socket.on("drain", () => this.pump());
    socket.on("error", (err) => this.finish(new PipelineStreamClosedError(`data-plane socket failed: ${err.message}`)));
    socket.on("close", () => this.finish(new PipelineStreamClosedError("data-plane socket closed")));
  }

  private armIdle(ms: number): void {
    this.idleTimer = setTimeout(() => {
      if (this.status !== "open") return;
      const left = this.lastActive + this.idleTimeoutMs - performance.now();
      if (left > 0) return this.armIdle(left);
      log("channel %s idle for %d ms: closing", this.id, this.idleTimeoutMs);
      this.abort(new PipelineIdleError(`data-plane channel carried nothing for ${this.idleTimeoutMs} ms`));
    }, ms);
    this.idleTimer.unref();
  }

  addEventListener(type: "message" | "close", listener: Listener): void {
    this.listeners[type].push(listener);
  }

  private emit(type: "message" | "close", evt: { data?: Uint8ArrayList; error?: Error }): void {
    for (const l of this.listeners[type]) l(evt);
  }

  private onData(d: Buffer): void {
    this.lastActive = performance.now();
    let off = 0;
    while (off < d.byteLength && this.status === "open") {
      if (this.recordLen < 0) {
        const take = Math.min(4 - this.lenFill, d.byteLength - off);
        d.copy(this.lenBytes, this.lenFill, off, off + take);
        this.lenFill += take;
        off += take;
        if (this.lenFill < 4) return;
        this.lenFill = 0;
        const len = this.lenBytes.readUInt32BE(0);
        if (len > DATA_PLANE_MAX_RECORD) {
          this.abort(new PipelineFrameTooLargeError(len, DATA_PLANE_MAX_RECORD));
          return;
        }
        this.recordLen = len + TAG;
        this.recordFill = 0;
        continue;
      }
      // A record that lies whole in this chunk is opened in place; otherwise it is gathered.
      if (this.recordFill === 0 && d.byteLength - off >= this.recordLen) {
        const end = off + this.recordLen;
        this.open(d.subarray(off, end));
        off = end;
        continue;
      }
      this.ensureRecordBuffer();
      const take = Math.min(this.recordLen - this.recordFill, d.byteLength - off);
      d.copy(this.record, this.recordFill, off, off + take);
      this.recordFill += take;
      off += take;
      if (this.recordFill < this.recordLen) return;
      this.openGathered();
    }
  }

  /**
   * Room for the whole current record. Whichever path gathers a record's first byte (a 'data'
   * chunk or readInto) sizes the buffer for all of it, so it never has to grow with bytes in it.
   */
  private ensureRecordBuffer(): void {
    if (this.record.byteLength < this.recordLen) this.record = Buffer.allocUnsafeSlow(this.recordLen);
  }

  /** Open the record gathered in the record buffer; a very large buffer is not kept. */
  private openGathered(): void {
    this.open(this.record.subarray(0, this.recordLen));
    if (this.record.byteLength > KEEP_RECORD_BUFFER_BYTES) this.record = Buffer.alloc(0);
  }

  /**
   * For a socket created with `onread: { buffer: () => channel.readInto(), callback: (n, b) =>
   * channel.onRead(n, b) }`: the kernel copies a record's body straight into the record buffer
   * (no 'data' chunk, no copy); lengths and small records go through a reused scratch buffer.
   */
  readInto(): Buffer {
    if (this.recordLen >= 0 && this.recordLen - this.recordFill >= DATA_PLANE_OWN_RECORD_BYTES) {
      this.ensureRecordBuffer();
      return this.record.subarray(this.recordFill, this.recordLen);
    }
    this.scratch ??= Buffer.allocUnsafeSlow(READ_SCRATCH_BYTES);
    return this.scratch;
  }

  onRead(n: number, buf: Uint8Array): boolean {
    if (this.status !== "open") return false;
    if (buf.buffer !== this.record.buffer) {
      this.onData((buf as Buffer).subarray(0, n));
      return true;
    }
    this.lastActive = performance.now();
    this.recordFill += n;
    if (this.recordFill === this.recordLen) this.openGathered();
    return true;
  }

  /** Authenticate and decrypt one whole record (ciphertext · tag), then hand it on. */
  private open(sealed: Buffer): void {
    this.recordLen = -1;
    const cipherLen = sealed.byteLength - TAG;
    const decipher = createDecipheriv(CIPHER, this.recvKey, nonce(this.recvCounter++), { authTagLength: TAG });
    decipher.setAuthTag(sealed.subarray(cipherLen));
    let plain: Buffer;
    try {
      plain = decipher.update(sealed.subarray(0, cipherLen));
      decipher.final();
    } catch {
      this.abort(new PipelineStreamClosedError("data-plane record failed authentication"));
      return;
    }
    this.emit("message", { data: new Uint8ArrayList(plain) });
  }

  /**
   * Queue `data` to be sealed and written; false when the queue is over SEND_HIGH_WATER (wait
   * for onDrain). Parts of at least DATA_PLANE_OWN_RECORD_BYTES become records of their own,
   * shorter runs of parts share one. Sealing happens only as the socket takes bytes (pump), so
   * ciphertext never piles up in user space: it is written moments after it is made and dies
   * young, instead of aging in a write queue into V8's old generation, whose collections such
   * piles of external memory would keep setting off.
   */
  send(data: Uint8Array | Uint8ArrayList): boolean {
    if (this.status !== "open" || this.closing) throw new PipelineStreamClosedError("data-plane channel is closed");
    const parts = data instanceof Uint8Array ? [data] : [...data];
    let small: Uint8Array[] = [];
    let smallBytes = 0;
    for (const p of parts) {
      if (p.byteLength < DATA_PLANE_OWN_RECORD_BYTES) {
        small.push(p);
        smallBytes += p.byteLength;
        continue;
      }
      if (small.length) this.enqueue(small, smallBytes);
      small = [];
      smallBytes = 0;
      this.enqueue([p], p.byteLength);
    }
    if (small.length || parts.length === 0) this.enqueue(small, smallBytes);
    this.pump();
    return this.queuedBytes < SEND_HIGH_WATER;
  }

  private enqueue(parts: Uint8Array[], length: number): void {
    this.queue.push({ parts, length });
    this.queuedBytes += length;
  }

  /** Seal and write queued records while the socket's own queue is short. */
  private pump(): void {
    if (this.status !== "open") return;
    this.lastActive = performance.now();
    this.socket.cork();
    while (this.socket.writableLength < WRITE_AHEAD_BYTES) {
      if (!this.sealing) {
        const record = this.queue.shift();
        if (!record) break;
        const head = Buffer.allocUnsafe(4);
        head.writeUInt32BE(record.length);
        this.socket.write(head);
        const cipher = createCipheriv(CIPHER, this.sendKey, nonce(this.sendCounter++), { authTagLength: TAG });
        this.sealing = { cipher, parts: record.parts, part: 0, offset: 0 };
      }
      const s = this.sealing;
      if (s.part === s.parts.length) {
        s.cipher.final();
        this.socket.write(s.cipher.getAuthTag());
        this.sealing = undefined;
        continue;
      }
      const p = s.parts[s.part];
      const end = Math.min(s.offset + SEAL_SLICE, p.byteLength);
      if (end > s.offset) this.socket.write(s.cipher.update(p.subarray(s.offset, end)));
      this.queuedBytes -= end - s.offset;
      s.offset = end;
      if (end === p.byteLength) {
        s.part++;
        s.offset = 0;
      }
    }
    this.socket.uncork();
    const idle = !this.sealing && this.queue.length === 0;
    if (this.queuedBytes < SEND_HIGH_WATER) for (const w of this.drainWaiters.splice(0)) w.resolve();
    if (idle && this.closing) this.socket.end();
  }

  onDrain(options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.status !== "open") return Promise.reject(new PipelineStreamClosedError("data-plane channel is closed"));
    if (this.queuedBytes < SEND_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: (): void => {
          options.signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject: (err: Error): void => {
          options.signal?.removeEventListener("abort", onAbort);
          reject(err);
        },
      };
      const onAbort = (): void => {
        this.drainWaiters.splice(this.drainWaiters.indexOf(waiter), 1);
        reject(options.signal?.reason as Error);
      };
      this.drainWaiters.push(waiter);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  abort(err: Error): void {
    this.socket.destroy();
    this.finish(err, "aborted");
  }

  /** Flush what is queued, then end the socket. */
  async close(): Promise<void> {
    if (this.status !== "open" || this.closing) return;
    this.closing = true;
    if (!this.sealing && this.queue.length === 0) this.socket.end();
    await new Promise<void>((resolve) => this.socket.once("close", () => resolve()));
  }

  private finish(err: Error | undefined, status: "closed" | "aborted" = err ? "aborted" : "closed"): void {
    if (this.status !== "open") return;
    this.status = status;
    clearTimeout(this.idleTimer);
    this.queue.length = 0;
    this.sealing = undefined;
    this.socket.destroy();
    const closed = err ?? new PipelineStreamClosedError("data-plane channel closed");
    for (const w of this.drainWaiters.splice(0)) w.reject(closed);
    this.emit("close", { error: err });
  }
}

/**
 * The libp2p stream an offer was asked for on (the part of a Stream this file needs). It ends for
 * the data plane when it closes or when the caller closes its writable end (the caller sends
 * nothing more on it: the hop is over; a half-closed stream would otherwise stay open here).
 */
export interface ControlStream {
  readonly status: string;
  readonly remoteWriteStatus?: string;
  addEventListener(type: "close" | "remoteCloseWrite", listener: () => void, options?: { once?: boolean }): void;
}

function ended(control: ControlStream): boolean {
  return control.status !== "open" || (control.remoteWriteStatus !== undefined && control.remoteWriteStatus !== "writable");
}

interface Offer {
  peerId: string;
  /** The channel's two keys; undefined once a socket presented the token (an offer opens one). */
  key: Buffer | undefined;
  expires: number;
  control: ControlStream | undefined;
}

export interface DataPlaneServerInit {
  /** TCP port to listen on (default 0: any free port; an operator may forward a fixed one). */
  port?: number;
  /** Close a channel that carried nothing for this long (default DATA_PLANE_IDLE_TIMEOUT_MS). */
  idleTimeoutMs?: number;
}

/** Provider side: the listening socket and the tokens it has offered. */
export class DataPlaneServer {
  private server: Server | undefined;
  /** Offers made within the last DATA_PLANE_TOKEN_TTL_MS, used or not, oldest first. */
  private readonly offers = new Map<string, Offer>();
  /** Each peer's offer tokens within the TTL, oldest first (at most MAX_DATA_PLANE_OFFERS_PER_PEER). */
  private readonly perPeer = new Map<string, string[]>();
  /** The port listened on, once started (read once: server.address() per offer was a cost). */
  private boundPort = 0;
  private readonly sockets = new Set<Socket>();
  private readonly onChannel: (channel: SealedChannel, peerId: string) => void;
  private readonly host: string;
  /** What start() listens on (0: any free port). */
  private readonly listenPort: number;
  private readonly idleTimeoutMs: number;
  /** Open channels by the control stream their offer was made on (one close listener each). */
  private readonly byControl = new WeakMap<ControlStream, Set<SealedChannel>>();

  constructor(host: string, onChannel: (channel: SealedChannel, peerId: string) => void, init: DataPlaneServerInit = {}) {
    this.host = host;
    this.onChannel = onChannel;
    this.idleTimeoutMs = init.idleTimeoutMs ?? DATA_PLANE_IDLE_TIMEOUT_MS;
    this.listenPort = init.port ?? 0;
  }

  async start(): Promise<void> {
    this.server = createServer({ noDelay: true }, (socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.listenPort, this.host, () => resolve());
    });
    this.boundPort = (this.server.address() as { port: number }).port;
  }

  get port(): number {
    return this.boundPort;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    const closed = new Promise<void>((resolve) => s.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    await closed;
  }

  /**
   * Mint a one-time token and keys for `peerId`, sent to it over `control`, the libp2p stream it
   * asked on: the channel the token opens is closed when that stream ends (a token presented
   * after it ended opens nothing). PipelineOfferLimitError when the peer was made
   * MAX_DATA_PLANE_OFFERS_PER_PEER offers within the TTL already (checked before any work).
   */
  offer(peerId: string, control?: ControlStream): { token: Uint8Array<ArrayBuffer>; key: Uint8Array<ArrayBuffer>; port: number } {
    const now = Date.now();
    // Offers expire in the order they were made (one TTL): drop from the oldest while expired,
    // so each offer costs O(1) however many a peer asks for (a full scan per offer was quadratic).
    for (const [t, o] of this.offers) {
      if (o.expires >= now) break;
      this.drop(t, o);
    }
    // Bounded per peer and per TTL: a used offer still counts until it expires, so a peer cannot
    // mint offers faster by using them, nor evict another peer's.
    const mine = this.perPeer.get(peerId) ?? [];
    if (mine.length >= MAX_DATA_PLANE_OFFERS_PER_PEER)
      throw new PipelineOfferLimitError(
        `${mine.length} data-plane offers made to this peer within ${DATA_PLANE_TOKEN_TTL_MS} ms (limit ${MAX_DATA_PLANE_OFFERS_PER_PEER})`,
      );
    // One draw for the token and both keys, each copied into its own buffer below.
    const secret = randomBytes(DATA_PLANE_TOKEN_BYTES + 2 * DATA_PLANE_KEY_BYTES);
    const token = new Uint8Array(DATA_PLANE_TOKEN_BYTES);
    token.set(secret.subarray(0, DATA_PLANE_TOKEN_BYTES));
    const key = Buffer.from(secret.subarray(DATA_PLANE_TOKEN_BYTES));
    secret.fill(0);
    const hex = Buffer.from(token.buffer).toString("hex");
    this.offers.set(hex, { peerId, key, expires: now + DATA_PLANE_TOKEN_TTL_MS, control });
    mine.push(hex);
    this.perPeer.set(peerId, mine);
    return { token, key: Uint8Array.from(key), port: this.boundPort };
  }

  /**
   * Take a socket this node opened itself (a hole punch: TCP simultaneous open) as if the caller
   * had connected: it must present an offered token like any other.
   */
  adopt(socket: Socket): void {
    this.accept(socket);
  }

  /** Offers made within the last DATA_PLANE_TOKEN_TTL_MS (all peers, used or not). */
  get offerCount(): number {
    return this.offers.size;
  }

  private drop(token: string, o: Offer): void {
    this.offers.delete(token);
    const mine = this.perPeer.get(o.peerId);
    if (!mine) return;
    const i = mine.indexOf(token);
    if (i >= 0) mine.splice(i, 1);
    if (mine.length === 0) this.perPeer.delete(o.peerId);
  }

  /** Close `channel` when `control` closes. */
  private tie(channel: SealedChannel, control: ControlStream): void {
    let channels = this.byControl.get(control);
    if (!channels) {
      const set = new Set<SealedChannel>();
      channels = set;
      this.byControl.set(control, set);
      const end = (): void => {
        for (const c of set) c.abort(new PipelineStreamClosedError("the data plane's control stream ended"));
        set.clear();
      };
      control.addEventListener("close", end, { once: true });
      control.addEventListener("remoteCloseWrite", end, { once: true });
    }
    channels.add(channel);
    channel.addEventListener("close", () => channels.delete(channel));
  }

  private accept(socket: Socket): void {
    this.sockets.add(socket);
    socket.once("close", () => this.sockets.delete(socket));
    let got = Buffer.alloc(0);
    const timer = setTimeout(() => socket.destroy(), DATA_PLANE_HELLO_TIMEOUT_MS);
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      if (got.byteLength < DATA_PLANE_TOKEN_BYTES) return;
      socket.off("data", onData);
      clearTimeout(timer);
      const token = got.subarray(0, DATA_PLANE_TOKEN_BYTES).toString("hex");
      const offer = this.offers.get(token);
      const key = offer?.key;
      // A used offer stays listed until it expires (it counts against its peer's limit) but
      // opens nothing again.
      if (offer) offer.key = undefined;
      if (!offer || !key || offer.expires < Date.now()) {
        log("data-plane socket with an unknown, used or expired token");
        socket.destroy();
        return;
      }
      if (offer.control && ended(offer.control)) {
        log("data-plane socket for an offer whose control stream closed");
        socket.destroy();
        return;
      }
      socket.pause();
      const channel = new SealedChannel(
        socket,
        key.subarray(DATA_PLANE_KEY_BYTES),
        key.subarray(0, DATA_PLANE_KEY_BYTES),
        `dp-${token.slice(0, 8)}`,
        this.idleTimeoutMs,
      );
      if (offer.control) this.tie(channel, offer.control);
      this.onChannel(channel, offer.peerId);
      socket.resume();
      const rest = got.subarray(DATA_PLANE_TOKEN_BYTES);
      if (rest.byteLength) socket.emit("data", rest);
    };
    socket.on("data", onData);
    socket.on("error", () => socket.destroy());
  }
}

/** How long a caller waits for a direct data-plane connection (a dropped SYN is retried only after 1 s). */
export const DATA_PLANE_CONNECT_TIMEOUT_MS = 2_000;

/**
 * Caller side of one data-plane socket: `onread` makes the kernel read record bodies straight
 * into the channel's buffers (give it to net.connect), `open` presents the token on the connected
 * socket and wraps it in a channel.
 */
export function callerSocket(idleTimeoutMs = DATA_PLANE_CALLER_IDLE_TIMEOUT_MS): {
  onread: OnReadOpts;
  open(socket: Socket, token: Uint8Array, key: Uint8Array): SealedChannel;
} {
  let channel: SealedChannel | undefined;
  return {
    onread: {
      buffer: () => channel?.readInto() ?? Buffer.allocUnsafeSlow(READ_SCRATCH_BYTES),
      callback: (n: number, buf: Uint8Array) => channel?.onRead(n, buf) ?? false,
    },
    open(socket, token, key) {
      socket.write(token);
      const k = Buffer.from(key);
      channel = new SealedChannel(
        socket,
        k.subarray(0, DATA_PLANE_KEY_BYTES),
        k.subarray(DATA_PLANE_KEY_BYTES),
        `dp-${Buffer.from(token).toString("hex").slice(0, 8)}`,
        idleTimeoutMs,
      );
      return channel;
    },
  };
}

/** Caller side: connect to an offer and present the token. */
export function connectDataPlane(
  host: string,
  port: number,
  token: Uint8Array,
  key: Uint8Array,
  options: { signal?: AbortSignal; timeoutMs?: number; idleTimeoutMs?: number } = {},
): Promise<SealedChannel> {
  return new Promise((resolve, reject) => {
    const caller = callerSocket(options.idleTimeoutMs);
    const socket = connect({ host, port, noDelay: true, onread: caller.onread });
    const fail = (err: Error): void => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      socket.destroy();
      reject(err);
    };
    const onAbort = (): void => fail(options.signal?.reason as Error);
    const timer = setTimeout(
      () =>
        fail(
          new PipelineStreamClosedError(
            `data plane ${host}:${port} did not connect in ${options.timeoutMs ?? DATA_PLANE_CONNECT_TIMEOUT_MS} ms`,
          ),
        ),
      options.timeoutMs ?? DATA_PLANE_CONNECT_TIMEOUT_MS,
    );
    options.signal?.addEventListener("abort", onAbort, { once: true });
    socket.once("error", fail);
    socket.once("connect", () => {
      clearTimeout(timer);
      options.signal?.removeEventListener("abort", onAbort);
      socket.off("error", fail);
      resolve(caller.open(socket, token, key));
    });
  });
}
