// Gateway proxy: forwards /api/gateway/<route> to the provider gateway (SHARDMESH_GATEWAY_URL).
// When the gateway is down it answers 503 with a named error, which the app shows as
// "gateway unreachable" instead of hanging.
import { gatewayUrl } from "@/lib/deployments.server";

export const dynamic = "force-dynamic";

async function forward(request: Request, path: string[]): Promise<Response> {
  const incoming = new URL(request.url);
  const target = `${gatewayUrl()}/${path.map(encodeURIComponent).join("/")}${incoming.search}`;
  const headers = new Headers();
  for (const h of ["content-type", "x-shardmesh-job", "x-shardmesh-nonce", "x-shardmesh-signature"]) {
    const v = request.headers.get(h);
    if (v) headers.set(h, v);
  }
  try {
    const upstream = await fetch(target, {
      method: request.method,
      headers,
      body: request.method === "GET" || request.method === "HEAD" ? undefined : await request.arrayBuffer(),
      signal: AbortSignal.timeout(request.method === "POST" ? 120_000 : 10_000),
    });
    return new Response(upstream.body, {
      status: upstream.status,
      headers: { "content-type": upstream.headers.get("content-type") ?? "application/json", "cache-control": "no-store" },
    });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return Response.json(
      { error: { name: "GatewayUnreachableError", message: `gateway at ${gatewayUrl()} is unreachable: ${message}` } },
      { status: 503 },
    );
  }
}

type Ctx = { params: Promise<{ path: string[] }> };
export async function GET(request: Request, ctx: Ctx): Promise<Response> {
  return forward(request, (await ctx.params).path);
}
export async function POST(request: Request, ctx: Ctx): Promise<Response> {
  return forward(request, (await ctx.params).path);
}
