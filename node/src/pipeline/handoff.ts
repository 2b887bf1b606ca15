// Hand-offs between the stages of a job request (docs/PROTOCOL.md, "Who checks what"). The
// provider of stage s < S−1 signs EIP-712 HandOff(jobId, nonce = the request's trace index,
// boundary = s+1, hash = bagHash(the output it sends)) with its staking key and sends it in its
// RESPONSE; the gateway checks it over the bytes it received and forwards it in the next hop's
// REQUEST; the provider of stage s+1 works only when it holds such a signature over the bytes it
// received, by a provider quoted in the job for stage s, and keeps it in its trace row. At a
// broken hand-off (SpotCheck: stage s's revealed output ≠ stage s+1's revealed input) the
// downstream presents it (jobs/claims.ts) and the upstream, who contradicted its own
// signature, is faulted instead of the honest downstream.
import { getAddress, isAddressEqual, isHex, recoverTypedDataAddress } from "viem";
import type { Address, Hex, TypedDataDomain } from "viem";
import { handOffTypedData, signHandOff } from "../receipts/eip712.ts";
import type { TypedDataSigner } from "../receipts/eip712.ts";
import { PipelineHandOffInvalidError, PipelineHandOffMissingError } from "./errors.ts";

/** Bytes of an ECDSA signature (r ‖ s ‖ v) as a HandOff carries it. */
export const HAND_OFF_SIGNATURE_BYTES = 65;

const JOB_ID = /^\d{1,78}$/;
const MAX_UINT64 = 2n ** 64n - 1n;

/** A job id and request index as EIP-712's `uint256 jobId` and `uint64 nonce`; undefined when they are not. */
export function jobNonce(jobId: string, index: number): { jobId: bigint; nonce: bigint } | undefined {
  if (!JOB_ID.test(jobId) || !Number.isSafeInteger(index) || index < 0 || BigInt(index) > MAX_UINT64) return undefined;
  return { jobId: BigInt(jobId), nonce: BigInt(index) };
}

/** The hand-off of request `index` of `jobId` across cut `boundary` over `hash`. */
export interface HandOffClaim {
  jobId: string;
  index: number;
  boundary: number;
  hash: Hex;
}

function message(c: HandOffClaim) {
  const key = jobNonce(c.jobId, c.index);
  if (!key)
    throw new PipelineHandOffInvalidError(
      `job ${JSON.stringify(c.jobId.slice(0, 80))} request ${c.index} is no market job id and uint64 index`,
    );
  return { ...key, boundary: c.boundary, hash: c.hash };
}

/** Signs this provider's hand-off (its staking key). */
export function signHandOffFor(signer: TypedDataSigner, domain: TypedDataDomain, c: HandOffClaim): Promise<Hex> {
  return signHandOff(signer, domain, message(c));
}

/** Who signed `signature` over the hand-off `c`; PipelineHandOffInvalidError when it is no signature at all. */
export async function handOffSigner(domain: TypedDataDomain, c: HandOffClaim, signature: Hex): Promise<Address> {
  if (!isHex(signature) || signature.length !== 2 + 2 * HAND_OFF_SIGNATURE_BYTES)
    throw new PipelineHandOffInvalidError(`a hand-off signature is ${HAND_OFF_SIGNATURE_BYTES} bytes`);
  try {
    return getAddress(await recoverTypedDataAddress({ ...handOffTypedData(domain, message(c)), signature }));
  } catch (err) {
    throw new PipelineHandOffInvalidError(`hand-off signature does not recover: ${(err as Error).message.split("\n")[0]}`);
  }
}

export interface HandOffsInit {
  /** The EIP-712 domain of the job market (chain id + JobMarket). */
  domain: TypedDataDomain;
  /** This provider's staking key: signs the hand-offs of the outputs it sends. */
  signer: TypedDataSigner;
  /** The providers a job accepted quotes from at a stage (on chain: QuoteAccepted). */
  quoted: (jobId: string, stage: number) => Promise<ReadonlySet<Address>>;
  /** How many stages a model has (the last one signs no hand-off); undefined: not served here. */
  stageCount: (modelId: string) => number | undefined;
}

/** A provider's side of the hand-offs of job requests: checks the upstream's, signs its own. */
export class HandOffs {
  private readonly init: HandOffsInit;

  constructor(init: HandOffsInit) {
    this.init = init;
  }

  /**
   * The upstream's hand-off of a job request at `stage` > 0 over `inputHash` (what this provider
   * received): returns its signer, a provider quoted in the job for `stage − 1`, or throws
   * PipelineHandOffMissingError / PipelineHandOffInvalidError.
   */
  async checkUpstream(req: { jobId: string; index: number; stage: number; inputHash: Hex; signature?: Hex }): Promise<Address> {
    if (!req.signature)
      throw new PipelineHandOffMissingError(
        `job ${req.jobId} request ${req.index} at stage ${req.stage} carries no hand-off from stage ${req.stage - 1}`,
      );
    const claim = { jobId: req.jobId, index: req.index, boundary: req.stage, hash: req.inputHash };
    const signer = await handOffSigner(this.init.domain, claim, req.signature);
    const quoted = await this.init.quoted(req.jobId, req.stage - 1);
    if (![...quoted].some((a) => isAddressEqual(a, signer)))
      throw new PipelineHandOffInvalidError(
        `hand-off of job ${req.jobId} request ${req.index} into stage ${req.stage} is signed by ${signer}, not by a provider quoted for stage ${req.stage - 1} over the input received`,
      );
    return signer;
  }

  /** This provider's hand-off of the output it sends from `stage`; undefined at the model's last stage. */
  async sign(req: { modelId: string; jobId: string; index: number; stage: number; outputHash: Hex }): Promise<Hex | undefined> {
    const stages = this.init.stageCount(req.modelId);
    if (stages === undefined || req.stage >= stages - 1) return undefined;
    return signHandOffFor(this.init.signer, this.init.domain, {
      jobId: req.jobId,
      index: req.index,
      boundary: req.stage + 1,
      hash: req.outputHash,
    });
  }
}
