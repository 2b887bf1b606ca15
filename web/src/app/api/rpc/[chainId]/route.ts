// JSON-RPC proxy: the browser talks to the chain through the app's own origin, so the node's URL
// is server configuration (SHARDMESH_RPC_URL…) and no CORS setup is needed on the node.
import { rpcUrlFor } from "@/lib/deployments.server";

export const dynamic = "force-dynamic";

export async function POST(request: Request, ctx: { params: Promise<{ chainId: string }> }): Promise<Response> {
  const { chainId } = await ctx.params;
  const url = rpcUrlFor(Number(chainId));
  if (!url)
    return Response.json(
      { jsonrpc: "2.0", id: null, error: { code: -32004, message: `no RPC configured for chain ${chainId}` } },
      { status: 404 },
    );
  try {
    const upstream = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: await request.text(),
      signal: AbortSignal.timeout(30_000),
    });
    return new Response(upstream.body, { status: upstream.status, headers: { "content-type": "application/json" } });
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    return Response.json({ jsonrpc: "2.0", id: null, error: { code: -32603, message: `chain unreachable: ${message}` } }, { status: 502 });
  }
}
