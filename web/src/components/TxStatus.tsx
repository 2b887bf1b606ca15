"use client";
import type { TxState } from "@/hooks/useTx";

const text: Record<string, string> = {
  simulating: "Checking with the contract…",
  signing: "Confirm in your wallet…",
  pending: "Pending: waiting for the block…",
  confirmed: "Confirmed",
  failed: "Failed",
};

/** Pending / confirmed / failed, with the decoded custom error in plain words on failure. */
export function TxStatus({ state, testId }: { state: TxState; testId?: string }) {
  if (state.phase === "idle") return null;
  const cls = state.phase === "confirmed" ? "confirmed" : state.phase === "failed" ? "failed" : "pending";
  return (
    <div className={`tx ${cls}`} role="status" data-testid={testId ?? "tx-status"} data-phase={state.phase}>
      <div className="spread">
        <strong>
          {state.label ? `${state.label}: ` : ""}
          {text[state.phase]}
        </strong>
        {state.hash && (
          <span className="mono muted small">
            {state.hash.slice(0, 10)}…{state.hash.slice(-6)}
          </span>
        )}
      </div>
      {state.phase === "confirmed" && state.receipt && <div className="muted small">in block {state.receipt.blockNumber.toString()}</div>}
      {state.phase === "failed" && state.error && (
        <div data-testid="tx-error" data-error-name={state.error.errorName ?? ""}>
          <div className="error">{state.error.title}</div>
          <div>{state.error.message}</div>
          {state.error.errorName && <div className="muted small mono">{state.error.errorName}</div>}
        </div>
      )}
    </div>
  );
}
