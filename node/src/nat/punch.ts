// TCP hole punching by simultaneous open. Both peers connect at about the same time, each from a
// local port it named to the other, to the other's external address and named port. The first
// SYN to leave opens a conntrack entry in its own NAT; when the other side's SYN arrives there it
// matches that entry's reply direction and is let in, and the two connecting sockets meet
// (RFC 9293 simultaneous open). A SYN that reaches a host with no socket for it yet is answered
// with RST (a public peer) or dropped (a NAT), so an attempt that was refused is simply repeated
// until the peer's own attempt is under way, within PUNCH_DEADLINE_MS.
//
// It needs a NAT that keeps the local port as the external one (endpoint-independent mapping, as
// Linux masquerade does when the port is free): the peer is told the local port. A symmetric NAT
// picks a fresh external port per connection; the punch then fails and the caller stays on the
// relay. Measured on the namespace network: test/network, docs/NETWORK.md.
import { connect, createServer } from "node:net";
import type { OnReadOpts, Socket } from "node:net";
import { PUNCH_DEADLINE_MS, PUNCH_RETRY_MS } from "./constants.ts";
import { PunchFailedError } from "./errors.ts";

export interface Endpoint {
  host: string;
  port: number;
}

/** Connect errors after which another attempt may still meet the peer's. */
const RETRYABLE = new Set(["ECONNREFUSED", "ECONNRESET", "EADDRINUSE", "ETIMEDOUT"]);

/** A TCP port on `host` that is free now (bound, then released): the local end of a punch. */
export function reservePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface PunchOptions {
  signal?: AbortSignal;
  /** Give up after this long (default PUNCH_DEADLINE_MS). */
  deadlineMs?: number;
  /** Passed to net.connect (the data plane reads records straight into its buffers). */
  onread?: OnReadOpts;
}

/**
 * Open a TCP connection from `local` to `remote` while the peer does the same from `remote` to
 * our external address. Resolves with the connected socket; rejects with PunchFailedError at the
 * deadline, or with the signal's reason.
 */
export function punch(local: Endpoint, remote: Endpoint, options: PunchOptions = {}): Promise<Socket> {
  const deadlineMs = options.deadlineMs ?? PUNCH_DEADLINE_MS;
  return new Promise((resolve, reject) => {
    let socket: Socket | undefined;
    let retry: NodeJS.Timeout | undefined;
    let attempts = 0;
    let lastError = "no answer";
    const finish = (err?: Error): void => {
      clearTimeout(deadline);
      clearTimeout(retry);
      options.signal?.removeEventListener("abort", onAbort);
      if (err) {
        socket?.destroy();
        reject(err);
      } else resolve(socket!);
    };
    const onAbort = (): void => finish(options.signal!.reason as Error);
    const deadline = setTimeout(
      () =>
        finish(
          new PunchFailedError(
            `no connection ${local.host}:${local.port} → ${remote.host}:${remote.port} in ${deadlineMs} ms (${attempts} attempts, last: ${lastError})`,
          ),
        ),
      deadlineMs,
    );
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort, { once: true });
    const attempt = (): void => {
      attempts++;
      const s = connect({
        host: remote.host,
        port: remote.port,
        localAddress: local.host,
        localPort: local.port,
        noDelay: true,
        ...(options.onread ? { onread: options.onread } : {}),
      });
      socket = s;
      const onError = (err: NodeJS.ErrnoException): void => {
        s.destroy();
        lastError = err.code ?? err.message;
        if (!RETRYABLE.has(err.code ?? "")) {
          finish(new PunchFailedError(`connect ${remote.host}:${remote.port}: ${lastError}`));
          return;
        }
        retry = setTimeout(attempt, PUNCH_RETRY_MS * 2 ** (attempts - 1));
      };
      s.once("error", onError);
      s.once("connect", () => {
        s.off("error", onError);
        finish();
      });
    };
    attempt();
  });
}
