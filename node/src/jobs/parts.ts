// /shardmesh/receipt/1.0.0, provider side and client: a stage provider signs its part of a
// receipt — (jobId, stage, cumulative count and units, root, outputRoot) — over a stage tree built from ITS
// trace store for the request indices the gateway names, and reveals sampled leaves with proofs.
// It refuses (JobsPartNotServedError) to sign for any request it did not serve at that stage.
// `indices` are the gateway's trace indices (how the provider recorded the requests);
// `leafIndices`, when present, are the receipt's request indices for the same requests (the
// gateway numbers a receipt's requests densely, skipping indices of requests that failed).
import { logger } from "@libp2p/logger";
import type { Address, Hex } from "viem";
import { buildStageTree } from "../receipts/leaves.ts";
import type { StageLeaf, StageRecord } from "../receipts/leaves.ts";
import { signProviderReceipt } from "../receipts/eip712.ts";
import type { StagePart } from "../receipts/parts.ts";
import { marketDomain } from "../chain/provider.ts";
import { callJson, wireHex, wireUint } from "./wire.ts";
import { requireWallet } from "./context.ts";
import type { JobsContext } from "./context.ts";
import { MAX_PART_INDICES, RECEIPT_PROTOCOL } from "./constants.ts";
import { JobsPartNotServedError, JobsProtocolError } from "./errors.ts";

const log = logger("shardmesh:jobs:parts");

export interface PartRequest {
  op: "part";
  jobId: string;
  stage: number;
  /** Trace indices of this receipt's requests the provider served at `stage`, ascending. */
  indices: number[];
  /** The same requests' indices in the receipt (default: `indices`), ascending. */
  leafIndices?: number[];
  outputRoot: Hex;
}

export interface RevealRequest {
  op: "reveal";
  jobId: string;
  stage: number;
  indices: number[];
  leafIndices?: number[];
  /** The sampled request's index in the receipt (a leaf index). */
  index: number;
}

export interface RevealAnswer {
  leaf: StageLeaf;
  proof: Hex[];
}

function parseIndices(raw: unknown): number[] {
  if (!Array.isArray(raw) || raw.length === 0 || raw.length > MAX_PART_INDICES)
    throw new JobsProtocolError(`indices must be a list of 1..${MAX_PART_INDICES} request indices`);
  raw.forEach((v, i) => {
    if (!Number.isInteger(v) || (v as number) < 0 || (i > 0 && (v as number) <= (raw[i - 1] as number)))
      throw new JobsProtocolError("indices must be ascending non-negative integers");
  });
  return raw as number[];
}

function parseCommon(raw: unknown): { jobId: string; stage: number; indices: number[]; leafIndices: number[] } {
  const r = raw as { jobId?: unknown; stage?: unknown; indices?: unknown; leafIndices?: unknown } | null;
  if (!r || typeof r.jobId !== "string" || !/^\d+$/.test(r.jobId) || !Number.isInteger(r.stage))
    throw new JobsProtocolError("receipt request needs jobId (decimal) and stage");
  const indices = parseIndices(r.indices);
  const leafIndices = r.leafIndices === undefined ? indices : parseIndices(r.leafIndices);
  if (leafIndices.length !== indices.length) throw new JobsProtocolError("leafIndices must pair with indices");
  return { jobId: r.jobId, stage: r.stage as number, indices, leafIndices };
}

/**
 * This provider's stage records for the named requests, with their units; every one must be in
 * its trace. A record only its owner may use (a decoder session's, TraceStore.recordOwned) is
 * refused to any other requester: a peer that opened a session under someone else's job and
 * index gets nothing signed for it, and the owner's receipts never carry a stranger's hashes.
 */
function stageRecords(
  ctx: JobsContext,
  jobId: string,
  stage: number,
  indices: number[],
  leafIndices: number[],
  requester: string,
): Array<StageRecord & { units: number }> {
  return indices.map((index, k) => {
    const rec = ctx.trace.get(jobId, index, stage);
    if (!rec) throw new JobsPartNotServedError(`request ${index} of job ${jobId} was not served at stage ${stage} by ${ctx.peerId}`);
    if (rec.owned && rec.peerId !== requester)
      throw new JobsPartNotServedError(
        `request ${index} of job ${jobId} at stage ${stage} was asked for by ${rec.peerId}, not ${requester}`,
      );
    return { index: leafIndices[k], inputHash: rec.inputHash, outputHash: rec.outputHash, units: rec.units };
  });
}

/** Provider side: signs this node's part of a receipt for `requester` (the peer asking; this node by default). */
export async function signPart(ctx: JobsContext, raw: unknown, requester = ctx.peerId): Promise<StagePart> {
  const { jobId, stage, indices, leafIndices } = parseCommon(raw);
  const outputRoot = (raw as { outputRoot?: unknown }).outputRoot;
  if (typeof outputRoot !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(outputRoot))
    throw new JobsProtocolError("part request needs outputRoot (bytes32)");
  const { pc, address } = requireWallet(ctx.chain);
  const records = stageRecords(ctx, jobId, stage, indices, leafIndices, requester);
  const tree = buildStageTree(records);
  const terms = await ctx.chain.read.market.read.stageTerms([BigInt(jobId), BigInt(stage), address]);
  if (terms.maxUnits === 0) throw new JobsPartNotServedError(`${address} has no quote for stage ${stage} of job ${jobId}`);
  const count = terms.served + indices.length;
  // Each request's units as this provider traced them: 1 per inference, a generation's tokens
  // (positions it computed + 1, node/src/llm/trace.ts).
  const units = terms.servedUnits + records.reduce((a, r) => a + r.units, 0);
  if (units > terms.maxUnits)
    throw new JobsPartNotServedError(`units ${units} exceed the quoted max ${terms.maxUnits} at stage ${stage} of job ${jobId}`);
  const signature = await signProviderReceipt(pc.signer, marketDomain(pc), {
    jobId: BigInt(jobId),
    stage,
    count,
    units,
    root: tree.root,
    outputRoot: outputRoot as Hex,
  });
  log("signed part of job %s stage %d: %d new requests, count %d", jobId, stage, indices.length, count);
  return { stage, provider: address, count, units, root: tree.root, signature };
}

/** Provider side: a leaf of the part's tree with its Merkle proof. */
export function revealLeaf(ctx: JobsContext, raw: unknown, requester = ctx.peerId): RevealAnswer {
  const { jobId, stage, indices, leafIndices } = parseCommon(raw);
  const index = (raw as { index?: unknown }).index;
  if (!Number.isInteger(index) || !leafIndices.includes(index as number))
    throw new JobsProtocolError("reveal request needs an index among leafIndices");
  const tree = buildStageTree(stageRecords(ctx, jobId, stage, indices, leafIndices, requester));
  return { leaf: tree.leaf(index as number), proof: tree.proof(index as number) };
}

/** The receipt protocol's handler (`requester`: the remote peer). */
export async function handleReceiptRequest(ctx: JobsContext, raw: unknown, requester: string): Promise<unknown> {
  const op = (raw as { op?: unknown } | null)?.op;
  if (op === "part") return signPart(ctx, raw, requester);
  if (op === "reveal") return revealLeaf(ctx, raw, requester);
  throw new JobsProtocolError(`unknown receipt op ${String(op)}`);
}

/** Asks a stage provider (this node itself without a hop) for its signed part. */
export async function requestPart(
  ctx: JobsContext,
  peerId: string,
  req: Omit<PartRequest, "op">,
  options: { signal?: AbortSignal } = {},
): Promise<StagePart> {
  const msg: PartRequest = { op: "part", ...req };
  const raw = peerId === ctx.peerId ? await signPart(ctx, msg) : await callJson(ctx.node, peerId, RECEIPT_PROTOCOL, msg, options);
  return parsePartAnswer(raw);
}

/** Asks a stage provider for a sampled leaf and its proof. */
export async function requestReveal(
  ctx: JobsContext,
  peerId: string,
  req: Omit<RevealRequest, "op">,
  options: { signal?: AbortSignal } = {},
): Promise<RevealAnswer> {
  const msg: RevealRequest = { op: "reveal", ...req };
  const raw = peerId === ctx.peerId ? revealLeaf(ctx, msg) : await callJson(ctx.node, peerId, RECEIPT_PROTOCOL, msg, options);
  return parseRevealAnswer(raw);
}

/** A stage provider's signed part as the gateway receives it; JobsProtocolError for anything else. */
export function parsePartAnswer(raw: unknown): StagePart {
  const r = raw as Record<string, unknown> | null;
  if (!r || typeof r !== "object") throw new JobsProtocolError("part answer needs provider, count, root, signature");
  return {
    stage: Number(wireUint(r.stage, "part.stage", 0xffffn)),
    provider: wireHex(r.provider, "part.provider", 20) as Address,
    count: Number(wireUint(r.count, "part.count", 0xffffffffn)),
    units: Number(wireUint(r.units, "part.units", 0xffffffffn)),
    root: wireHex(r.root, "part.root", 32),
    signature: wireHex(r.signature, "part.signature"),
  };
}

/** A revealed leaf and its proof as the gateway receives them; JobsProtocolError for anything else. */
export function parseRevealAnswer(raw: unknown): RevealAnswer {
  const r = raw as { leaf?: Record<string, unknown>; proof?: unknown } | null;
  if (!r?.leaf || typeof r.leaf !== "object" || !Array.isArray(r.proof) || r.proof.length > 64)
    throw new JobsProtocolError("reveal answer needs leaf and proof");
  return {
    leaf: {
      index: wireUint(r.leaf.index, "leaf.index"),
      inputHash: wireHex(r.leaf.inputHash, "leaf.inputHash", 32),
      outputHash: wireHex(r.leaf.outputHash, "leaf.outputHash", 32),
    },
    proof: r.proof.map((p, i) => wireHex(p, `proof[${i}]`, 32)),
  };
}
