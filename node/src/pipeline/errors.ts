// Errors of the pipeline protocol (frames, streams, hops). Each has a stable `name`: tests, remote
// peers (ERROR frames carry it) and the gateway's `{ error: { name } }` bodies match on it.

export class PipelineError extends Error {
  override name = "PipelineError";
}

/** A frame could not be parsed (bad varint, bad protobuf, inconsistent lengths). */
export class PipelineMalformedFrameError extends PipelineError {
  override name = "PipelineMalformedFrameError";
}
/** A frame's header or payload exceeds the protocol limits. */
export class PipelineFrameTooLargeError extends PipelineError {
  override name = "PipelineFrameTooLargeError";
  constructor(observed: number, limit: number) {
    super(`frame of ${observed} bytes exceeds the limit of ${limit}`);
  }
}
/** A bag of more tensors than one frame may carry (MAX_TENSORS_PER_FRAME). */
export class PipelineTooManyTensorsError extends PipelineError {
  override name = "PipelineTooManyTensorsError";
}
/** The peer speaks another pipeline wire version. */
export class PipelineVersionError extends PipelineError {
  override name = "PipelineVersionError";
}
/** Too many requests in flight on one stream. */
export class PipelineBusyError extends PipelineError {
  override name = "PipelineBusyError";
}
/** The hop did not answer within its deadline. */
export class PipelineTimeoutError extends PipelineError {
  override name = "PipelineTimeoutError";
}
/** The stream to the peer closed or reset while requests were in flight. */
export class PipelineStreamClosedError extends PipelineError {
  override name = "PipelineStreamClosedError";
}
/** A sealed data-plane channel carried nothing either way for its idle timeout and was closed. */
export class PipelineIdleError extends PipelineError {
  override name = "PipelineIdleError";
}
/**
 * The peer asked for more sealed data-plane offers than it may: more than
 * MAX_DATA_PLANE_OFFERS_PER_STREAM on one stream (the stream is closed), or more than
 * MAX_DATA_PLANE_OFFERS_PER_PEER within DATA_PLANE_TOKEN_TTL_MS (that request gets no offer).
 */
export class PipelineOfferLimitError extends PipelineError {
  override name = "PipelineOfferLimitError";
}
/** The provider does not serve the requested model/stage. */
export class PipelineUnknownStageError extends PipelineError {
  override name = "PipelineUnknownStageError";
}
/** The remote provider failed the request; `remoteName` is its error's name. */
export class PipelineRemoteError extends PipelineError {
  override name = "PipelineRemoteError";
  readonly remoteName: string;
  constructor(remoteName: string, message: string) {
    super(`${remoteName}: ${message}`);
    this.remoteName = remoteName;
  }
}
/** The provider does not serve this peer's request: not within a job it is part of, nor under its free tier. */
export class PipelineNotAdmittedError extends PipelineError {
  override name = "PipelineNotAdmittedError";
}
/** The peer is over this provider's free tier (requests outside any job). */
export class PipelineRateLimitedError extends PipelineError {
  override name = "PipelineRateLimitedError";
}
/** The peer or job has left as many traced bytes here as it may within the retention window. */
export class PipelineQuotaError extends PipelineError {
  override name = "PipelineQuotaError";
}
/**
 * A job request at stage > 0 came without the previous stage's HandOff signature: the caller's
 * fault (a provider works on a job's hop only when it holds what its upstream signed for it).
 */
export class PipelineHandOffMissingError extends PipelineError {
  override name = "PipelineHandOffMissingError";
}
/**
 * The request's HandOff signature is malformed, or is not over the input this provider received,
 * or its signer is not a provider quoted in the job for the previous stage: the caller's fault.
 */
export class PipelineHandOffInvalidError extends PipelineError {
  override name = "PipelineHandOffInvalidError";
}
/** A job request came without the buyer's JobRequest signature (and its request hash): the caller's fault. */
export class PipelineJobRequestMissingError extends PipelineError {
  override name = "PipelineJobRequestMissingError";
}
/**
 * The job request's JobRequest signature is not the job's session key's over (job, index,
 * requestHash), or (stage 0) requestHash is not the input received: the caller's fault.
 */
export class PipelineJobRequestInvalidError extends PipelineError {
  override name = "PipelineJobRequestInvalidError";
}
