// What a buyer checks in every answer before trusting it (docs/PROTOCOL.md, "Who checks what"):
// the gateway's `responseHash` — the hash that goes into the buyer leaf the session key will sign,
// and that the last stage is judged against — must be the bag hash of the output the buyer got,
// and `requestHash` the bag hash of the tensors it sent. A gateway or last stage that hands the
// buyer other tensors than the ones hashed is caught here, before anything is signed over them.
// Before signing a receipt the session key checks it against the buyer's own log of answers
// (checkReceiptToSign): a gateway cannot get a tree, count or bill signed that the buyer did not get.
// Browser-safe: base64 through atob, no Buffer.
import { bagHash } from "../tensor/hash.ts";
import { DTYPE_CODE } from "../tensor/tensor.ts";
import type { DType, WireBag } from "../tensor/tensor.ts";
import type { Hex } from "viem";
import type { InferRequest, InferResponse, JsonTensor, ReceiptToSign } from "../gateway/api.ts";
import { buildBuyerTree, decodeBuyerLeaves } from "../receipts/leaves.ts";
import type { BuyerRecord } from "../receipts/leaves.ts";

/** Most leaves a receipt to sign may carry (the gateway's MAX_PART_INDICES). */
export const MAX_RECEIPT_LEAVES = 4_096;

/** An answer whose hashes are not those of the tensors sent or received. */
export class InferHashMismatchError extends Error {
  override name = "InferHashMismatchError";
}

function wireBag(tensors: Record<string, JsonTensor>): WireBag {
  const bag: WireBag = Object.create(null);
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = typeof t.dtype === "number" ? t.dtype : DTYPE_CODE[t.dtype as DType];
    if (!dtype) throw new InferHashMismatchError(`tensor ${name}: unknown dtype ${String(t.dtype)}`);
    const s = atob(t.data);
    const data = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) data[i] = s.charCodeAt(i);
    bag[name] = { dtype, dims: t.dims, data };
  }
  return bag;
}

/** Throws InferHashMismatchError unless `res` hashes match the request's tensors (when sent as tensors) and its output. */
export function checkInferResponse(
  req: Pick<InferRequest, "input">,
  res: Pick<InferResponse, "output" | "requestHash" | "responseHash">,
): void {
  if (req.input.tensors) {
    const sent = bagHash(wireBag(req.input.tensors));
    if (sent !== res.requestHash)
      throw new InferHashMismatchError(`requestHash ${res.requestHash} is not the hash ${sent} of the tensors sent`);
  }
  const got = bagHash(wireBag(res.output));
  if (got !== res.responseHash)
    throw new InferHashMismatchError(`responseHash ${res.responseHash} is not the hash ${got} of the output received`);
}

/** A receipt the gateway asks the session key to sign does not match the buyer's own log. */
export class ReceiptCheckError extends Error {
  override name = "ReceiptCheckError";
}

/** What the buyer recorded of one answered request (by the `index` /v1/infer answered). */
export interface LoggedResponse {
  requestHash: Hex;
  responseHash: Hex;
  /** What it was billed for: 1 for an inference (default). */
  units?: number;
  /** The nonce the request was signed and answered under: its leaf must carry it. */
  nonce?: number;
}

/**
 * Checks a receipt to sign (GET /v1/jobs/{id}/receipt) against the buyer's own log before its
 * session key signs it: the leaves the gateway sent rebuild `outputRoot`; they continue exactly
 * where the chain's receipted count stops; each is one of the buyer's answered requests (by the
 * index /v1/infer answered), with the request and response hashes and units the buyer got, none
 * twice; and the cumulative units are the chain's plus those leaves' (no inflated bill).
 * `responses` holds the buyer's answered requests not yet in a receipt; `receipted` is the job's
 * `count` and `units` on chain. ReceiptCheckError names the first mismatch.
 */
export function checkReceiptToSign(
  toSign: ReceiptToSign,
  responses: ReadonlyMap<number, LoggedResponse>,
  receipted: { count: number; units: number },
): void {
  const bad = (why: string): never => {
    throw new ReceiptCheckError(`receipt of job ${toSign.jobId} refused: ${why}`);
  };
  if (toSign.from !== receipted.count) bad(`it starts at request ${toSign.from}, the chain has ${receipted.count} receipted`);
  let leaves: BuyerRecord[] = [];
  try {
    leaves = decodeBuyerLeaves(toSign.leaves, MAX_RECEIPT_LEAVES);
  } catch (err) {
    bad((err as Error).message);
  }
  if (leaves[0].index !== toSign.from || toSign.count !== toSign.from + leaves.length)
    bad(`count ${toSign.count} is not from ${toSign.from} + ${leaves.length} leaves`);
  if (!Array.isArray(toSign.requests) || toSign.requests.length !== leaves.length) bad("requests must name one answered request per leaf");
  const seen = new Set<number>();
  let units = 0;
  for (const [k, leaf] of leaves.entries()) {
    const index = toSign.requests[k];
    const mine = responses.get(index);
    if (!mine) bad(`leaf ${leaf.index} names request ${index}, which this buyer has no unreceipted answer for`);
    if (seen.has(index)) bad(`request ${index} appears twice`);
    seen.add(index);
    if (
      leaf.requestHash.toLowerCase() !== mine!.requestHash.toLowerCase() ||
      leaf.responseHash.toLowerCase() !== mine!.responseHash.toLowerCase()
    )
      bad(`leaf ${leaf.index} (request ${index}) carries hashes other than the request sent and the response received`);
    if (mine!.nonce !== undefined && leaf.nonce !== BigInt(mine!.nonce))
      bad(`leaf ${leaf.index} (request ${index}) carries nonce ${leaf.nonce}, the request was signed for nonce ${mine!.nonce}`);
    if (leaf.units !== (mine!.units ?? 1)) bad(`leaf ${leaf.index} bills ${leaf.units} units, the answer was ${mine!.units ?? 1}`);
    units += leaf.units;
  }
  if (toSign.units !== receipted.units + units) bad(`units ${toSign.units} are not the receipted ${receipted.units} + ${units}`);
  const root = buildBuyerTree(leaves).root;
  if (root.toLowerCase() !== toSign.outputRoot.toLowerCase()) bad(`the leaves hash to ${root}, not to the outputRoot ${toSign.outputRoot}`);
}
