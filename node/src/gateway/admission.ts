// What the gateway checks before a request reaches any hop (docs/PROTOCOL.md, "Abuse limits"):
// the body's size and JSON shape (bounded before JSON.parse runs on the event loop), unpaid
// requests per client (token buckets), and the input against the model's request bounds
// (inference/bounds.ts). A request refused here is the buyer's named 4xx and costs no provider
// anything. Paid requests are admitted by the job path (session-key signature, job counters) in
// the same place, see Gateway.infer.
import { GatewayBadRequestError, GatewayBodyTooLargeError, GatewayRateLimitedError } from "./errors.ts";
import { DTYPE_CODE, TensorNotFiniteError, type WireBag } from "../tensor/index.ts";

/** Gateway limits; every one is a named default in GATEWAY_LIMITS. */
export interface GatewayLimits {
  /** Unpaid (`/v1/infer` without a job, `/v1/prepare`) requests per second per client, sustained. */
  unpaidPerSecond: number;
  /** Unpaid requests a client may send in a row after being idle (bucket size); at most ⌈unpaidPerSecond⌉ run at once. */
  unpaidBurst: number;
  /**
   * Refused requests (a 4xx other than 429: bad body, bad input, bad signature, unknown job) a
   * client may cause per second, sustained, and in a row after a quiet spell. Past them its POSTs
   * are refused 429 before their bodies are read: each refusal cost the gateway a body read, a
   * parse and perhaps an image decode and a signature check, and took no unpaid token.
   */
  refusedPerSecond: number;
  refusedBurst: number;
  /** How long a 429 is held before it is sent (bounds a flooding client's request rate). */
  rateLimitedDelayMs: number;
  /** Clients whose buckets are kept (least recently seen dropped first: a full bucket is the default). */
  maxClients: number;
  /** Open connections in total, and per client address. */
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** Time to receive a request's headers, and the whole request (body included). */
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  /** An idle keep-alive connection is closed after this long. */
  keepAliveTimeoutMs: number;
  /** Smallest body limit; the limit grows with the largest request a served model allows (maxBodyFor). */
  minBodyBytes: number;
  /** JSON structure of a body: tokens (`{ [ : ,`) and nesting depth. A tensor request needs a few dozen. */
  maxJsonTokens: number;
  maxJsonDepth: number;
}

export const GATEWAY_LIMITS: Readonly<GatewayLimits> = {
  // A person trying a model in a browser; a stage run costs a provider ~50-100 ms of a core.
  unpaidPerSecond: 2,
  unpaidBurst: 10,
  // An honest client is refused now and then (a typo, an expired quote); a flood of refused
  // requests costs the gateway the same as unpaid ones, so it gets about half the unpaid share.
  refusedPerSecond: 1,
  refusedBurst: 20,
  // 32 connections / 0.5 s: at most 64 refusals a second for a client that ignores Retry-After.
  rateLimitedDelayMs: 500,
  maxClients: 10_000,
  maxConnections: 512,
  maxConnectionsPerClient: 32,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  // A recogniser image at its pixel cap as a PNG (≤ 4 bytes/pixel + overhead) in base64.
  minBodyBytes: 8 * 1024 * 1024,
  maxJsonTokens: 4_096,
  maxJsonDepth: 32,
};

/**
 * Body limit for the largest request any served model allows:
 *   max(minBodyBytes, ceil(maxRequestBytes × 4/3) + 64 KiB)
 * (base64 grows data by 4/3; 64 KiB covers names, dims and the rest of the JSON).
 */
export function maxBodyFor(maxRequestBytes: number, limits: Pick<GatewayLimits, "minBodyBytes"> = GATEWAY_LIMITS): number {
  return Math.max(limits.minBodyBytes, Math.ceil((maxRequestBytes * 4) / 3) + 64 * 1024);
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Checks a JSON body's structure in one pass without building anything: at most `maxTokens`
 * structural tokens and `maxDepth` nesting, so JSON.parse afterwards takes time proportional to
 * the bytes alone (a 25 MB body of 2,000,000 keys stalled the event loop 9.3 s; 1,000,000 nested
 * arrays overflow the parser's stack). Strings are skipped with indexOf. Invalid JSON is left for
 * JSON.parse to name.
 */
export function checkJsonShape(body: Uint8Array, limits: Pick<GatewayLimits, "maxJsonTokens" | "maxJsonDepth"> = GATEWAY_LIMITS): void {
  const buf = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  let tokens = 0;
  let depth = 0;
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i];
    if (c === QUOTE) {
      // Skip the string: the next quote not escaped by an odd run of backslashes.
      for (;;) {
        const j = buf.indexOf(QUOTE, i + 1);
        if (j < 0) return; // unterminated: JSON.parse names it
        let k = j - 1;
        while (buf[k] === BACKSLASH) k--;
        i = j;
        if ((j - 1 - k) % 2 === 0) break;
      }
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      // { [
      if (++depth > limits.maxJsonDepth) throw new GatewayBadRequestError(`JSON nested deeper than ${limits.maxJsonDepth} levels`);
    } else if (c === 0x7d || c === 0x5d) depth--;
    else if (c !== 0x3a && c !== 0x2c) continue; // : ,
    if (++tokens > limits.maxJsonTokens) throw new GatewayBadRequestError(`JSON body with more than ${limits.maxJsonTokens} members`);
  }
}

/** Reads a request body up to `maxBytes` (GatewayBodyTooLargeError past it) and checks its JSON shape. */
export async function readJsonBody(
  req: AsyncIterable<unknown>,
  maxBytes: number,
  limits: GatewayLimits = GATEWAY_LIMITS,
): Promise<unknown> {
  const chunks: Buffer[] = [];
  let n = 0;
  for await (const c of req) {
    n += (c as Buffer).byteLength;
    if (n > maxBytes) throw new GatewayBodyTooLargeError(`request body over ${maxBytes} bytes`);
    chunks.push(c as Buffer);
  }
  const body = Buffer.concat(chunks);
  checkJsonShape(body, limits);
  return JSON.parse(body.toString("utf8")); // SyntaxError (400) names a body that is not JSON
}

/**
 * Token buckets per client: `perSecond` sustained, `burst` at once. State is bounded: at most
 * `maxClients` buckets, the least recently seen dropped first (a dropped client starts full,
 * which is also what a new client gets, so dropping never punishes anyone).
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly maxClients: number;
  /** Unpaid requests running per client (entries at 0 are dropped: at most one per open request). */
  private readonly running = new Map<string, number>();
  /**
   * Unpaid requests a client may have running at once: max(1, ⌈perSecond⌉), one second of its
   * share. The share is a rate: a burst of tokens spent all at once would otherwise put `burst`
   * requests on the providers at one moment, ahead of every other client's. An interactive
   * client has one request running at a time.
   */
  readonly maxRunning: number;

  /** What the bucket counts and what to do instead, for the 429's message. */
  private readonly what: string;
  private readonly instead: string;

  constructor(o: { perSecond: number; burst: number; maxClients: number; what?: string; instead?: string }) {
    this.what = o.what ?? "unpaid requests";
    this.instead = o.instead ?? "or send requests under a job (x-shardmesh-job)";
    this.perSecond = o.perSecond;
    this.burst = Math.max(1, o.burst);
    this.maxClients = Math.max(1, o.maxClients);
    this.maxRunning = Math.max(1, Math.ceil(o.perSecond));
  }

  /**
   * GatewayRateLimitedError if `client` has no token left, taking none: lets the gateway refuse a
   * request over the share before reading its body (a flood of 429s then costs no parsing).
   */
  check(client: string, now = Date.now()): void {
    this.checkRunning(client);
    const b = this.buckets.get(client);
    if (!b) return;
    const tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    if (tokens < 1) throw this.refusal(tokens);
  }

  private checkRunning(client: string): void {
    const n = this.running.get(client) ?? 0;
    if (n >= this.maxRunning)
      throw new GatewayRateLimitedError(
        `${n} unpaid requests from this client are running (at most ${this.maxRunning} at once): retry when one has answered or send requests under a job (x-shardmesh-job)`,
        1,
      );
  }

  /**
   * Counts a request of `client` as running until the returned release is called (once, in a
   * finally); GatewayRateLimitedError when maxRunning already run. Call it before take(), so a
   * request refused here spends no token.
   */
  enter(client: string): () => void {
    this.checkRunning(client);
    this.running.set(client, (this.running.get(client) ?? 0) + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const n = (this.running.get(client) ?? 1) - 1;
      if (n > 0) this.running.set(client, n);
      else this.running.delete(client);
    };
  }

  private refusal(tokens: number): GatewayRateLimitedError {
    const wait = this.perSecond > 0 ? Math.ceil((1 - tokens) / this.perSecond) : 60;
    return new GatewayRateLimitedError(
      `over ${this.perSecond} ${this.what} per second (burst ${this.burst}) from this client: retry in ${wait} s ${this.instead}`,
      wait,
    );
  }

  /** Takes one token for `client`; GatewayRateLimitedError (with the seconds to wait) when none is left. */
  take(client: string, now = Date.now()): void {
    const b = this.buckets.get(client) ?? { tokens: this.burst, at: now };
    this.buckets.delete(client); // re-inserted last: Map order is least recently seen first
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    if (b.tokens < 1) {
      this.buckets.set(client, b);
      throw this.refusal(b.tokens);
    }
    b.tokens -= 1;
    this.buckets.set(client, b);
    while (this.buckets.size > this.maxClients) this.buckets.delete(this.buckets.keys().next().value as string);
  }

  /** Takes a token for `client` if one is left (never throws): counts something already done. */
  charge(client: string, now = Date.now()): void {
    try {
      this.take(client, now);
    } catch {
      // already empty: check() refuses the client's next request
    }
  }

  get clients(): number {
    return this.buckets.size;
  }
}

/** TensorNotFiniteError if a float tensor of the bag holds NaN or ±Infinity (the stages refuse them too). */
export function checkFinite(bag: WireBag): void {
  for (const [name, t] of Object.entries(bag)) {
    const width = t.dtype === DTYPE_CODE.float32 ? 4 : t.dtype === DTYPE_CODE.float64 ? 8 : 0;
    if (width === 0 || t.data.byteLength % width !== 0) continue;
    const aligned = t.data.byteOffset % width === 0 ? t.data : t.data.slice();
    const v =
      width === 4
        ? new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4)
        : new Float64Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 8);
    for (let i = 0; i < v.length; i++)
      if (!Number.isFinite(v[i])) throw new TensorNotFiniteError(`tensor ${name}: element ${i} is ${v[i]}`);
  }
}
