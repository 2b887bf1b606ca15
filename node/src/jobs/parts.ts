// /shardmesh/receipt/1.0.0, provider side and client: a stage provider signs its part of a
// receipt — (jobId, stage, cumulative count and units, root, outputRoot) — and reveals sampled
// leaves with proofs. It signs `outputRoot` only after checking it (docs/PROTOCOL.md, "Who checks
// what before signing"): the gateway sends the receipt's buyer leaves; the provider rebuilds the
// buyer tree from them and refuses a root they do not hash to (JobsPartRootMismatchError); its
// part is exactly the leaves whose route names it at its stage, each looked up in ITS trace store
// by the leaf's nonce (the index every stage traced the request under) — a leaf routed to it for
// a request it never served is refused (JobsPartNotServedError), and stage 0 / the last stage
// refuse a leaf whose requestHash / responseHash contradicts what they recorded
// (JobsPartContradictsTraceError): signing would make such a leaf a fault of theirs. The stage
// leaves and root come from its own records only, never from the gateway. A record only its owner
// may use (a decoder session's, TraceStore.recordOwned) counts only for that owner's requests.
import { logger } from "@libp2p/logger";
import { isAddressEqual } from "viem";
import type { Address, Hex } from "viem";
import { buildBuyerTree, buildStageTree, decodeBuyerLeaves } from "../receipts/leaves.ts";
import type { BuyerLeavesWire, BuyerRecord, StageLeaf, StageRecord } from "../receipts/leaves.ts";
import { signProviderReceipt } from "../receipts/eip712.ts";
import type { StagePart } from "../receipts/parts.ts";
import { marketDomain } from "../chain/provider.ts";
import { callJson, wireHex, wireUint } from "./wire.ts";
import { requireWallet } from "./context.ts";
import type { JobsContext } from "./context.ts";
import { MAX_PART_INDICES, RECEIPT_PROTOCOL } from "./constants.ts";
import { JobsPartContradictsTraceError, JobsPartNotServedError, JobsPartRootMismatchError, JobsProtocolError } from "./errors.ts";

const log = logger("shardmesh:jobs:parts");

export interface PartRequest {
  op: "part";
  jobId: string;
  stage: number;
  /** The receipt's buyer leaves (all of them: the provider checks them against `outputRoot`). */
  buyer: BuyerLeavesWire;
  outputRoot: Hex;
}

export interface RevealRequest {
  op: "reveal";
  jobId: string;
  stage: number;
  /** The receipt's buyer leaves, as sent with the part request. */
  buyer: BuyerLeavesWire;
  /** The sampled request's index in the receipt (a leaf index). */
  index: number;
}

export interface RevealAnswer {
  leaf: StageLeaf;
  proof: Hex[];
}

function parseCommon(raw: unknown): { jobId: string; stage: number; leaves: BuyerRecord[] } {
  const r = raw as { jobId?: unknown; stage?: unknown; buyer?: unknown } | null;
  if (!r || typeof r.jobId !== "string" || !/^\d{1,80}$/.test(r.jobId) || !Number.isInteger(r.stage) || (r.stage as number) < 0)
    throw new JobsProtocolError("receipt request needs jobId (decimal) and stage");
  let leaves: BuyerRecord[];
  try {
    leaves = decodeBuyerLeaves(r.buyer, MAX_PART_INDICES);
  } catch (err) {
    throw new JobsProtocolError((err as Error).message);
  }
  const nonces = new Set(leaves.map((l) => l.nonce));
  if (nonces.size !== leaves.length) throw new JobsProtocolError("buyer leaves name a request nonce twice");
  return { jobId: r.jobId, stage: r.stage as number, leaves };
}

/**
 * This provider's stage tree for a receipt: the leaves routed to it at `stage`, each built from its
 * own trace record of that request (found by the leaf's nonce), after checking the buyer leaf
 * against that record where the buyer tree speaks for this stage (stage 0's input, the last
 * stage's output).
 */
function ownStageTree(ctx: JobsContext, address: Address, jobId: string, stage: number, leaves: readonly BuyerRecord[], requester: string) {
  const mine = leaves.filter((l) => stage < l.route.length && isAddressEqual(l.route[stage], address));
  if (mine.length === 0) throw new JobsPartNotServedError(`no request of this receipt routes stage ${stage} to ${address}`);
  const records: Array<StageRecord & { units: number }> = mine.map((l) => {
    const nonce = Number(l.nonce);
    const rec = Number.isSafeInteger(nonce) ? ctx.trace.get(jobId, nonce, stage) : undefined;
    if (!rec)
      throw new JobsPartNotServedError(
        `receipt request ${l.index} (nonce ${l.nonce}) of job ${jobId} is routed to ${address} at stage ${stage}, which never served it`,
      );
    // A stranger that opened a session under someone else's job and index gets nothing signed for it.
    if (rec.owned && rec.peerId !== requester)
      throw new JobsPartNotServedError(
        `request nonce ${l.nonce} of job ${jobId} at stage ${stage} was asked for by ${rec.peerId}, not ${requester}`,
      );
    if (stage === 0 && rec.inputHash.toLowerCase() !== l.requestHash.toLowerCase())
      throw new JobsPartContradictsTraceError(
        `receipt request ${l.index} (nonce ${l.nonce}): requestHash ${l.requestHash} is not the input ${rec.inputHash} stage 0 got`,
      );
    if (stage === l.route.length - 1 && rec.outputHash.toLowerCase() !== l.responseHash.toLowerCase())
      throw new JobsPartContradictsTraceError(
        `receipt request ${l.index} (nonce ${l.nonce}): responseHash ${l.responseHash} is not the output ${rec.outputHash} the last stage sent`,
      );
    // A hand-off claim at this stage is answered with the hand-off kept, which SpotCheck takes only
    // from the provider the route names at stage − 1: a route naming anyone else (a gateway
    // pinning the upstream's lie on another provider) would leave this provider unable to answer.
    if (stage > 0 && rec.handOffSigner && !isAddressEqual(l.route[stage - 1], rec.handOffSigner))
      throw new JobsPartContradictsTraceError(
        `receipt request ${l.index} (nonce ${l.nonce}): the route names ${l.route[stage - 1]} at stage ${stage - 1}, but the hand-off this stage received is ${rec.handOffSigner}'s`,
      );
    // The buyer leaf's units are what every stage computed for the request (1 per inference, a
    // generation's tokens): a leaf counting otherwise than this provider's trace is not signed.
    if (l.units !== rec.units)
      throw new JobsPartContradictsTraceError(
        `receipt request ${l.index} (nonce ${l.nonce}): ${l.units} units in the buyer leaf, ${rec.units} in this provider's trace`,
      );
    return { index: l.index, inputHash: rec.inputHash, outputHash: rec.outputHash, units: rec.units };
  });
  return { tree: buildStageTree(records), count: mine.length, units: records.reduce((a, r) => a + r.units, 0) };
}

/** Provider side: signs this node's part of a receipt for `requester` (the peer asking; this node by default). */
export async function signPart(ctx: JobsContext, raw: unknown, requester = ctx.peerId): Promise<StagePart> {
  const { jobId, stage, leaves } = parseCommon(raw);
  const outputRoot = (raw as { outputRoot?: unknown }).outputRoot;
  if (typeof outputRoot !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(outputRoot))
    throw new JobsProtocolError("part request needs outputRoot (bytes32)");
  const buyerRoot = buildBuyerTree(leaves).root;
  if (buyerRoot.toLowerCase() !== outputRoot.toLowerCase())
    throw new JobsPartRootMismatchError(`the buyer leaves sent hash to ${buyerRoot}, not to the outputRoot ${outputRoot} to sign`);
  const { pc, address } = requireWallet(ctx.chain);
  const { tree, count: fresh, units: freshUnits } = ownStageTree(ctx, address, jobId, stage, leaves, requester);
  const terms = await ctx.chain.read.market.read.stageTerms([BigInt(jobId), BigInt(stage), address]);
  if (terms.maxUnits === 0) throw new JobsPartNotServedError(`${address} has no quote for stage ${stage} of job ${jobId}`);
  const count = terms.served + fresh;
  // Each request's units as this provider traced them: 1 per inference, a generation's tokens
  // (positions it computed + 1, node/src/llm/trace.ts).
  const units = terms.servedUnits + freshUnits;
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
  // Kept so this provider can reveal its own sampled leaves if the gateway does not (jobs/reveals.ts).
  ctx.trace.keepSignedPart({
    jobId,
    stage,
    outputRoot: outputRoot as Hex,
    buyer: JSON.stringify((raw as { buyer: unknown }).buyer),
    requester,
  });
  log("signed part of job %s stage %d: %d new requests, count %d", jobId, stage, fresh, count);
  return { stage, provider: address, count, units, root: tree.root, signature };
}

/** Provider side: a leaf of the part's tree with its Merkle proof (the tree rebuilt as signed). */
export function revealLeaf(ctx: JobsContext, raw: unknown, requester = ctx.peerId): RevealAnswer {
  const { jobId, stage, leaves } = parseCommon(raw);
  const index = (raw as { index?: unknown }).index;
  if (!Number.isInteger(index)) throw new JobsProtocolError("reveal request needs an index");
  const { address } = requireWallet(ctx.chain);
  const { tree } = ownStageTree(ctx, address, jobId, stage, leaves, requester);
  if (!tree.has(index as number))
    throw new JobsPartNotServedError(`receipt request ${String(index)} is not in this provider's part at stage ${stage}`);
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
