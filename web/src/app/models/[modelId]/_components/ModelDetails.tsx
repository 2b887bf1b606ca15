"use client";
import Link from "next/link";
import { useMemo } from "react";
import { useIndex } from "@/hooks/useIndex";
import { useContracts } from "@/hooks/useContracts";
import { useGatewayModels } from "@/hooks/useGateway";
import { modelsFromEvents } from "@/lib/models";
import { formatAmount, formatBps, formatMs, shortAddress } from "@/lib/format";
import { ChainState, GatewayBadge } from "@/components/DataState";
import { TOKEN_SYMBOL } from "@/lib/contracts";
import { TryModel } from "./TryModel";
import { ChatModel } from "./ChatModel";
import { OpenJob } from "./OpenJob";

export function ModelDetails({ modelId }: { modelId: string }) {
  const index = useIndex();
  const c = useContracts();
  const gw = useGatewayModels();
  const model = useMemo(
    () => modelsFromEvents(index.data?.events ?? [], c.registry).find((m) => m.id === modelId),
    [index.data, c.registry, modelId],
  );
  const live = gw.data?.find((m) => m.id === modelId);

  if (!model) {
    return (
      <>
        <p>
          <Link href="/">← Marketplace</Link>
        </p>
        <ChainState isLoading={index.isLoading} error={index.error} />
        {index.data && <p className="muted">Model #{modelId} is not registered on this chain.</p>}
      </>
    );
  }
  return (
    <>
      <p>
        <Link href="/">← Marketplace</Link>
      </p>
      <div className="spread">
        <h1 data-testid="model-name">
          {model.name} <span className="muted">#{model.id}</span>
        </h1>
        <GatewayBadge error={gw.error} isLoading={gw.isLoading} />
      </div>
      {model.deprecated && <p className="warn-text">This model is deprecated: no new jobs can be opened.</p>}
      <div className="card">
        <table>
          <thead>
            <tr>
              <th>Stage</th>
              <th className="num">Price floor</th>
              <th>Providers now</th>
              <th className="num">Best latency</th>
            </tr>
          </thead>
          <tbody>
            {model.priceFloors.map((floor, s) => {
              const providers = live?.stages.find((x) => x.stage === s)?.providers ?? [];
              return (
                <tr key={s}>
                  <td>
                    {s}
                    {model.hasZkStage && model.zkStage === s ? " · zk" : ""}
                  </td>
                  <td className="num">
                    {formatAmount(floor)} {TOKEN_SYMBOL}
                  </td>
                  <td>
                    {providers.length ? (
                      providers.map((p) => (
                        <div key={p.peerId} className="mono small" title={p.peerId}>
                          {p.peerId.slice(0, 12)}… {p.stakingAddress ? shortAddress(p.stakingAddress) : ""} load{" "}
                          {Math.round(p.load * 100) / 100}
                        </div>
                      ))
                    ) : (
                      <span className="muted">{gw.error ? "gateway unreachable" : "none"}</span>
                    )}
                  </td>
                  <td className="num">{formatMs(providers.length ? Math.min(...providers.map((p) => p.latencyMs)) : undefined)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
        <p className="muted small">
          Publisher <span className="mono">{model.publisher}</span> · royalty {formatBps(model.royaltyBps)} · sampling{" "}
          {(model.samplingRatePpm / 10_000).toFixed(2)} % of requests per receipt · ONNX sha256{" "}
          <span className="mono">{model.onnxSha256.slice(0, 14)}…</span>
        </p>
      </div>
      <div className="grid-2">
        {model.task === "text-generation" ? (
          <ChatModel modelId={model.id} gatewayDown={Boolean(gw.error)} />
        ) : (
          <TryModel modelId={model.id} gatewayDown={Boolean(gw.error)} />
        )}
        <OpenJob model={model} />
      </div>
    </>
  );
}
