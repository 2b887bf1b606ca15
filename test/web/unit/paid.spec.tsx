import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describePaidError, jobRequestTypes, NONCE_ATTEMPTS, payableJobs, signJobRequest, withNonce } from "@/lib/paid";
import { nextNonce, saveSessionKey, spendNonce } from "@/lib/session";
import { GatewayError } from "@/lib/gateway";
import type { JobInfo } from "@/lib/jobs";
import type { InferResponse } from "@/lib/gateway";
import { TryModelView } from "@/app/models/[modelId]/_components/TryModel";

const KEY = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;
const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as Address;
const job = (id: string, over: Partial<JobInfo> = {}): JobInfo => ({
  id,
  buyer: MARKET,
  modelId: "1",
  sessionKey: privateKeyToAccount(KEY).address,
  maxUnits: 10,
  escrow: 1n,
  expiresAt: 1_000,
  openedBlock: 1,
  closed: false,
  providers: [],
  receipts: [],
  used: 0,
  ...over,
});
const result: InferResponse = {
  index: 3,
  nonce: 3,
  output: {},
  text: "ShardMesh 2026",
  requestHash: `0x${"ab".repeat(32)}` as Hex,
  responseHash: `0x${"cd".repeat(32)}` as Hex,
  stages: [
    { stage: 0, peerId: "12D3KooWAAAAAAAAAAAAAAAAAAAA", ms: 12.5, retries: 0 },
    { stage: 1, peerId: "12D3KooWBBBBBBBBBBBBBBBBBBBB", ms: 3, retries: 1 },
  ],
};

afterEach(cleanup);

describe("paid requests", () => {
  it("sign JobRequest with the node's EIP-712 types, recoverable to the session key", async () => {
    const node = await import("../../../node/src/receipts/eip712.ts");
    expect(jobRequestTypes).toEqual(node.jobRequestTypes);
    const request = { jobId: 7n, nonce: 2n, requestHash: `0x${"34".repeat(32)}` as Hex };
    const expected = await node.signJobRequest(privateKeyToAccount(KEY), node.shardMeshDomain(31337, MARKET), request);
    expect(await signJobRequest(KEY, 31337, MARKET, request)).toBe(expected);
    expect(await signJobRequest(KEY, 31337, MARKET, { ...request, jobId: 8n })).not.toBe(expected);
    expect(await signJobRequest(KEY, 31337, MARKET, { ...request, nonce: 3n })).not.toBe(expected);
  });

  it("number a job's requests 0, 1, 2, … kept beside the session key: no nonce signed twice after a reload", async () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    const sent: number[] = [];
    const ok = (nonce: number) => {
      sent.push(nonce);
      return Promise.resolve(nonce);
    };
    expect(await withNonce(storage, 31337, "4", ok)).toBe(0);
    expect(await withNonce(storage, 31337, "4", ok)).toBe(1);
    // A reload: a new page reads the same storage.
    const reloaded = new Map(store);
    const again = { getItem: (k: string) => reloaded.get(k) ?? null, setItem: (k: string, v: string) => void reloaded.set(k, v) };
    expect(nextNonce(again, 31337, "4")).toBe(2);
    expect(nextNonce(again, 31337, "5"), "each job its own numbers").toBe(0);
    expect(nextNonce(again, 1, "4"), "each chain its own numbers").toBe(0);
    // A request the gateway did not answer keeps its nonce (the gateway freed it too).
    const fail = (nonce: number) => {
      sent.push(nonce);
      return Promise.reject(new GatewayError("RouterNoProviderError", "no stage 1", 503));
    };
    await expect(withNonce(storage, 31337, "4", fail)).rejects.toThrow("no stage 1");
    expect(nextNonce(storage, 31337, "4")).toBe(2);
    // A nonce another tab answered: spent, and the request signed again for the next one.
    let calls = 0;
    const taken = (nonce: number) => {
      sent.push(nonce);
      return ++calls <= 2 ? Promise.reject(new GatewayError("JobsNonceReusedError", "answered already", 409)) : Promise.resolve(nonce);
    };
    expect(await withNonce(storage, 31337, "4", taken)).toBe(4);
    expect(sent).toEqual([0, 1, 2, 2, 3, 4]);
    expect(nextNonce(storage, 31337, "4")).toBe(5);
    // Bounded: a gateway answering JobsNonceReusedError forever ends the request.
    const always = () => Promise.reject(new GatewayError("JobsNonceReusedError", "answered already", 409));
    await expect(withNonce(storage, 31337, "4", always)).rejects.toThrow("answered already");
    expect(nextNonce(storage, 31337, "4")).toBe(5 + NONCE_ATTEMPTS);
    // Never goes back.
    spendNonce(storage, 31337, "4", 1);
    expect(nextNonce(storage, 31337, "4")).toBe(5 + NONCE_ATTEMPTS);
  });

  it("offer only open jobs of the model with inferences left whose session key this browser holds", () => {
    const store = new Map<string, string>();
    const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
    for (const id of ["1", "2", "3", "4", "5"])
      saveSessionKey(storage, 31337, id, { privateKey: KEY, address: privateKeyToAccount(KEY).address });
    const jobs = [
      job("1"),
      job("2", { modelId: "9" }),
      job("3", { used: 10 }),
      job("4", { expiresAt: 100 }),
      job("5", { closed: true }),
      job("6"),
    ];
    expect(payableJobs(jobs, "1", 500, storage, 31337).map((j) => j.id)).toEqual(["1"]);
    expect(payableJobs(jobs, "1", 500, storage, 1)).toEqual([]);
  });

  it("decode the gateway's job errors by name", () => {
    expect(describePaidError("JobsJobUnavailableError", "job 1 has used all 10 inferences")).toMatch(/^Job used up/);
    expect(describePaidError("JobsJobUnavailableError", "job 1 expired at 1700")).toMatch(/^Job expired/);
    expect(describePaidError("JobsJobUnavailableError", "job 1 is not open")).toMatch(/^Job closed/);
    expect(describePaidError("GatewayUnauthorizedError", "request not signed")).toMatch(/not the job's/);
    expect(describePaidError("SomethingElse", "boom")).toBe("SomethingElse: boom");
  });
});

describe("TryModelView", () => {
  const upload = () =>
    fireEvent.change(screen.getByTestId("try-file"), {
      target: { files: [new File([new Uint8Array([1, 2, 3])], "a.png", { type: "image/png" })] },
    });

  it("runs a free trial when no job is chosen, and under the chosen job with its request index", async () => {
    const calls: { image: string; job?: string }[] = [];
    render(
      <TryModelView
        gatewayDown={false}
        jobs={[job("1"), job("2", { used: 4 })]}
        run={async (image, j) => {
          calls.push({ image, job: j?.id });
          return { ...result, index: j ? 3 : null };
        }}
      />,
    );
    upload();
    await screen.findByTestId("try-result");
    expect(screen.queryByTestId("try-paid")).toBeNull();
    fireEvent.change(screen.getByTestId("try-job"), { target: { value: "2" } });
    upload();
    await screen.findByTestId("try-paid");
    expect(screen.getByTestId("try-paid").textContent).toBe("Paid request #3 of job #2 (signed by its session key)");
    expect(screen.getByTestId("try-text").textContent).toBe("ShardMesh 2026");
    expect(screen.getByTestId("try-result").querySelectorAll("tbody tr")).toHaveLength(2);
    expect(calls).toEqual([
      { image: "AQID", job: undefined },
      { image: "AQID", job: "2" },
    ]);
  });

  it("shows a used-up job's error decoded by name", async () => {
    const run = async (): Promise<InferResponse> => {
      throw Object.assign(new Error("job 1 has used all 10 inferences"), { gatewayName: "JobsJobUnavailableError" });
    };
    render(<TryModelView gatewayDown={false} jobs={[job("1")]} run={run} />);
    fireEvent.change(screen.getByTestId("try-job"), { target: { value: "1" } });
    upload();
    await waitFor(() => expect(screen.getByTestId("try-error").textContent).toMatch(/^Job used up: job 1 has used all 10 inferences/));
  });

  it("offers no job choice when the browser holds no job key", () => {
    render(<TryModelView gatewayDown={false} jobs={[]} run={async () => result} />);
    expect(screen.queryByTestId("try-job")).toBeNull();
  });
});
