// One re-execution check of a revealed stage leaf: fetch the input and output bags the provider
// kept (hash-checked against the leaf), re-run that single stage and compare within the model's
// tolerance. A provider that cannot deliver a revealed tensor, or delivers one that does not hash
// to its leaf, is treated as having cheated (DESIGN.md step 7).
import { logger } from "@libp2p/logger";
import { peerIdFromString } from "@libp2p/peer-id";
import { multiaddr } from "@multiformats/multiaddr";
import type { Hex } from "viem";
import type { MeshNode } from "../mesh/node.ts";
import { verifyStage } from "../inference/verify.ts";
import { verifyDecoderTrace } from "../llm/verify.ts";
import type { Verdict } from "../inference/verify.ts";
import { TENSOR_FETCH_ATTEMPTS, TENSOR_FETCH_RETRY_MS } from "./constants.ts";
import { TensorHashMismatchError } from "./errors.ts";
import type { ModelCatalog } from "./models.ts";
import { fetchTensors } from "./tensors.ts";
import type { FetchOptions, TensorSide } from "./tensors.ts";
import { fromWireBag } from "../tensor/index.ts";
import type { WireBag } from "../tensor/index.ts";

const log = logger("shardmesh:verifier:check");

/**
 * - match: recomputed output within tolerance of the claimed one (honest);
 * - mismatch: it is not (fraud);
 * - unavailable: the provider did not deliver a revealed tensor (fraud);
 * - hash-mismatch: it delivered tensors that do not hash to its leaf (fraud);
 * - inconclusive: this verifier could not decide (no model, input it cannot run): no accusation.
 */
export type CheckOutcome = "match" | "mismatch" | "unavailable" | "hash-mismatch" | "inconclusive";

export interface StageCheck {
  outcome: CheckOutcome;
  /** true: fraud; false: honest; undefined: inconclusive. */
  fraud: boolean | undefined;
  detail: string;
  maxAbsDiff?: number;
  verdict?: Verdict;
}

export interface RevealedStage {
  jobId: string;
  modelId: string;
  /** Request index of the sampled leaf (a hint for the provider: its trace index may differ). */
  index: number;
  stage: number;
  inputHash: Hex;
  outputHash: Hex;
  /** libp2p peer id of the provider that served the stage (bound on chain to its address). */
  peerId: string;
}

export interface CheckOptions {
  signal?: AbortSignal;
  attempts?: number;
  retryMs?: number;
  fetch?: Omit<FetchOptions, "expectedHash" | "signal">;
  /** Known addresses of a peer (e.g. from the capability directory), for peers not connected yet. */
  peerAddrs?: (peerId: string) => string[];
}

/** Teaches the peer store a provider's announced addresses when no connection to it exists. */
async function learnAddrs(node: MeshNode, peerId: string, o: CheckOptions): Promise<void> {
  const addrs = o.peerAddrs?.(peerId) ?? [];
  if (addrs.length === 0) return;
  const id = peerIdFromString(peerId);
  if (node.getConnections(id).length > 0) return;
  try {
    await node.peerStore.merge(id, { multiaddrs: addrs.map((a) => multiaddr(a)) });
  } catch (err) {
    log("cannot use announced addresses of %s: %s", peerId, (err as Error).message);
  }
}

async function fetchWithRetry(node: MeshNode, leaf: RevealedStage, side: TensorSide, expectedHash: Hex, o: CheckOptions): Promise<WireBag> {
  const attempts = o.attempts ?? TENSOR_FETCH_ATTEMPTS;
  await learnAddrs(node, leaf.peerId, o);
  let last: Error | undefined;
  for (let i = 0; i < attempts; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, o.retryMs ?? TENSOR_FETCH_RETRY_MS));
    o.signal?.throwIfAborted();
    try {
      return await fetchTensors(
        node,
        leaf.peerId,
        { jobId: leaf.jobId, stage: leaf.stage, side, hash: expectedHash, index: leaf.index },
        { ...o.fetch, signal: o.signal },
      );
    } catch (err) {
      last = err as Error;
      if (last instanceof TensorHashMismatchError || o.signal?.aborted) throw last;
      log("fetch %s of job %s stage %d, attempt %d: %s: %s", side, leaf.jobId, leaf.stage, i + 1, last.name, last.message);
    }
  }
  throw last ?? new Error("no fetch attempt");
}

/** Fetches, hash-checks and re-executes one revealed stage leaf. */
export async function checkRevealedStage(
  node: MeshNode,
  models: ModelCatalog,
  leaf: RevealedStage,
  options: CheckOptions = {},
): Promise<StageCheck> {
  if (!models.has(leaf.modelId)) return { outcome: "inconclusive", fraud: undefined, detail: `no manifest for model ${leaf.modelId}` };
  let input: WireBag;
  let output: WireBag;
  try {
    input = await fetchWithRetry(node, leaf, "input", leaf.inputHash, options);
    output = await fetchWithRetry(node, leaf, "output", leaf.outputHash, options);
  } catch (err) {
    const e = err as Error;
    if (options.signal?.aborted) throw e;
    if (e instanceof TensorHashMismatchError) return { outcome: "hash-mismatch", fraud: true, detail: e.message };
    return { outcome: "unavailable", fraud: true, detail: `${e.name}: ${e.message}` };
  }
  // A decoder block stage served a session: its trace is the whole sequence, re-run in one
  // prefill pass and compared position by position within tolerance (never by hash).
  try {
    if (await models.isDecoderStage(leaf.modelId, leaf.stage)) return await checkDecoderLeaf(models, leaf, input, output, options);
  } catch (err) {
    const e = err as Error;
    if (options.signal?.aborted) throw e;
    return { outcome: "inconclusive", fraud: undefined, detail: `${e.name}: ${e.message}` };
  }
  let verdict: Verdict;
  try {
    const runner = await models.runner(leaf.modelId, leaf.stage);
    const tolerance = await models.tolerance(leaf.modelId);
    const claimed = claimedOutput(output);
    if ("fraud" in claimed) return claimed.fraud;
    verdict = await verifyStage(runner, fromWireBag(input), claimed.bag, tolerance, { signal: options.signal });
  } catch (err) {
    const e = err as Error;
    if (options.signal?.aborted) throw e;
    // Input the stage cannot run (or a local failure): never convict on it.
    return { outcome: "inconclusive", fraud: undefined, detail: `${e.name}: ${e.message}` };
  }
  if (verdict.ok)
    return { outcome: "match", fraud: false, detail: `within tolerance ${verdict.tolerance}`, maxAbsDiff: verdict.maxAbsDiff, verdict };
  const bad = verdict.tensors.filter((t) => !t.ok).map((t) => `${t.name} (${t.reason}, max diff ${t.maxAbsDiff})`);
  return {
    outcome: "mismatch",
    fraud: true,
    detail: `recomputed output differs: ${bad.join(", ")}`,
    maxAbsDiff: verdict.maxAbsDiff,
    verdict,
  };
}

/**
 * The claimed output bag as typed tensors. A claimed bag that cannot even be decoded (bad dtype,
 * NaN, wrong byte count) hashes to the leaf, so it is the provider's claim: fraud.
 */
function claimedOutput(output: WireBag): { bag: ReturnType<typeof fromWireBag> } | { fraud: StageCheck } {
  try {
    return { bag: fromWireBag(output) };
  } catch (err) {
    const e = err as Error;
    return { fraud: { outcome: "mismatch", fraud: true, detail: `claimed output is not a valid bag: ${e.name}: ${e.message}` } };
  }
}

/** The decoder-stage branch of checkRevealedStage: the session's trace re-run in one prefill pass. */
async function checkDecoderLeaf(
  models: ModelCatalog,
  leaf: RevealedStage,
  input: WireBag,
  output: WireBag,
  options: CheckOptions,
): Promise<StageCheck> {
  const claimed = claimedOutput(output);
  if ("fraud" in claimed) return claimed.fraud;
  const runner = await models.decoderRunner(leaf.modelId, leaf.stage);
  const tolerance = await models.tolerance(leaf.modelId);
  const v = await verifyDecoderTrace(runner, fromWireBag(input), claimed.bag, tolerance, { signal: options.signal });
  if (v.ok)
    return { outcome: "match", fraud: false, detail: `${v.positions} positions within tolerance ${tolerance}`, maxAbsDiff: v.maxAbsDiff };
  return {
    outcome: "mismatch",
    fraud: true,
    detail: `recomputed hidden state differs from position ${v.firstBadPosition} of ${v.positions} (max diff ${v.maxAbsDiff})`,
    maxAbsDiff: v.maxAbsDiff,
  };
}
