"use client";
import { decodeError } from "@/lib/errors";
import { useContracts } from "@/hooks/useContracts";

/** The shared "loading / chain unreachable / not deployed" states of event-backed pages. */
export function ChainState(props: { isLoading: boolean; error: unknown }) {
  const c = useContracts();
  if (!c.ready)
    return (
      <p className="muted" data-testid="not-deployed">
        The ShardMesh contracts are not deployed on this chain.
      </p>
    );
  if (props.error) {
    const e = decodeError(props.error);
    return (
      <p className="error" data-testid="chain-error">
        {e.kind === "network" ? "Chain unreachable: " : ""}
        {e.message}
      </p>
    );
  }
  if (props.isLoading) return <p className="muted">Reading contract events…</p>;
  return null;
}

export function GatewayBadge(props: { error: unknown; isLoading: boolean }) {
  if (props.isLoading) return <span className="pill">gateway: checking…</span>;
  if (props.error)
    return (
      <span className="pill error" data-testid="gateway-unreachable" title={String((props.error as Error).message)}>
        gateway unreachable
      </span>
    );
  return (
    <span className="pill ok" data-testid="gateway-ok">
      gateway online
    </span>
  );
}
