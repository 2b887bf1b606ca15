// An idle keep-alive connection is closed after keepAliveTimeoutMs, but not one whose next request
// arrived while the gateway's event loop was held up: after a stall, Node runs the overdue
// keep-alive timer before it reads the waiting request, and used to close the connection under it
// (the honest client got ECONNRESET for a request it had sent in time).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { connect, type Socket } from "node:net";
import { Gateway } from "../../../node/src/gateway/server.ts";
import type { GatewayInit } from "../../../node/src/gateway/server.ts";

const KEEP_ALIVE_MS = 200;
/** Node waits keepAliveTimeoutBuffer (1 s) past the advertised keep-alive before its timer runs. */
const NODE_KEEP_ALIVE_BUFFER_MS = 1_000;
const HEALTH = "GET /v1/health HTTP/1.1\r\nHost: gateway\r\n\r\n";

/** Collects what the server sends on `socket`; `responses()` counts complete HTTP responses. */
function reader(socket: Socket): { responses(): number; closed: Promise<string> } {
  let text = "";
  socket.on("data", (d: Buffer) => {
    text += d.toString("latin1");
  });
  const closed = new Promise<string>((resolve) => {
    socket.on("error", (err: NodeJS.ErrnoException) => resolve(err.code ?? err.name));
    socket.on("close", () => resolve("closed"));
  });
  return { responses: () => text.split("HTTP/1.1 200").length - 1, closed };
}

function busyWait(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

describe("keep-alive after an event-loop stall", { timeout: 20_000 }, () => {
  let gateway: Gateway;
  let port: number;

  before(async () => {
    gateway = new Gateway({
      peerId: "gateway",
      directory: { list: () => [] },
      limits: { keepAliveTimeoutMs: KEEP_ALIVE_MS },
    } as unknown as GatewayInit);
    port = Number(new URL(await gateway.start()).port);
  });
  after(() => gateway.stop());

  async function firstResponse(): Promise<{ socket: Socket; r: ReturnType<typeof reader> }> {
    const socket = connect({ host: "127.0.0.1", port });
    const r = reader(socket);
    socket.write(HEALTH);
    while (r.responses() < 1) await new Promise((res) => setTimeout(res, 10));
    return { socket, r };
  }

  it("answers a request that arrived while the loop was held past the keep-alive timeout", async () => {
    const { socket, r } = await firstResponse();
    await new Promise<void>((resolve) =>
      setImmediate(() => {
        socket.write(HEALTH); // in the server's receive buffer, not yet read
        busyWait(KEEP_ALIVE_MS + NODE_KEEP_ALIVE_BUFFER_MS + 500);
        resolve();
      }),
    );
    const deadline = Date.now() + 5_000;
    while (r.responses() < 2 && Date.now() < deadline) await new Promise((res) => setTimeout(res, 10));
    assert.equal(r.responses(), 2, "the second request was answered");
    socket.destroy();
  });

  it("still closes a connection that stays idle", async () => {
    const { r } = await firstResponse();
    const t0 = performance.now();
    assert.equal(await r.closed, "closed");
    assert.ok(performance.now() - t0 >= KEEP_ALIVE_MS, "not before the keep-alive timeout");
  });
});
