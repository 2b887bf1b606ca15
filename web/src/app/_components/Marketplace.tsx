"use client";
import Link from "next/link";
import { useMemo, useState } from "react";
import { parseUnits } from "viem";
import { useIndex } from "@/hooks/useIndex";
import { useContracts } from "@/hooks/useContracts";
import { useGatewayModels } from "@/hooks/useGateway";
import { filterModels, modelsFromEvents } from "@/lib/models";
import { modelLatency, providerCount, type ModelInfo as GatewayModel } from "@/lib/gateway";
import { formatAmount, formatBps, formatMs, shortAddress } from "@/lib/format";
import { ChainState, GatewayBadge } from "@/components/DataState";
import { TOKEN_SYMBOL } from "@/lib/contracts";

export function Marketplace() {
  const index = useIndex();
  const c = useContracts();
  const gw = useGatewayModels();
  const [text, setText] = useState("");
  const [maxPrice, setMaxPrice] = useState("");
  const [onlyServed, setOnlyServed] = useState(false);
  const [zkOnly, setZkOnly] = useState(false);

  const models = useMemo(() => modelsFromEvents(index.data?.events ?? [], c.registry), [index.data, c.registry]);
  const live = useMemo(() => new Map((gw.data ?? []).map((m): [string, GatewayModel] => [m.id, m])), [gw.data]);
  let max: bigint | undefined;
  try {
    max = maxPrice ? parseUnits(maxPrice, 18) : undefined;
  } catch {
    max = undefined;
  }
  const shown = filterModels(models, { text, maxPrice: max, onlyServed, zkOnly, hideDeprecated: true }, (id) =>
    live.get(id) ? providerCount(live.get(id)!) > 0 : false,
  );

  return (
    <>
      <search className="card row">
        <label style={{ flex: 2 }}>
          Search
          <input placeholder="name, id or publisher" value={text} onChange={(e) => setText(e.target.value)} data-testid="search" />
        </label>
        <label style={{ flex: 1 }}>
          Max price / inference ({TOKEN_SYMBOL})
          <input inputMode="decimal" placeholder="any" value={maxPrice} onChange={(e) => setMaxPrice(e.target.value)} />
        </label>
        <label className="row" style={{ flexDirection: "row" }}>
          <input type="checkbox" checked={onlyServed} onChange={(e) => setOnlyServed(e.target.checked)} /> served now
        </label>
        <label className="row" style={{ flexDirection: "row" }}>
          <input type="checkbox" checked={zkOnly} onChange={(e) => setZkOnly(e.target.checked)} /> zk-verified stage
        </label>
        <GatewayBadge error={gw.error} isLoading={gw.isLoading} />
      </search>
      <ChainState isLoading={index.isLoading} error={index.error} />
      {index.data && models.length === 0 && <p className="muted">No model is registered yet.</p>}
      <div className="grid" data-testid="model-list">
        {shown.map((m) => {
          const g = live.get(m.id);
          const latency = g ? modelLatency(g) : undefined;
          return (
            <Link
              key={m.id}
              href={`/models/${m.id}`}
              className="card"
              style={{ color: "inherit", textDecoration: "none" }}
              data-testid="model-card"
            >
              <div className="spread">
                <h3>{m.name}</h3>
                <span className="muted">#{m.id}</span>
              </div>
              {m.description && <p className="muted small">{m.description}</p>}
              <table>
                <tbody>
                  <tr>
                    <th>Stages</th>
                    <td>
                      {m.stageCount}
                      {m.hasZkStage ? ` (stage ${m.zkStage} zk-provable)` : ""}
                    </td>
                  </tr>
                  <tr>
                    <th>Price / inference</th>
                    <td>
                      {formatAmount(m.pricePerInference)} {TOKEN_SYMBOL} <span className="muted small">floor</span>
                    </td>
                  </tr>
                  <tr>
                    <th>Publisher</th>
                    <td className="mono" title={m.publisher}>
                      {shortAddress(m.publisher)}
                    </td>
                  </tr>
                  <tr>
                    <th>Royalty</th>
                    <td>{formatBps(m.royaltyBps)}</td>
                  </tr>
                  <tr>
                    <th>Providers now</th>
                    <td data-testid="providers-now">{g ? providerCount(g) : gw.error ? "gateway unreachable" : "none"}</td>
                  </tr>
                  <tr>
                    <th>Latency</th>
                    <td>{formatMs(latency)}</td>
                  </tr>
                </tbody>
              </table>
            </Link>
          );
        })}
      </div>
      {models.length > 0 && shown.length === 0 && <p className="muted">No model matches these filters.</p>}
    </>
  );
}
