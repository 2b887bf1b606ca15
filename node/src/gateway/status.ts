// The HTTP status of every error a gateway route can meet, by the error's stable `name`: mapping
// names to statuses is the gateway's business, the layers below only name their errors.
// 4xx: the buyer's request is at fault (never charged to a provider); 5xx: the mesh, the chain or
// this node could not serve it. A name not listed is a bug here: 500.

export const ERROR_STATUS: Readonly<Record<string, number>> = {
  // The buyer's request
  SyntaxError: 400, // JSON.parse of the body
  GatewayBadRequestError: 400,
  JobsInvalidJobIdError: 400,
  JobsNonceOutOfRangeError: 400,
  TensorJsonError: 400,
  InputMismatchError: 400,
  InputOutOfBoundsError: 400,
  TensorNotFiniteError: 400,
  ImageDecodeError: 400,
  OcrTaskUnknownError: 400,
  GatewayUnauthorizedError: 401,
  GatewayPaymentRequiredError: 402,
  JobsBadReceiptSignatureError: 401,
  GatewayNotFoundError: 404,
  JobsUnknownModelError: 404,
  JobsNotServedError: 404,
  PipelineUnknownStageError: 404,
  JobsUnitsExceededError: 402, // a generation reserves more units than the job has left
  JobsJobUnavailableError: 409,
  JobsNonceReusedError: 409, // a JobRequest signature (its nonce) is answered once per job
  JobsNothingToReceiptError: 409,
  JobsPartNotServedError: 409,
  JobsPartRootMismatchError: 409,
  JobsPartContradictsTraceError: 409,
  JobsReceiptMismatchError: 409,
  JobsSubmitterNotPartError: 409,
  ImageTooLargeError: 413,
  InputTooLargeError: 413,
  GatewayBodyTooLargeError: 413,
  PipelineFrameTooLargeError: 413,
  PipelineTooManyTensorsError: 413,
  ImageDecodeTimeoutError: 422,
  RouterInputRefusedError: 422, // every provider of a stage refused the buyer's input as malformed
  GatewayRateLimitedError: 429,
  // Language models (node/src/llm; OpenAiRequestError carries its own 4xx)
  OpenAiRequestError: 400,
  SamplingError: 400,
  SessionLengthError: 400,
  TokenizerError: 400,
  // What this node cannot do
  GatewayChainUnavailableError: 501,
  // Peers, the mesh and the chain
  JobsPartMismatchError: 502,
  JobsPeerUnboundError: 502,
  JobsProtocolError: 502,
  JobsRemoteError: 502,
  PipelineStreamClosedError: 502,
  SessionStreamClosedError: 502,
  SessionRemoteError: 502,
  SessionNotFoundError: 502, // a provider lost the session (restart, expiry)
  StageOutputError: 502,
  SessionHandOffError: 502,
  DuplicateStepError: 502,
  StepPositionError: 502,
  KvCacheFullError: 503,
  LlmNoProviderError: 503,
  ImageDecoderBusyError: 503,
  JobsNoQuoteError: 503,
  JobsNoStakingKeyError: 503,
  PipelineBusyError: 503,
  RouterNoProviderError: 503,
  ShardUnavailableError: 503,
  PipelineTimeoutError: 504,
  InferenceTimeoutError: 504,
};

/** HTTP status of an error a route raised (500 for a name the table does not list). */
export function errorStatus(err: Error): number {
  return ERROR_STATUS[err.name] ?? 500;
}
