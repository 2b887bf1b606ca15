"use client";
import Link from "next/link";
import { useEffect, useMemo, useState } from "react";
import { useConfig, useConnection } from "wagmi";
import { readContract } from "wagmi/actions";
import { checkReceiptToSign } from "@shardmesh/node/sdk/check.ts";
import { useIndex } from "@/hooks/useIndex";
import { useContracts } from "@/hooks/useContracts";
import { useChainNow } from "@/hooks/useChainNow";
import { useTx, writeStep } from "@/hooks/useTx";
import { canClose, jobStatus, jobsFromEvents, type JobInfo } from "@/lib/jobs";
import { modelsFromEvents } from "@/lib/models";
import { forgetAnswers, loadAnswers, loadSessionKey } from "@/lib/session";
import { gateway } from "@/lib/gateway";
import { signBuyerReceipt } from "@/lib/receipts";
import { formatAmount, formatDuration, shortAddress } from "@/lib/format";
import { jobMarketAbi, TOKEN_SYMBOL } from "@/lib/contracts";
import { ChainState } from "@/components/DataState";
import { TxStatus } from "@/components/TxStatus";

export function MyJobs() {
  const { address, isConnected } = useConnection();
  const index = useIndex();
  const c = useContracts();
  const now = useChainNow();
  const jobs = useMemo(
    () => (address ? jobsFromEvents(index.data?.events ?? [], { market: c.market, buyer: address }) : []),
    [index.data, c.market, address],
  );
  const names = useMemo(
    () => new Map(modelsFromEvents(index.data?.events ?? [], c.registry).map((m) => [m.id, m.name])),
    [index.data, c.registry],
  );
  if (!isConnected) return <p className="muted">Connect your wallet to see the jobs you opened.</p>;
  return (
    <>
      <ChainState isLoading={index.isLoading} error={index.error} />
      {index.data && jobs.length === 0 && (
        <p className="muted" data-testid="no-jobs">
          You have not opened any job yet. Pick a model in the <Link href="/">marketplace</Link>.
        </p>
      )}
      <div data-testid="job-list">
        {jobs.map((j) => (
          <JobCard key={j.id} job={j} now={now} modelName={names.get(j.modelId) ?? `Model #${j.modelId}`} chainId={c.chainId ?? 0} />
        ))}
      </div>
    </>
  );
}

function JobCard({ job, now, modelName, chainId }: { job: JobInfo; now: number; modelName: string; chainId: number }) {
  const c = useContracts();
  const config = useConfig();
  const tx = useTx();
  const status = jobStatus(job, now);
  const [hasKey, setHasKey] = useState(false);
  useEffect(() => setHasKey(Boolean(loadSessionKey(window.localStorage, chainId, job.id))), [chainId, job.id]);
  const pill = status === "open" ? "ok" : status === "closed" ? "" : "warn";
  const spent = job.receipts.reduce((a, r) => a + (r.settledAmount ?? 0n), 0n);
  const [signing, setSigning] = useState<{ state: "idle" | "busy" | "done" | "failed"; text?: string }>({ state: "idle" });

  /** Ask the gateway what to sign, sign it with the job's session key (no wallet prompt), hand it back. */
  async function signReceipt() {
    const key = loadSessionKey(window.localStorage, chainId, job.id);
    if (!key || !c.market) return setSigning({ state: "failed", text: "This browser does not hold the job's session key." });
    setSigning({ state: "busy" });
    try {
      const todo = await gateway.receiptToSign(job.id);
      // Sign only what this browser got: the receipt against its own log (paid images and chat
      // turns alike) and the chain's count. Requests this browser did not make are not signed here.
      const answers = loadAnswers(window.localStorage, chainId, job.id);
      const onChain = await readContract(config, { address: c.market, abi: jobMarketAbi, functionName: "job", args: [BigInt(job.id)] });
      checkReceiptToSign(todo, answers, { count: Number(onChain.count), units: Number(onChain.units) });
      const signature = await signBuyerReceipt(key.privateKey, chainId, c.market, {
        jobId: BigInt(job.id),
        count: Number(todo.count),
        units: Number(todo.units),
        outputRoot: todo.outputRoot,
      });
      await gateway.submitReceiptSignature(job.id, {
        count: Number(todo.count),
        units: Number(todo.units),
        outputRoot: todo.outputRoot,
        signature,
      });
      forgetAnswers(window.localStorage, chainId, job.id, todo.requests);
      setSigning({
        state: "done",
        text: `Signed requests 0–${Number(todo.count) - 1} with the session key; the provider submits the receipt.`,
      });
    } catch (e) {
      const err = e as Error & { gatewayName?: string };
      setSigning({ state: "failed", text: `${err.gatewayName ?? err.name}: ${err.message}` });
    }
  }
  return (
    <section className="card" data-testid="job-card" data-job-id={job.id}>
      <div className="spread">
        <h3>
          Job #{job.id} · <Link href={`/models/${job.modelId}`}>{modelName}</Link>
        </h3>
        <span className={`pill ${pill}`} data-testid="job-status">
          {status}
        </span>
      </div>
      <div className="stats">
        <div className="stat">
          <span className="value" data-testid="job-used">
            {job.used} / {job.maxUnits}
          </span>
          <span className="label">inferences used</span>
        </div>
        <div className="stat">
          <span className="value">{formatAmount(job.escrow)}</span>
          <span className="label">escrow ({TOKEN_SYMBOL})</span>
        </div>
        <div className="stat">
          <span className="value">{formatAmount(spent)}</span>
          <span className="label">settled so far</span>
        </div>
        <div className="stat">
          <span className="value">{job.closed ? "—" : now < job.expiresAt ? formatDuration(job.expiresAt - now) : "expired"}</span>
          <span className="label">until expiry</span>
        </div>
      </div>
      <p className="muted small">
        Session key <span className="mono">{shortAddress(job.sessionKey)}</span> {hasKey ? "kept in this browser" : "not in this browser"} ·
        providers {job.providers.map((p) => `stage ${p.stage}: ${shortAddress(p.provider)}`).join(", ")}
      </p>
      <div className="spread">
        <h4>Receipts</h4>
        {!job.closed && hasKey && (
          <button
            type="button"
            className="btn ghost small"
            disabled={signing.state === "busy"}
            onClick={() => void signReceipt()}
            data-testid="sign-receipt"
          >
            Sign served requests (session key)
          </button>
        )}
      </div>
      {signing.text && (
        <p className={signing.state === "failed" ? "error small" : "ok small"} data-testid="sign-receipt-status" data-state={signing.state}>
          {signing.text}
        </p>
      )}
      {job.receipts.length === 0 ? (
        <p className="muted small">No receipt submitted yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>#</th>
              <th>Requests</th>
              <th>Submitted by</th>
              <th>Spot checks</th>
              <th className="num">Settled</th>
            </tr>
          </thead>
          <tbody>
            {job.receipts.map((r) => (
              <tr key={r.receiptId}>
                <td>{r.receiptId}</td>
                <td>
                  {r.from}–{r.to - 1}
                </td>
                <td className="mono">{shortAddress(r.submitter)}</td>
                <td data-testid="spot-checks">
                  {r.samples > 0 && (
                    <div className="small">
                      {r.samples} sampled · {r.clean} clean{r.unclean ? ` · ${r.unclean} not clean` : ""}
                      {r.disputes ? ` · ${r.disputes} disputed` : ""}
                    </div>
                  )}
                  {r.faults.map((f, i) => (
                    <div key={i} className="error small">
                      {shortAddress(f.provider)} {f.reason}, slashed {formatAmount(f.slashed)}
                    </div>
                  ))}
                  {r.faults.length === 0 &&
                    (r.settled ? (
                      <span className="ok small">passed</span>
                    ) : (
                      <span className="muted small">{r.samples ? "checks in progress" : "awaiting sample draw"}</span>
                    ))}
                </td>
                <td className="num">{r.settled ? `${formatAmount(r.settledAmount ?? 0n)} ${TOKEN_SYMBOL}` : "pending"}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {job.closed ? (
        <p className="muted">
          Closed; refunded {formatAmount(job.refund ?? 0n)} {TOKEN_SYMBOL} of unused escrow (credited, withdraw on the Earnings page).
        </p>
      ) : (
        <div className="row" style={{ marginTop: 10 }}>
          <button
            type="button"
            className="btn secondary"
            disabled={!canClose(job, now) || tx.busy}
            data-testid="close-job"
            onClick={() =>
              void tx.run([
                writeStep({
                  address: c.market!,
                  abi: jobMarketAbi,
                  functionName: "closeJob",
                  args: [BigInt(job.id)],
                  label: "Close job and refund",
                }),
              ])
            }
          >
            Close and refund unused escrow
          </button>
          {!canClose(job, now) && (
            <span className="muted small">Possible once the job has expired or is used up and no receipt is pending.</span>
          )}
        </div>
      )}
      <TxStatus state={tx.state} />
    </section>
  );
}
