// One JSON request, one JSON answer per stream, length-prefixed (@libp2p/utils lpStream) and
// bounded by MAX_JOBS_MESSAGE_BYTES. bigint values travel as decimal strings. An error answer is
// `{ error: { name, message } }` and is raised on the caller as JobsRemoteError.
import { logger } from "@libp2p/logger";
import { lpStream } from "@libp2p/utils";
import { peerIdFromString } from "@libp2p/peer-id";
import type { Connection, Stream } from "@libp2p/interface";
import type { MeshNode } from "../mesh/node.ts";
import { openPeerStream } from "../nat/dial.ts";
import { JOBS_RPC_TIMEOUT_MS, MAX_JOBS_INBOUND_STREAMS, MAX_JOBS_MESSAGE_BYTES } from "./constants.ts";
import { JobsProtocolError, JobsRemoteError } from "./errors.ts";

const log = logger("shardmesh:jobs:wire");
const enc = new TextEncoder();
const dec = new TextDecoder();

export function encodeJson(value: unknown): Uint8Array {
  const bytes = enc.encode(JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
  if (bytes.byteLength > MAX_JOBS_MESSAGE_BYTES)
    throw new JobsProtocolError(`message of ${bytes.byteLength} bytes over the limit of ${MAX_JOBS_MESSAGE_BYTES}`);
  return bytes;
}

function decodeJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(dec.decode(bytes)) as unknown;
  } catch (err) {
    throw new JobsProtocolError(`malformed JSON message: ${(err as Error).message}`);
  }
}

/**
 * A non-negative integer from a peer's JSON (decimal string or safe integer; a bigint when the
 * answer came from this node itself) as a bigint; JobsProtocolError otherwise.
 */
export function wireUint(v: unknown, what: string, max: bigint = 2n ** 256n - 1n): bigint {
  const ok =
    typeof v === "bigint" ||
    (typeof v === "string" && /^\d{1,78}$/.test(v)) ||
    (typeof v === "number" && Number.isSafeInteger(v) && v >= 0);
  const n = ok ? BigInt(v as string | number | bigint) : -1n;
  if (n < 0n || n > max) throw new JobsProtocolError(`${what} must be an integer in 0..${max}`);
  return n;
}

/** A hex string of `bytes` bytes (any length when omitted) from a peer's JSON; JobsProtocolError otherwise. */
export function wireHex(v: unknown, what: string, bytes?: number): `0x${string}` {
  const re = bytes === undefined ? /^0x(?:[0-9a-fA-F]{2}){0,4096}$/ : new RegExp(`^0x[0-9a-fA-F]{${2 * bytes}}$`);
  if (typeof v !== "string" || !re.test(v))
    throw new JobsProtocolError(`${what} must be ${bytes === undefined ? "hex bytes" : `${bytes} hex bytes`}`);
  return v as `0x${string}`;
}

const lpOptions = { maxDataLength: MAX_JOBS_MESSAGE_BYTES, maxBufferSize: MAX_JOBS_MESSAGE_BYTES + 1024 };

/** Serves `protocol` on the node: each stream carries one request answered by `handler`. */
export async function serveJson(
  node: MeshNode,
  protocol: string,
  handler: (req: unknown, remotePeer: string) => Promise<unknown>,
): Promise<void> {
  await node.handle(
    protocol,
    async (stream: Stream, connection: Connection) => {
      const lp = lpStream(stream, lpOptions);
      try {
        const req = decodeJson((await lp.read({ signal: AbortSignal.timeout(JOBS_RPC_TIMEOUT_MS) })).subarray());
        let answer: unknown;
        try {
          answer = { result: await handler(req, connection.remotePeer.toString()) };
        } catch (err) {
          const e = err as Error;
          log("%s request failed: %s: %s", protocol, e.name, e.message);
          answer = { error: { name: e.name, message: e.message } };
        }
        await lp.write(encodeJson(answer));
        await stream.close();
      } catch (err) {
        stream.abort(err as Error);
      }
    },
    { maxInboundStreams: MAX_JOBS_INBOUND_STREAMS, runOnLimitedConnection: true },
  );
}

/** Sends one request to `peerId` on `protocol` and returns the answer's result. */
export async function callJson(
  node: MeshNode,
  peerId: string,
  protocol: string,
  req: unknown,
  options: { signal?: AbortSignal } = {},
): Promise<unknown> {
  const timeout = AbortSignal.timeout(JOBS_RPC_TIMEOUT_MS);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  // Providers behind NAT answer through a relay (nat/dial.ts).
  const stream = await openPeerStream(node, peerIdFromString(peerId), protocol, { signal });
  const lp = lpStream(stream, lpOptions);
  let answer: { result?: unknown; error?: { name?: string; message?: string } };
  try {
    await lp.write(encodeJson(req), { signal });
    answer = decodeJson((await lp.read({ signal })).subarray()) as typeof answer;
    await stream.close().catch(() => {});
  } catch (err) {
    stream.abort(err as Error);
    throw err;
  }
  if (!answer || typeof answer !== "object") throw new JobsProtocolError(`${protocol}: answer is not an object`);
  if (answer.error) throw new JobsRemoteError(String(answer.error.name ?? "Error"), String(answer.error.message ?? ""));
  return answer.result;
}
