import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import { sseParser, streamChat, type ChatMessage } from "@/lib/chat";
import { ChatModelView } from "@/app/models/[modelId]/_components/ChatModel";
import { metadataName } from "@/lib/models";

const sse = (events: unknown[]) => events.map((e) => `data: ${typeof e === "string" ? e : JSON.stringify(e)}\n\n`).join("");
const chunk = (content: string, finish: string | null = null) => ({
  choices: [{ index: 0, delta: content ? { content } : {}, finish_reason: finish }],
});

function fakeFetch(body: string, status = 200, pieces = 7): typeof fetch {
  return (async () => {
    const enc = new TextEncoder();
    const stream = new ReadableStream<Uint8Array>({
      start(c) {
        // Split anywhere: events arrive cut across chunks.
        const step = Math.max(1, Math.ceil(body.length / pieces));
        for (let i = 0; i < body.length; i += step) c.enqueue(enc.encode(body.slice(i, i + step)));
        c.close();
      },
    });
    return new Response(stream, { status, headers: { "content-type": status === 200 ? "text/event-stream" : "application/json" } });
  }) as typeof fetch;
}

afterEach(cleanup);

describe("chat: server-sent events", () => {
  it("parses events split across chunks", () => {
    const got: string[] = [];
    const feed = sseParser((d) => got.push(d));
    for (const c of ['data: {"a"', ":1}\n", "\ndata: [DO", "NE]\n\n"]) feed(c);
    expect(got).toEqual(['{"a":1}', "[DONE]"]);
  });

  it("streams the deltas, the finish reason and the usage", async () => {
    const body = sse([
      chunk(""),
      chunk("Call "),
      chunk("me "),
      chunk("Ishmael."),
      chunk("", "stop"),
      { choices: [], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 } },
      "[DONE]",
    ]);
    const seen: string[] = [];
    const r = await streamChat("2", [{ role: "user", content: "hi" }], { maxTokens: 8, temperature: 0 }, (d) => seen.push(d), {
      fetchFn: fakeFetch(body),
    });
    expect(seen).toEqual(["Call ", "me ", "Ishmael."]);
    expect(r).toEqual({
      text: "Call me Ishmael.",
      finishReason: "stop",
      usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 },
    });
  });

  it("keeps the gateway's error name, before and during the stream", async () => {
    const bad = fakeFetch(
      JSON.stringify({ error: { message: "no language model 9", name: "OpenAiRequestError", code: "model_not_found" } }),
      404,
    );
    await expect(streamChat("9", [], { maxTokens: 1, temperature: 0 }, () => {}, { fetchFn: bad })).rejects.toMatchObject({
      gatewayName: "OpenAiRequestError",
      status: 404,
    });
    const mid = fakeFetch(sse([chunk("Hel"), { error: { name: "KvCacheFullError", message: "no provider can hold it" } }]));
    await expect(streamChat("2", [], { maxTokens: 1, temperature: 0 }, () => {}, { fetchFn: mid })).rejects.toMatchObject({
      gatewayName: "KvCacheFullError",
    });
  });

  it("reads the task from the model's metadata", () => {
    const uri = `data:application/json,${encodeURIComponent(JSON.stringify({ name: "Llama", task: "text-generation" }))}`;
    expect(metadataName(uri, "x").task).toBe("text-generation");
  });
});

describe("chat page", () => {
  it("streams the reply into the conversation and sends the whole history next turn", async () => {
    const calls: ChatMessage[][] = [];
    render(
      <ChatModelView
        gatewayDown={false}
        send={async (messages, _s, onText) => {
          calls.push(messages);
          for (const d of ["Whales ", "are ", "large."]) onText(d);
        }}
      />,
    );
    fireEvent.change(screen.getByTestId("chat-input"), { target: { value: "Tell me of whales" } });
    fireEvent.click(screen.getByTestId("chat-send"));
    await waitFor(() => expect(screen.getByTestId("chat-log").textContent).toContain("Model: Whales are large."));
    fireEvent.change(screen.getByTestId("chat-input"), { target: { value: "More" } });
    fireEvent.click(screen.getByTestId("chat-send"));
    await waitFor(() => expect(calls.length).toBe(2));
    expect(calls[1]).toEqual([
      { role: "user", content: "Tell me of whales" },
      { role: "assistant", content: "Whales are large." },
      { role: "user", content: "More" },
    ]);
  });

  it("shows a failure by name and keeps the partial reply", async () => {
    render(
      <ChatModelView
        gatewayDown={false}
        send={async (_m, _s, onText) => {
          onText("Par");
          throw Object.assign(new Error("no provider can hold the session"), { gatewayName: "KvCacheFullError" });
        }}
      />,
    );
    fireEvent.change(screen.getByTestId("chat-input"), { target: { value: "hi" } });
    fireEvent.click(screen.getByTestId("chat-send"));
    await waitFor(() => expect(screen.getByTestId("chat-error").textContent).toBe("KvCacheFullError: no provider can hold the session"));
    expect(screen.getByTestId("chat-log").textContent).toContain("Model: Par");
  });
});
