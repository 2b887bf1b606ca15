"use client";
import { useRef, useState } from "react";
import { CHAT_LIMITS, streamChat, type ChatMessage, type ChatSettings } from "@/lib/chat";

type Send = (messages: ChatMessage[], settings: ChatSettings, onText: (d: string) => void, signal: AbortSignal) => Promise<unknown>;

/** Chat with a language model on the mesh, streamed token by token (free tier). */
export function ChatModel({ modelId, gatewayDown }: { modelId: string; gatewayDown: boolean }) {
  return <ChatModelView gatewayDown={gatewayDown} send={(m, s, onText, signal) => streamChat(modelId, m, s, onText, { signal })} />;
}

export function ChatModelView({ gatewayDown, send }: { gatewayDown: boolean; send: Send }) {
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
    const ctl = new AbortController();
    abort.current = ctl;
    let reply = "";
    try {
      await send(
        history,
        settings,
        (d) => {
          reply += d;
          setStreaming(reply);
        },
        ctl.signal,
      );
      setMessages([...history, { role: "assistant", content: reply }]);
    } catch (e) {
      const err = e as Error & { gatewayName?: string };
      if (reply) setMessages([...history, { role: "assistant", content: reply }]);
      if (!ctl.signal.aborted) setError(`${err.gatewayName ?? err.name}: ${err.message}`);
    } finally {
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
        Free tier: the gateway runs the embeddings, the head and the sampling; each block stage runs on a provider that keeps this
        conversation's KV cache. Paid chat under a job arrives with per-token receipts.
      </p>
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
