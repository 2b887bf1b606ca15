// Paid chat: each turn's exact body is signed by the job's session key (JobRequest(jobId,
// keccak256(body)), checked here by the gateway's own verifier), sent with the two job headers;
// the page shows the job's tokens used / left and each turn's tokens and cost in SHARD.
import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Address } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { generationRequestHash, verifyJobRequestSignature } from "@shardmesh/node/jobs/session.ts";
import { shardMeshDomain } from "@shardmesh/node/receipts/eip712.ts";
import { streamChat, type ChatReply } from "@/lib/chat";
import { GatewayError } from "@/lib/gateway";
import { signGenerationBody, unreceiptedUnits } from "@/lib/paid";
import type { JobInfo } from "@/lib/jobs";
import { ChatModelView, jobTokens } from "@/app/models/[modelId]/_components/ChatModel";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;
const OTHER = "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a" as const;
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address;
const CHAIN = 31337;
const E18 = 10n ** 18n;
const job = (over: Partial<JobInfo> = {}): JobInfo => ({
  id: "7",
  buyer: MARKET,
  modelId: "2",
  sessionKey: privateKeyToAccount(KEY).address,
  maxUnits: 400,
  escrow: 1n,
  expiresAt: 1_000,
  openedBlock: 1,
  closed: false,
  providers: [
    { stage: 0, provider: MARKET, price: E18 / 100n, maxUnits: 400, collateral: 0n },
    { stage: 1, provider: MARKET, price: (E18 * 2n) / 100n, maxUnits: 400, collateral: 0n },
  ],
  receipts: [],
  used: 40,
  ...over,
});

afterEach(cleanup);

describe("paid chat: signing and headers", () => {
  it("signs the exact body sent with the session key for its nonce and sends the job headers", async () => {
    const sent: { headers: Headers; body: string }[] = [];
    const fetchFn = (async (_url: string, init: RequestInit) => {
      sent.push({ headers: new Headers(init.headers), body: String(init.body) });
      const paid = { jobId: "7", index: 0, nonce: 4, units: 9, reserved: 13, requestHash: "0x01", responseHash: "0x02" };
      const events = [
        { choices: [{ index: 0, delta: { content: "Hi" }, finish_reason: null }] },
        { choices: [{ index: 0, delta: {}, finish_reason: "length" }] },
        { choices: [], usage: { prompt_tokens: 5, completion_tokens: 4, total_tokens: 9 }, shardmesh: paid },
      ];
      const text = `${events.map((e) => `data: ${JSON.stringify(e)}\n\n`).join("")}data: [DONE]\n\n`;
      return new Response(text, { status: 200, headers: { "content-type": "text/event-stream" } });
    }) as typeof fetch;
    const reply = await streamChat("2", [{ role: "user", content: "Tell me of whales" }], { maxTokens: 8, temperature: 0 }, () => {}, {
      fetchFn,
      job: { jobId: "7", nonce: 4, sign: (body, nonce) => signGenerationBody(KEY, CHAIN, MARKET, "7", nonce, body) },
    });
    expect(reply.paid?.units).toBe(9);
    expect(sent).toHaveLength(1);
    const [{ headers, body }] = sent;
    expect(headers.get("x-shardmesh-job")).toBe("7");
    expect(headers.get("x-shardmesh-nonce")).toBe("4");
    const signature = headers.get("x-shardmesh-signature")!;
    const domain = shardMeshDomain(CHAIN, MARKET);
    const hash = generationRequestHash(body);
    // The gateway's own check: the job's session key, this job, this body.
    expect(
      await verifyJobRequestSignature(domain, privateKeyToAccount(KEY).address, { jobId: 7n, nonce: 4n, requestHash: hash }, signature),
    ).toBe(true);
    expect(
      await verifyJobRequestSignature(domain, privateKeyToAccount(OTHER).address, { jobId: 7n, nonce: 4n, requestHash: hash }, signature),
    ).toBe(false);
    expect(
      await verifyJobRequestSignature(domain, privateKeyToAccount(KEY).address, { jobId: 8n, nonce: 4n, requestHash: hash }, signature),
    ).toBe(false);
    const altered = generationRequestHash(body.replace("whales", "wholes"));
    expect(
      await verifyJobRequestSignature(domain, privateKeyToAccount(KEY).address, { jobId: 7n, nonce: 4n, requestHash: altered }, signature),
    ).toBe(false);
    // Replayed under another nonce, the signature is not the session key's.
    expect(
      await verifyJobRequestSignature(domain, privateKeyToAccount(KEY).address, { jobId: 7n, nonce: 5n, requestHash: hash }, signature),
    ).toBe(false);
    expect(JSON.parse(body)).toMatchObject({ model: "2", max_tokens: 8, stream: true });
  });

  it("sends no job headers on the free tier", async () => {
    let headers = new Headers();
    const fetchFn = (async (_url: string, init: RequestInit) => {
      headers = new Headers(init.headers);
      return new Response("data: [DONE]\n\n", { status: 200 });
    }) as typeof fetch;
    await streamChat("2", [], { maxTokens: 1, temperature: 0 }, () => {}, { fetchFn });
    expect(headers.get("x-shardmesh-job")).toBeNull();
    expect(headers.get("x-shardmesh-nonce")).toBeNull();
    expect(headers.get("x-shardmesh-signature")).toBeNull();
  });

  it("counts unreceipted units: the pending receipt's units, 0 when there is none, other errors thrown", async () => {
    const pending = async () => ({
      jobId: "7",
      from: 0,
      count: 2,
      units: 31,
      outputRoot: "0x00" as const,
      requests: [0, 1],
      leaves: { from: 0, routes: [], leaves: [] },
    });
    expect(await unreceiptedUnits("7", pending)).toBe(31);
    const none = async () => {
      throw new GatewayError("JobsNothingToReceiptError", "nothing", 409);
    };
    expect(await unreceiptedUnits("7", none)).toBe(0);
    const down = async () => {
      throw new GatewayError("GatewayUnreachableError", "down", 503);
    };
    await expect(unreceiptedUnits("7", down)).rejects.toMatchObject({ gatewayName: "GatewayUnreachableError" });
  });

  it("a job's tokens: receipted + served since, bounded by the job; price = highest per stage, summed", () => {
    expect(jobTokens(job(), 25)).toEqual({ used: 65, left: 335, pricePerToken: (E18 * 3n) / 100n });
    expect(jobTokens(job({ used: 390 }), 25)).toMatchObject({ used: 400, left: 0 });
  });
});

describe("paid chat page", () => {
  it("chats under the chosen job, showing tokens used / left and the turn's tokens and cost", async () => {
    const calls: (JobInfo | undefined)[] = [];
    let served = 25;
    render(
      <ChatModelView
        gatewayDown={false}
        jobs={[job()]}
        unreceipted={async () => served}
        send={async (_m, _s, onText, _signal, j): Promise<ChatReply> => {
          calls.push(j);
          onText("Whales.");
          if (!j) return { text: "Whales.", finishReason: "stop" };
          served += 12;
          return {
            text: "Whales.",
            finishReason: "stop",
            usage: { prompt_tokens: 10, completion_tokens: 2, total_tokens: 12 },
            paid: { jobId: j.id, index: 0, nonce: 0, units: 12, reserved: 74, requestHash: "0x01", responseHash: "0x02" },
          };
        }}
      />,
    );
    // Free tier first: no job given to send, no cost shown.
    fireEvent.change(screen.getByTestId("chat-input"), { target: { value: "hi" } });
    fireEvent.click(screen.getByTestId("chat-send"));
    await waitFor(() => expect(calls).toEqual([undefined]));
    await waitFor(() => expect(screen.getByTestId("chat-log").textContent).toContain("Model: Whales."));
    expect(screen.queryByTestId("chat-turn-cost")).toBeNull();
    expect(screen.queryByTestId("chat-job-units")).toBeNull();

    fireEvent.change(screen.getByTestId("chat-job"), { target: { value: "7" } });
    await waitFor(() => expect(screen.getByTestId("chat-job-units").getAttribute("data-used")).toBe("65"));
    expect(screen.getByTestId("chat-job-units").textContent).toContain("65 of 400 tokens used · 335 left · ≤ 0.03 SHARD per token");

    fireEvent.change(screen.getByTestId("chat-input"), { target: { value: "more" } });
    fireEvent.click(screen.getByTestId("chat-send"));
    await waitFor(() => expect(screen.getByTestId("chat-turn-cost").textContent).toContain("12 tokens (10 prompt + 2 reply)"));
    expect(calls[1]?.id).toBe("7");
    // 12 tokens × 0.03 SHARD, through the one token formatter.
    expect(screen.getByTestId("chat-turn-cost").textContent).toContain("≤ 0.36 SHARD");
    await waitFor(() => expect(screen.getByTestId("chat-job-units").getAttribute("data-used")).toBe("77"));
    expect(screen.getByTestId("chat-job-units").getAttribute("data-left")).toBe("323");
  });

  it("names a paid failure: too few units left in the job", async () => {
    render(
      <ChatModelView
        gatewayDown={false}
        jobs={[job()]}
        unreceipted={async () => 0}
        send={async () => {
          throw Object.assign(new Error("job 7 has 20 units left, the request reserves 74"), { gatewayName: "JobsUnitsExceededError" });
        }}
      />,
    );
    fireEvent.change(screen.getByTestId("chat-job"), { target: { value: "7" } });
    fireEvent.change(screen.getByTestId("chat-input"), { target: { value: "hi" } });
    fireEvent.click(screen.getByTestId("chat-send"));
    await waitFor(() => expect(screen.getByTestId("chat-error").textContent).toMatch(/^Not enough units left in the job: job 7 has 20/));
  });
});
