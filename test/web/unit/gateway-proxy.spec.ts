// @vitest-environment node
// The app's /api/gateway proxy (a Next route handler) against a real HTTP server standing in for
// the gateway: a paid chat turn's two job headers and its exact body bytes reach the gateway (the
// signature covers keccak256 of those bytes), other headers do not, the server-sent events stream
// back as they are, and a gateway that is down is a named 503.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { POST } from "@/app/api/gateway/[...path]/route";

let server: Server;
const seen: { url?: string; headers: IncomingMessage["headers"]; body: Buffer }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      seen.push({ url: req.url, headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200, { "content-type": "text/event-stream" });
      res.end('data: {"choices":[]}\n\ndata: [DONE]\n\n');
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  process.env.SHARDMESH_GATEWAY_URL = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
});

const ctx = (path: string[]) => ({ params: Promise.resolve({ path }) });

describe("gateway proxy route", () => {
  it("forwards the job headers and the exact body bytes of a chat turn, and streams the answer back", async () => {
    // Key order and spacing as the page sent them: the proxy must not re-serialise.
    const body = '{"model":"2",  "messages":[{"role":"user","content":"Ahab ✓"}],"stream":true}';
    const signature = `0x${"ab".repeat(65)}`;
    const res = await POST(
      new Request("http://app.local/api/gateway/v1/chat/completions?x=1", {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "x-shardmesh-job": "7",
          "x-shardmesh-nonce": "3",
          "x-shardmesh-signature": signature,
          cookie: "session=secret",
          authorization: "Bearer nope",
        },
        body,
      }),
      ctx(["v1", "chat", "completions"]),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    expect(await res.text()).toBe('data: {"choices":[]}\n\ndata: [DONE]\n\n');
    const got = seen.at(-1)!;
    expect(got.url).toBe("/v1/chat/completions?x=1");
    expect(got.headers["x-shardmesh-job"]).toBe("7");
    expect(got.headers["x-shardmesh-nonce"]).toBe("3");
    expect(got.headers["x-shardmesh-signature"]).toBe(signature);
    expect(got.headers["content-type"]).toBe("application/json");
    expect(got.headers.cookie).toBeUndefined();
    expect(got.headers.authorization).toBeUndefined();
    expect(got.body.equals(Buffer.from(body, "utf8"))).toBe(true);
  });

  it("answers a named 503 when the gateway is down", async () => {
    const saved = process.env.SHARDMESH_GATEWAY_URL;
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, "127.0.0.1", r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((r) => closed.close(r));
    process.env.SHARDMESH_GATEWAY_URL = `http://127.0.0.1:${port}`;
    try {
      const res = await POST(
        new Request("http://app.local/api/gateway/v1/chat/completions", { method: "POST", body: "{}" }),
        ctx(["v1", "chat", "completions"]),
      );
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { name: string } }).error.name).toBe("GatewayUnreachableError");
    } finally {
      process.env.SHARDMESH_GATEWAY_URL = saved;
    }
  });
});
