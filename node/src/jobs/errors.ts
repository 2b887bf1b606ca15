// Errors of the job lifecycle; `name` is stable (tests, the gateway's JSON errors and remote
// peers match on it). Gateway-facing ones extend MeshError for their HTTP status.
import { MeshError } from "../mesh/errors.ts";

/** No live provider on the mesh serves the model asked for (quotes). */
export class JobsUnknownModelError extends MeshError {
  static override readonly status = 404;
  override name = "JobsUnknownModelError";
}
/** A stage of the model has no bound provider that answered with a quote. */
export class JobsNoQuoteError extends MeshError {
  static override readonly status = 503;
  override name = "JobsNoQuoteError";
}
/** A provider does not offer the (model, stage) a quote was asked for. */
export class JobsNotServedError extends MeshError {
  static override readonly status = 404;
  override name = "JobsNotServedError";
}
/** A provider refuses to sign a part naming requests its trace store does not hold. */
export class JobsPartNotServedError extends MeshError {
  static override readonly status = 409;
  override name = "JobsPartNotServedError";
}
/** A provider's signed part does not match what the gateway recorded for it. */
export class JobsPartMismatchError extends MeshError {
  static override readonly status = 502;
  override name = "JobsPartMismatchError";
}
/** The job has no new answered requests to put in a receipt. */
export class JobsNothingToReceiptError extends MeshError {
  static override readonly status = 409;
  override name = "JobsNothingToReceiptError";
}
/** The session key signed another (count, outputRoot) than the pending receipt's. */
export class JobsReceiptMismatchError extends MeshError {
  static override readonly status = 409;
  override name = "JobsReceiptMismatchError";
}
/** The receipt signature is not the job's session key's. */
export class JobsBadReceiptSignatureError extends MeshError {
  static override readonly status = 401;
  override name = "JobsBadReceiptSignatureError";
}
/** This gateway's provider served no stage of the receipt, so the contract would not accept it from it. */
export class JobsSubmitterNotPartError extends MeshError {
  static override readonly status = 409;
  override name = "JobsSubmitterNotPartError";
}
/** The job is unknown on chain, not open, or used up. */
export class JobsJobUnavailableError extends MeshError {
  static override readonly status = 409;
  override name = "JobsJobUnavailableError";
}
/** A peer on the route has no staking address bound on chain. */
export class JobsPeerUnboundError extends MeshError {
  static override readonly status = 502;
  override name = "JobsPeerUnboundError";
}
/** The node has no staking key (quotes, parts and receipts need one). */
export class JobsNoStakingKeyError extends MeshError {
  static override readonly status = 503;
  override name = "JobsNoStakingKeyError";
}
/** The chain hooks were used before the provider was attached. */
export class JobsNotAttachedError extends MeshError {
  static override readonly status = 503;
  override name = "JobsNotAttachedError";
}
/** A quote/receipt message was malformed or too large. */
export class JobsProtocolError extends MeshError {
  static override readonly status = 502;
  override name = "JobsProtocolError";
}
/** A remote peer answered a quote/receipt request with an error; `remoteName` is its name. */
export class JobsRemoteError extends MeshError {
  static override readonly status = 502;
  override name = "JobsRemoteError";
  readonly remoteName: string;
  constructor(remoteName: string, message: string) {
    super(`${remoteName}: ${message}`);
    this.remoteName = remoteName;
  }
}
