// The buyer's request, checked by every provider of a paid job (docs/PROTOCOL.md, "Who checks
// what"): a job's pipeline REQUEST carries the session key's JobRequest(jobId, nonce = the index
// the request is traced under, requestHash) signature and the requestHash it signs; a provider
// works on it only if the job's session key (on chain, fixed when the job opened) signed it, and
// stage 0 only if requestHash is the bag hash of the input it received. A stranger can then no
// longer take a (job, index, stage) trace row before the buyer's request gets there (rows are
// written once): it would need the buyer's signature for that index, and at stage 0 the buyer's
// very input (beyond stage 0 the upstream's hand-off over it, ./handoff.ts).
import { isHex } from "viem";
import type { Address, Hex, TypedDataDomain } from "viem";
import { verifyJobRequestSignature } from "../jobs/session.ts";
import { PipelineJobRequestInvalidError, PipelineJobRequestMissingError } from "./errors.ts";
import { jobNonce } from "./handoff.ts";

/** Jobs whose session key is cached (least recently used dropped first: job ids come from peers). */
export const MAX_SESSION_KEYS_CACHED = 4_096;

/** The buyer's signed request as a job's hop carries it. */
export interface SignedJobRequest {
  /** bagHash of the model input the buyer sent (stage 0's input). */
  requestHash: Hex;
  /** The session key's JobRequest(jobId, nonce, requestHash) signature. */
  signature: Hex;
}

export interface JobRequestCheckInit {
  /** The EIP-712 domain of the job market (chain id + JobMarket). */
  domain: TypedDataDomain;
  /** A job's session key (on chain); undefined when there is no such job. */
  sessionKey: (jobId: string) => Promise<Address | undefined>;
}

/** A provider's check of the buyer's signature on a job's hop. */
export class JobRequestCheck {
  private readonly init: JobRequestCheckInit;
  private readonly keys = new Map<string, Promise<Address | undefined>>();

  constructor(init: JobRequestCheckInit) {
    this.init = init;
  }

  /**
   * Throws PipelineJobRequestMissingError / PipelineJobRequestInvalidError unless the hop carries
   * the buyer's request. `inputHash`: stage 0's input, which must be the signed requestHash (a
   * decoder session's requestHash is its body's hash, which no stage sees: none given).
   */
  async check(req: { jobId: string; index: number; stage: number; inputHash?: Hex; request?: SignedJobRequest }): Promise<void> {
    const where = `job ${req.jobId.slice(0, 80)} request ${req.index} at stage ${req.stage}`;
    if (!req.request) throw new PipelineJobRequestMissingError(`${where} carries no JobRequest signed by the job's session key`);
    const { requestHash, signature } = req.request;
    if (!isHex(requestHash) || requestHash.length !== 66) throw new PipelineJobRequestInvalidError(`${where}: requestHash is not 32 bytes`);
    if (req.stage === 0 && req.inputHash && requestHash.toLowerCase() !== req.inputHash.toLowerCase())
      throw new PipelineJobRequestInvalidError(`${where}: the signed request ${requestHash} is not the input received (${req.inputHash})`);
    const job = jobNonce(req.jobId, req.index);
    if (!job) throw new PipelineJobRequestInvalidError(`${where}: no market job id and uint64 index`);
    const key = await this.sessionKey(req.jobId);
    if (!key) throw new PipelineJobRequestInvalidError(`${where}: no such job on chain`);
    const ok = await verifyJobRequestSignature(this.init.domain, key, { ...job, requestHash }, signature);
    if (!ok) throw new PipelineJobRequestInvalidError(`${where}: not signed by the job's session key ${key} for this index and input`);
  }

  private sessionKey(jobId: string): Promise<Address | undefined> {
    let p = this.keys.get(jobId);
    if (p) this.keys.delete(jobId);
    else {
      p = this.init.sessionKey(jobId);
      // An absence or a failed read is asked again next time (the job may open a moment later).
      p.then(
        (k) => k ?? this.keys.delete(jobId),
        () => this.keys.delete(jobId),
      );
    }
    this.keys.set(jobId, p);
    while (this.keys.size > MAX_SESSION_KEYS_CACHED) this.keys.delete(this.keys.keys().next().value as string);
    return p;
  }
}
