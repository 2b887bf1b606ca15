import { afterEach, describe, expect, it } from "vitest";
import { cleanup, fireEvent, render, screen, waitFor } from "@testing-library/react";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { describePaidError, jobRequestTypes, payableJobs, signJobRequest } from "@/lib/paid";
import { saveSessionKey } from "@/lib/session";
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
    const request = { jobId: 7n, requestHash: `0x${"34".repeat(32)}` as Hex };
    const expected = await node.signJobRequest(privateKeyToAccount(KEY), node.shardMeshDomain(31337, MARKET), request);
    expect(await signJobRequest(KEY, 31337, MARKET, request)).toBe(expected);
    expect(await signJobRequest(KEY, 31337, MARKET, { ...request, jobId: 8n })).not.toBe(expected);
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
