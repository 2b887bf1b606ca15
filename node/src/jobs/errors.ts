// Errors of the job lifecycle; `name` is stable (tests, the gateway's JSON errors and remote
// peers match on it; their HTTP statuses are the gateway's, node/src/gateway/status.ts).

export class JobsError extends Error {
  override name = "JobsError";
}

/** No live provider on the mesh serves the model asked for (quotes). */
export class JobsUnknownModelError extends JobsError {
  override name = "JobsUnknownModelError";
}
/** A stage of the model has no bound provider that answered with a quote. */
export class JobsNoQuoteError extends JobsError {
  override name = "JobsNoQuoteError";
}
/** A provider does not offer the (model, stage) a quote was asked for. */
export class JobsNotServedError extends JobsError {
  override name = "JobsNotServedError";
}
/** A provider refuses to sign a part naming requests its trace store does not hold. */
export class JobsPartNotServedError extends JobsError {
  override name = "JobsPartNotServedError";
}
/** The buyer leaves sent with a part request do not hash to the `outputRoot` the provider would sign. */
export class JobsPartRootMismatchError extends JobsError {
  override name = "JobsPartRootMismatchError";
}
/** A buyer leaf routed to this provider contradicts its own record (stage 0: requestHash; last stage: responseHash). */
export class JobsPartContradictsTraceError extends JobsError {
  override name = "JobsPartContradictsTraceError";
}
/** A provider's signed part does not match what the gateway recorded for it. */
export class JobsPartMismatchError extends JobsError {
  override name = "JobsPartMismatchError";
}
/** The job has no new answered requests to put in a receipt. */
export class JobsNothingToReceiptError extends JobsError {
  override name = "JobsNothingToReceiptError";
}
/** The session key signed another (count, outputRoot) than the pending receipt's. */
export class JobsReceiptMismatchError extends JobsError {
  override name = "JobsReceiptMismatchError";
}
/** The receipt signature is not the job's session key's. */
export class JobsBadReceiptSignatureError extends JobsError {
  override name = "JobsBadReceiptSignatureError";
}
/** This gateway's provider served no stage of the receipt, so the contract would not accept it from it. */
export class JobsSubmitterNotPartError extends JobsError {
  override name = "JobsSubmitterNotPartError";
}
/** A job id that is not a decimal uint256. */
export class JobsInvalidJobIdError extends JobsError {
  override name = "JobsInvalidJobIdError";
}
/** The job is unknown on chain, not open, or used up. */
export class JobsJobUnavailableError extends JobsError {
  override name = "JobsJobUnavailableError";
}
/** A request asks for more units than the job has left (a generation reserves prompt + max_tokens). */
export class JobsUnitsExceededError extends JobsError {
  override name = "JobsUnitsExceededError";
}
/** A request nonce already answered or in flight in the job: a JobRequest signature buys one request. */
export class JobsNonceReusedError extends JobsError {
  override name = "JobsNonceReusedError";
}
/** A request nonce that is not an integer below the job's maxUnits. */
export class JobsNonceOutOfRangeError extends JobsError {
  override name = "JobsNonceOutOfRangeError";
}
/** A peer on the route has no staking address bound on chain. */
export class JobsPeerUnboundError extends JobsError {
  override name = "JobsPeerUnboundError";
}
/** The node has no staking key (quotes, parts and receipts need one). */
export class JobsNoStakingKeyError extends JobsError {
  override name = "JobsNoStakingKeyError";
}
/** A quote/receipt message was malformed or too large. */
export class JobsProtocolError extends JobsError {
  override name = "JobsProtocolError";
}
/** A remote peer answered a quote/receipt request with an error; `remoteName` is its name. */
export class JobsRemoteError extends JobsError {
  override name = "JobsRemoteError";
  readonly remoteName: string;
  constructor(remoteName: string, message: string) {
    super(`${remoteName}: ${message}`);
    this.remoteName = remoteName;
  }
}
