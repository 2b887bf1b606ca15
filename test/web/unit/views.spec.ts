import { describe, expect, it } from "vitest";
import { bytesToHex, getAddress, type Address, type Hex } from "viem";
import { filterModels, metadataName, modelsFromEvents } from "@/lib/models";
import { canClose, jobStatus, jobsFromEvents, providerHistory } from "@/lib/jobs";
import { signedQuoteFromJson } from "@shardmesh/node/receipts/eip712.ts";
import { chooseQuotes, pricePerInference, QuotesMissingStageError } from "@/lib/quotes";
import { base58Decode, base58Encode, bytesToPeerId, peerIdToBytes, PeerIdInvalidError } from "@/lib/peer";
import { parseDeployment, DeploymentFileInvalidError } from "@/lib/deployments";
import type { IndexedEvent } from "@/lib/indexer";

const A = "0x00000000000000000000000000000000000000a1" as Address;
const B = "0x00000000000000000000000000000000000000b2" as Address;
const ev = (name: string, block: number, args: Record<string, unknown>, address: Address = A): IndexedEvent => ({
  name,
  address,
  blockNumber: block,
  logIndex: 0,
  txHash: "0x00",
  args,
});
const params = (name: string, floors: bigint[], zk = false) => ({
  onnxSha256: `0x${"11".repeat(32)}` as Hex,
  manifestHash: `0x${"22".repeat(32)}` as Hex,
  metadataURI: `data:application/json,${encodeURIComponent(JSON.stringify({ name, description: "reads text" }))}`,
  stageCount: floors.length,
  royaltyBps: 250,
  samplingRatePpm: 10_000,
  hasZkStage: zk,
  zkStage: 1,
  priceFloors: floors,
});

describe("models", () => {
  const events = [
    ev("ModelPublished", 1, { modelId: 1n, publisher: B, params: params("ocr-rec", [2n, 3n]) }),
    ev("ModelPublished", 2, { modelId: 2n, publisher: B, params: params("digits", [1n, 1n, 1n], true) }),
    ev("ModelPricesUpdated", 3, { modelId: 1n, newPriceFloors: [4n, 4n] }),
    ev("ModelDeprecated", 4, { modelId: 2n, publisher: B }),
  ];
  it("reduces registry events into models with names, prices and deprecation", () => {
    const models = modelsFromEvents(events);
    expect(models.map((m) => [m.id, m.name, m.pricePerInference, m.deprecated])).toEqual([
      ["1", "ocr-rec", 8n, false],
      ["2", "digits", 3n, true],
    ]);
    expect(models[0].description).toBe("reads text");
  });
  it("filters by text, price, served and zk", () => {
    const models = modelsFromEvents(events);
    expect(filterModels(models, { text: "OCR" }).map((m) => m.id)).toEqual(["1"]);
    expect(filterModels(models, { maxPrice: 5n }).map((m) => m.id)).toEqual(["2"]);
    expect(filterModels(models, { hideDeprecated: true }).map((m) => m.id)).toEqual(["1"]);
    expect(filterModels(models, { zkOnly: true }).map((m) => m.id)).toEqual(["2"]);
    expect(filterModels(models, { onlyServed: true }, (id) => id === "2").map((m) => m.id)).toEqual(["2"]);
  });
  it("derives names from metadata URIs", () => {
    expect(metadataName("https://x.org/models/ppocr-v4.json", "f").name).toBe("ppocr-v4");
    expect(metadataName("ipfs://bafybeigdyr", "Model #3").name).toBe("Model #3");
  });
});

describe("jobs", () => {
  const events = [
    // the market emits QuoteAccepted before JobOpened in the same transaction (regression: providers were dropped)
    ev("QuoteAccepted", 1, { jobId: 1n, provider: A, stage: 0n, price: 5n, maxUnits: 10n, collateral: 50n }),
    ev("JobOpened", 1, { jobId: 1n, buyer: B, modelId: 1n, sessionKey: A, maxUnits: 10n, escrow: 100n, expiresAt: 1000n }),
    ev("ReceiptSubmitted", 2, { jobId: 1n, receiptId: 0n, submitter: A, from: 0n, to: 10n, units: 10n, outputRoot: "0x01" }),
    ev("SamplesDrawn", 3, { jobId: 1n, receiptId: 0n, samples: 2n }, B),
    ev("SampleResolved", 4, { jobId: 1n, receiptId: 0n, sampleNo: 0n, clean: true }, B),
    ev("ReceiptSettled", 5, { jobId: 1n, receiptId: 0n, providerPay: 50n, royalty: 1n, verifierFee: 1n, treasuryFee: 0n }),
    ev("JobOpened", 6, { jobId: 2n, buyer: A, modelId: 1n, sessionKey: A, maxUnits: 1n, escrow: 1n, expiresAt: 1n }),
  ];
  it("builds the buyer's jobs with receipts and spot checks", () => {
    const [job] = jobsFromEvents(events, { market: A, buyer: B });
    expect(job.id).toBe("1");
    expect(job.used).toBe(10);
    expect(job.providers).toEqual([{ stage: 0, provider: A, price: 5n, maxUnits: 10, collateral: 50n }]);
    expect(job.receipts[0]).toMatchObject({ settled: true, settledAmount: 52n, samples: 2, clean: 1, unclean: 0 });
    expect(jobStatus(job, 500)).toBe("used up");
    expect(canClose(job, 500)).toBe(true);
    expect(jobsFromEvents(events, { buyer: A }).map((j) => j.id)).toEqual(["2"]);
  });
  it("says open / expired / closed", () => {
    const [job] = jobsFromEvents(events.slice(0, 2), { buyer: B });
    expect(job.providers).toHaveLength(1);
    expect(jobStatus(job, 10)).toBe("open");
    expect(jobStatus(job, 1000)).toBe("expired");
    expect(canClose(job, 10)).toBe(false);
    const closed = jobsFromEvents([...events.slice(0, 2), ev("JobClosed", 9, { jobId: 1n, refund: 100n })], { buyer: B })[0];
    expect(jobStatus(closed, 10)).toBe("closed");
    expect(closed.refund).toBe(100n);
  });
  it("tracks a provider's locked collateral and slashes with their reason", () => {
    const h = providerHistory(
      [
        ev("Staked", 1, { provider: A, amount: 100n }),
        ev("CollateralLocked", 2, { provider: A, jobId: 1n, amount: 40n }),
        ev("CollateralLocked", 2, { provider: A, jobId: 2n, amount: 10n }),
        ev("CollateralUnlocked", 3, { provider: A, jobId: 2n, amount: 10n }),
        ev("ProviderFaulted", 4, { jobId: 1n, provider: A, receiptId: 0n, reason: 1, slashed: 40n }, B),
        ev("Slashed", 4, { provider: A, jobId: 1n, amount: 40n }),
      ],
      A,
      A,
    );
    expect(h.staked).toBe(100n);
    expect([...h.locks]).toEqual([]);
    expect(h.slashes).toEqual([{ jobId: "1", amount: 40n, reason: "its leaf contradicts the buyer tree it signed", block: 4 }]);
  });
});

describe("quotes", () => {
  const q = (stage: number, provider: Address, price: number, maxUnits: number, expiry = 10_000, maxJobExpiry = 100_000) =>
    signedQuoteFromJson({
      quote: { modelId: "1", stage, provider, buyer: B, price: String(price), maxUnits, expiry, maxJobExpiry, nonce: "1" },
      signature: "0x01",
    });
  it("picks the cheapest quotes per stage until they cover the budget", () => {
    const chosen = chooseQuotes([q(0, B, 5, 100), q(0, A, 3, 50), q(1, A, 9, 1000), q(1, B, 8, 10, 50)], 2, 120, 0);
    // stage 0: A (3, 50) then B (5, 100) to cover 120; stage 1: B's cheaper quote expires within a minute, so A.
    expect(chosen.map((x) => [x.quote.stage, x.quote.provider])).toEqual([
      [0, getAddress(A)],
      [0, getAddress(B)],
      [1, getAddress(A)],
    ]);
    expect(pricePerInference(chosen)).toBe(14n);
    const later = chooseQuotes([q(0, A, 1, 10), q(1, B, 8, 10, 5_000), q(1, A, 9, 10)], 2, 5, 0);
    expect(later.find((x) => x.quote.stage === 1)?.quote.provider).toBe(getAddress(B));
  });
  it("throws a named error when a stage has no valid quote", () => {
    expect(() => chooseQuotes([q(0, A, 1, 10)], 2, 5, 0)).toThrow(QuotesMissingStageError);
    // A quote whose latest job expiry is before the job's end cannot be used for it.
    expect(() => chooseQuotes([q(0, A, 1, 10, 10_000, 500), q(1, A, 1, 10)], 2, 5, 0, 1_000n)).toThrow(/stage 0/);
    expect(() => chooseQuotes([q(0, A, 1, 10, 100), q(1, A, 1, 10, 100)], 2, 5, 90)).toThrow(/stage 0/);
  });
});

describe("peer ids and deployments", () => {
  it("round-trips base58 and decodes an ed25519 peer id to its identity multihash", () => {
    const bytes = new Uint8Array([0, 0, 1, 2, 255, 7]);
    expect(base58Decode(base58Encode(bytes))).toEqual(bytes);
    const multihash = new Uint8Array([0x00, 0x24, 0x08, 0x01, 0x12, 0x20, ...new Array(32).fill(7)]);
    const id = base58Encode(multihash);
    expect(id.startsWith("12D3KooW")).toBe(true);
    expect(peerIdToBytes(id)).toBe(bytesToHex(multihash));
    expect(bytesToPeerId(peerIdToBytes(id))).toBe(id);
    expect(() => peerIdToBytes("hello")).toThrow(PeerIdInvalidError);
  });
  it("parses deployments files in the common shapes and rejects bad ones by name", () => {
    const d = parseDeployment({
      chainId: 31337,
      contracts: {
        JobMarket: { address: "0x5fbdb2315678afecb367f032d93f642f64180aa3", blockNumber: 4 },
        ShardToken: "0xe7f1725e7734ce288f8367e1bb143e90bb3f0512",
      },
    });
    expect(d.contracts.JobMarket).toBe("0x5FbDB2315678afecb367f032d93F642f64180aa3");
    expect(d.startBlock).toBe(4);
    expect(d.rpcPath).toBe("/api/rpc/31337");
    expect(() => parseDeployment({ chainId: 1 })).toThrow(DeploymentFileInvalidError);
    expect(() => parseDeployment([], undefined)).toThrow(/not a JSON object/);
  });
});

describe("buyer receipts", () => {
  it("use the same EIP-712 types and domain as the node and the contracts", async () => {
    const web = await import("@/lib/receipts");
    const node = await import("../../../node/src/receipts/eip712.ts");
    expect(web.buyerReceiptTypes).toEqual(node.buyerReceiptTypes);
    expect([web.EIP712_NAME, web.EIP712_VERSION]).toEqual([node.EIP712_NAME, node.EIP712_VERSION]);
    const key = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d" as const;
    const market = "0x5FbDB2315678afecb367f032d93F642f64180aa3" as const;
    const receipt = { jobId: 3n, count: 7, units: 7, outputRoot: `0x${"12".repeat(32)}` as Hex };
    const { privateKeyToAccount } = await import("viem/accounts");
    const expected = await node.signBuyerReceipt(privateKeyToAccount(key), node.shardMeshDomain(31337, market), receipt);
    expect(await web.signBuyerReceipt(key, 31337, market, receipt)).toBe(expected);
  });
});
