"use client";
import { useState } from "react";
import { gateway, type InferResult } from "@/lib/gateway";
import { formatMs } from "@/lib/format";

async function fileToBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Upload an image, run it through the mesh (free trial, no job), show the text and each stage's timing. */
export function TryModel({ modelId, gatewayDown }: { modelId: string; gatewayDown: boolean }) {
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<InferResult>();
  const [error, setError] = useState<string>();
  const [preview, setPreview] = useState<string>();

  async function run(file: File) {
    setBusy(true); setError(undefined); setResult(undefined);
    setPreview(URL.createObjectURL(file));
    try {
      setResult(await gateway.inferImage(modelId, await fileToBase64(file)));
    } catch (e) {
      const err = e as Error & { gatewayName?: string };
      setError(`${err.gatewayName ?? err.name}: ${err.message}`);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card" data-testid="try-model">
      <h2>Try it</h2>
      {gatewayDown && <p className="warn-text" data-testid="try-gateway-down">The gateway is unreachable, so the model cannot run right now. Start a provider node with its gateway (see README) and reload.</p>}
      <label>Image (PNG or JPEG)
        <input type="file" accept="image/png,image/jpeg" disabled={busy} onChange={(e) => { const f = e.target.files?.[0]; if (f) void run(f); }} data-testid="try-file" />
      </label>
      {preview && <img src={preview} alt="uploaded" style={{ maxWidth: "100%", maxHeight: 80, marginTop: 10, background: "#fff" }} />}
      {busy && <p className="muted">Running through the mesh…</p>}
      {error && <p className="error" data-testid="try-error">{error}</p>}
      {result && (
        <div data-testid="try-result">
          <p>Recognised text: <strong data-testid="try-text">{result.text ?? "(no text decoder for this model)"}</strong></p>
          <table>
            <thead><tr><th>Stage</th><th>Peer</th><th className="num">Time</th><th className="num">Retries</th></tr></thead>
            <tbody>
              {result.stages.map((s) => (
                <tr key={s.stage}><td>{s.stage}</td><td className="mono small">{s.peerId.slice(0, 16)}…</td><td className="num">{formatMs(s.ms)}</td><td className="num">{s.retries}</td></tr>
              ))}
            </tbody>
          </table>
          <p className="muted small mono">request {result.requestHash.slice(0, 18)}… → response {result.responseHash.slice(0, 18)}…</p>
        </div>
      )}
    </section>
  );
}
