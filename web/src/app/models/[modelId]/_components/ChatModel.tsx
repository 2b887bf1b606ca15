"use client";
import { useCallback, useEffect, useRef, useState } from "react";
import { CHAT_LIMITS, streamChat, type ChatMessage, type ChatReply, type ChatSettings } from "@/lib/chat";
import { usePayableJobs } from "@/hooks/usePayableJobs";
import type { JobInfo } from "@/lib/jobs";
import { describePaidError, signGenerationBody, unreceiptedUnits, withNonce } from "@/lib/paid";
import { recordAnswer } from "@/lib/session";
import { pricePerUnit } from "@/lib/quotes";
import { formatAmount } from "@/lib/format";
import { TOKEN_SYMBOL } from "@/lib/contracts";

type Send = (
  messages: ChatMessage[],
  settings: ChatSettings,
  onText: (d: string) => void,
  signal: AbortSignal,
  job: JobInfo | undefined,
) => Promise<ChatReply | undefined>;

/**
 * Chat with a language model on the mesh, streamed token by token: on the free tier, or under one
 * of this buyer's open jobs for the model whose session key this browser holds (each turn's body
 * signed by the session key, no wallet prompt).
 */
export function ChatModel({ modelId, gatewayDown }: { modelId: string; gatewayDown: boolean }) {
  const { jobs, signerFor } = usePayableJobs(modelId);
  const send: Send = async (messages, settings, onText, signal, job) => {
    if (!job) return streamChat(modelId, messages, settings, onText, { signal });
    const { sessionKey, chainId, jobMarket } = signerFor(job);
    // Each turn is signed for the job's next nonce (kept beside the session key: no reuse after a reload).
    const reply = await withNonce(window.localStorage, chainId, job.id, (nonce) =>
      streamChat(modelId, messages, settings, onText, {
        signal,
        job: { jobId: job.id, nonce, sign: (body, n) => signGenerationBody(sessionKey, chainId, jobMarket, job.id, n, body) },
      }),
    );
    // The buyer's own log: the receipt its session key signs later is checked against it.
    const p = reply.paid;
    if (p)
      recordAnswer(window.localStorage, chainId, job.id, p.index, {
        requestHash: p.requestHash,
        responseHash: p.responseHash,
        units: p.units,
        nonce: p.nonce,
      });
    return reply;
  };
  return <ChatModelView gatewayDown={gatewayDown} jobs={jobs} send={send} unreceipted={unreceiptedUnits} />;
}

/** A job's tokens: used = receipted on chain + served by the gateway since; what a token costs at most. */
export function jobTokens(job: JobInfo, unreceipted: number): { used: number; left: number; pricePerToken: bigint } {
  const used = Math.min(job.maxUnits, job.used + unreceipted);
  return { used, left: job.maxUnits - used, pricePerToken: pricePerUnit(job.providers) };
}

export function ChatModelView({
  gatewayDown,
  jobs = [],
  send,
  unreceipted,
}: {
  gatewayDown: boolean;
  jobs?: JobInfo[];
  send: Send;
  /** Units served under a job beyond its receipts (lib/paid.ts unreceiptedUnits). */
  unreceipted?: (jobId: string) => Promise<number>;
}) {
  const [jobId, setJobId] = useState("");
  const job = jobs.find((j) => j.id === jobId);
  const [served, setServed] = useState<Record<string, number>>({});
  const [lastTurn, setLastTurn] = useState<{ jobId: string; units: number; reply: number; prompt: number; cost: bigint }>();
  const refreshServed = useCallback(
    async (id: string) => {
      if (!unreceipted) return;
      try {
        const units = await unreceipted(id);
        setServed((s) => ({ ...s, [id]: units }));
      } catch {
        // The count stays as last known; the turn itself reports its units.
      }
    },
    [unreceipted],
  );
  useEffect(() => {
    if (jobId) void refreshServed(jobId);
  }, [jobId, refreshServed]);
  const tokens = job ? jobTokens(job, served[job.id] ?? 0) : undefined;
  const [messages, setMessages] = useState<ChatMessage[]>([]);
  const [draft, setDraft] = useState("");
  const [streaming, setStreaming] = useState<string>();
  const [error, setError] = useState<string>();
  const [settings, setSettings] = useState<ChatSettings>({ maxTokens: 64, temperature: 0.7 });
  const abort = useRef<AbortController | null>(null);
  const busy = streaming !== undefined;

  async function onSend() {
    const text = draft.trim();
    if (!text || busy) return;
    if (text.length > CHAT_LIMITS.maxMessageChars) {
      setError(`A message is at most ${CHAT_LIMITS.maxMessageChars} characters.`);
      return;
    }
    const history: ChatMessage[] = [...messages, { role: "user", content: text }];
    setMessages(history);
    setDraft("");
    setError(undefined);
    setStreaming("");
    setLastTurn(undefined);
    const turnJob = job;
    const ctl = new AbortController();
    abort.current = ctl;
    let reply = "";
    try {
      const r = await send(
        history,
        settings,
        (d) => {
          reply += d;
          setStreaming(reply);
        },
        ctl.signal,
        turnJob,
      );
      setMessages([...history, { role: "assistant", content: reply }]);
      if (turnJob && r?.paid) {
        const { pricePerToken } = jobTokens(turnJob, 0);
        setLastTurn({
          jobId: turnJob.id,
          units: r.paid.units,
          prompt: r.usage?.prompt_tokens ?? 0,
          reply: r.usage?.completion_tokens ?? 0,
          cost: BigInt(r.paid.units) * pricePerToken,
        });
        setServed((s) => ({ ...s, [turnJob.id]: (s[turnJob.id] ?? 0) + (r.paid?.units ?? 0) }));
      }
    } catch (e) {
      const err = e as Error & { gatewayName?: string };
      if (reply) setMessages([...history, { role: "assistant", content: reply }]);
      const name = err.gatewayName ?? err.name;
      if (!ctl.signal.aborted) setError(turnJob ? describePaidError(name, err.message) : `${name}: ${err.message}`);
    } finally {
      if (turnJob) void refreshServed(turnJob.id);
      setStreaming(undefined);
      abort.current = null;
    }
  }

  return (
    <section className="card" data-testid="chat-model">
      <h2>Chat</h2>
      {gatewayDown && (
        <p className="warn-text" data-testid="chat-gateway-down">
          The gateway is unreachable, so the model cannot run right now. Start a provider node with its gateway (see README) and reload.
        </p>
      )}
      <p className="muted small">
        The gateway runs the embeddings, the head and the sampling; each block stage runs on a provider that keeps this conversation's KV
        cache. Free tier, or paid per token under a job: each turn reserves prompt + max tokens of the job's units and uses prompt + reply
        tokens.
      </p>
      {jobs.length > 0 && (
        <label>
          Chat as
          <select value={job ? jobId : ""} disabled={busy} onChange={(e) => setJobId(e.target.value)} data-testid="chat-job">
            <option value="">Free tier (no job)</option>
            {jobs.map((j) => (
              <option key={j.id} value={j.id}>
                Job #{j.id} · {j.maxUnits} tokens (session key in this browser)
              </option>
            ))}
          </select>
        </label>
      )}
      {job && tokens && (
        <p className="small" data-testid="chat-job-units" data-used={tokens.used} data-left={tokens.left}>
          Job #{job.id}: {tokens.used} of {job.maxUnits} tokens used · {tokens.left} left · ≤ {formatAmount(tokens.pricePerToken)}{" "}
          {TOKEN_SYMBOL} per token + royalty and fees. Each message is signed by the job's session key (no wallet prompt).
        </p>
      )}
      <div data-testid="chat-log">
        {messages.map((m, i) => (
          <p key={i} className={m.role === "user" ? "" : "mono small"} data-role={m.role}>
            <strong>{m.role === "user" ? "You" : "Model"}:</strong> {m.content}
          </p>
        ))}
        {busy && (
          <p className="mono small" data-testid="chat-streaming">
            <strong>Model:</strong> {streaming}
            <span className="muted"> ▍</span>
          </p>
        )}
      </div>
      {lastTurn && (
        <p className="ok small" data-testid="chat-turn-cost" data-units={lastTurn.units}>
          Paid under job #{lastTurn.jobId}: {lastTurn.units} tokens ({lastTurn.prompt} prompt + {lastTurn.reply} reply) · ≤{" "}
          {formatAmount(lastTurn.cost)} {TOKEN_SYMBOL} + royalty and fees
        </p>
      )}
      {error && (
        <p className="error" data-testid="chat-error">
          {error}
        </p>
      )}
      <label>
        Message
        <textarea
          rows={2}
          value={draft}
          disabled={busy}
          onChange={(e) => setDraft(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey) {
              e.preventDefault();
              void onSend();
            }
          }}
          data-testid="chat-input"
        />
      </label>
      <div className="row">
        <label>
          Max tokens
          <input
            type="number"
            min={1}
            max={CHAT_LIMITS.maxTokens}
            value={settings.maxTokens}
            onChange={(e) =>
              setSettings({ ...settings, maxTokens: Math.max(1, Math.min(CHAT_LIMITS.maxTokens, Number(e.target.value) || 1)) })
            }
            data-testid="chat-max-tokens"
          />
        </label>
        <label>
          Temperature
          <input
            type="number"
            min={0}
            max={CHAT_LIMITS.maxTemperature}
            step={0.1}
            value={settings.temperature}
            onChange={(e) =>
              setSettings({ ...settings, temperature: Math.max(0, Math.min(CHAT_LIMITS.maxTemperature, Number(e.target.value) || 0)) })
            }
            data-testid="chat-temperature"
          />
        </label>
        <button type="button" className="btn" disabled={busy || !draft.trim()} onClick={() => void onSend()} data-testid="chat-send">
          Send
        </button>
        {busy && (
          <button type="button" className="btn ghost" onClick={() => abort.current?.abort()} data-testid="chat-stop">
            Stop
          </button>
        )}
      </div>
    </section>
  );
}
