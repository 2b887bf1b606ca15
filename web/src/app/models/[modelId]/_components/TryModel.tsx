"use client";
import { useState } from "react";
import { gateway, type InferResponse } from "@/lib/gateway";
import { formatMs } from "@/lib/format";
import { usePayableJobs } from "@/hooks/usePayableJobs";
import type { JobInfo } from "@/lib/jobs";
import { describePaidError, runPaid } from "@/lib/paid";
import { recordAnswer } from "@/lib/session";

async function fileToBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/**
 * Upload an image and run it through the mesh: as a free trial, or under one of this buyer's
 * open jobs for the model whose session key this browser holds (signed without a wallet prompt).
 */
export function TryModel({ modelId, gatewayDown }: { modelId: string; gatewayDown: boolean }) {
  const { jobs, signerFor } = usePayableJobs(modelId);
  async function run(imageBase64: string, job: JobInfo | undefined): Promise<InferResponse> {
    if (!job) return gateway.inferImage(modelId, imageBase64);
    const signer = signerFor(job);
    const res = await runPaid({ modelId, jobId: job.id, ...signer, imageBase64 });
    // The buyer's own log: the receipt its session key signs later is checked against it.
    if (res.index !== null)
      recordAnswer(window.localStorage, signer.chainId, job.id, res.index, {
        requestHash: res.requestHash,
        responseHash: res.responseHash,
        ...(res.nonce !== null ? { nonce: res.nonce } : {}),
      });
    return res;
  }
  return <TryModelView gatewayDown={gatewayDown} jobs={jobs} run={run} />;
}

/** The form and result; `run` does the request (free trial when `job` is undefined). */
export function TryModelView({
  gatewayDown,
  jobs,
  run,
}: {
  gatewayDown: boolean;
  jobs: JobInfo[];
  run: (imageBase64: string, job: JobInfo | undefined) => Promise<InferResponse>;
}) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<InferResponse & { jobId?: string }>();
  const [error, setError] = useState<string>();
  const [preview, setPreview] = useState<string>();
  const [jobId, setJobId] = useState("");
  const job = jobs.find((j) => j.id === jobId);

  async function onFile(file: File) {
    setBusy(true);
    setError(undefined);
    setResult(undefined);
    setPreview(URL.createObjectURL(file));
    try {
      const r = await run(await fileToBase64(file), job);
      setResult({ ...r, jobId: job?.id });
    } catch (e) {
      const err = e as Error & { gatewayName?: string };
      setError(job ? describePaidError(err.gatewayName ?? err.name, err.message) : `${err.gatewayName ?? err.name}: ${err.message}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" data-testid="try-model">
      <h2>Try it</h2>
      {gatewayDown && (
        <p className="warn-text" data-testid="try-gateway-down">
          The gateway is unreachable, so the model cannot run right now. Start a provider node with its gateway (see README) and reload.
        </p>
      )}
      {jobs.length > 0 && (
        <label>
          Run as
          <select value={job ? jobId : ""} disabled={busy} onChange={(e) => setJobId(e.target.value)} data-testid="try-job">
            <option value="">Free trial (no job)</option>
            {jobs.map((j) => (
              <option key={j.id} value={j.id}>
                Job #{j.id} · {j.used} / {j.maxUnits} used (session key in this browser)
              </option>
            ))}
          </select>
        </label>
      )}
      <label>
        Image (PNG or JPEG)
        <input
          type="file"
          accept="image/png,image/jpeg"
          disabled={busy}
          onChange={(e) => {
            const f = e.target.files?.[0];
            e.target.value = "";
            if (f) void onFile(f);
          }}
          data-testid="try-file"
        />
      </label>
      {preview && <img src={preview} alt="uploaded" style={{ maxWidth: "100%", maxHeight: 80, marginTop: 10, background: "#fff" }} />}
      {busy && (
        <p className="muted">
          {job ? `Signing with job #${job.id}'s session key and running through the mesh…` : "Running through the mesh…"}
        </p>
      )}
      {error && (
        <p className="error" data-testid="try-error">
          {error}
        </p>
      )}
      {result && (
        <div data-testid="try-result" data-job-id={result.jobId ?? ""}>
          {result.jobId !== undefined && result.index !== null && (
            <p className="ok small" data-testid="try-paid">
              Paid request #{result.index} of job #{result.jobId} (signed by its session key)
            </p>
          )}
          <p>
            Recognised text: <strong data-testid="try-text">{result.text ?? "(no text decoder for this model)"}</strong>
          </p>
          <table>
            <thead>
              <tr>
                <th>Stage</th>
                <th>Peer</th>
                <th className="num">Time</th>
                <th className="num">Retries</th>
              </tr>
            </thead>
            <tbody>
              {result.stages.map((s) => (
                <tr key={s.stage}>
                  <td>{s.stage}</td>
                  <td className="mono small">{s.peerId.slice(0, 16)}…</td>
                  <td className="num">{formatMs(s.ms)}</td>
                  <td className="num">{s.retries}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <p className="muted small mono">
            request {result.requestHash.slice(0, 18)}… → response {result.responseHash.slice(0, 18)}…
          </p>
        </div>
      )}
    </section>
  );
}
