// Named errors of the language-model code (build, split, tokenizer, stateful sessions, import).
// Every class has a stable `name`; tests assert these names.

export class LlmError extends Error {
  override name = "LlmError";
}
/** A decoder config is invalid or inconsistent with the model. */
export class LlmConfigError extends LlmError {
  override name = "LlmConfigError";
}
/** A model cannot be cut between its transformer blocks as the stateful pipeline needs. */
export class DecoderSplitError extends LlmError {
  override name = "DecoderSplitError";
}
/** tokenizer.json / tokenizer_config.json missing or unusable, or a chat template failed. */
export class TokenizerError extends LlmError {
  override name = "TokenizerError";
}
/** Opening a session would exceed the stage's KV-cache budget or its session limit. */
export class KvCacheFullError extends LlmError {
  override name = "KvCacheFullError";
}
/** No provider serves a block stage of the model right now. */
export class LlmNoProviderError extends LlmError {
  override name = "LlmNoProviderError";
}
/** A step would write past the session's declared maximum length (or the model's). */
export class SessionLengthError extends LlmError {
  override name = "SessionLengthError";
}
/** No such session (never opened, closed, or expired). */
export class SessionNotFoundError extends LlmError {
  override name = "SessionNotFoundError";
}
/** A session id is already open. */
export class SessionExistsError extends LlmError {
  override name = "SessionExistsError";
}
/** A step's position is beyond the cache (a gap), or its tensors disagree with it. */
export class StepPositionError extends LlmError {
  override name = "StepPositionError";
}
/** A step id was already used by an earlier step of this session (not the last one). */
export class DuplicateStepError extends LlmError {
  override name = "DuplicateStepError";
}
/** Sampling parameters out of range. */
export class SamplingError extends LlmError {
  override name = "SamplingError";
}
/** `model import`: a source file is missing, too large, or its transfer failed. */
export class ModelImportError extends LlmError {
  override name = "ModelImportError";
}

/** Errors a peer may name on the wire (session protocol, worker replies), rebuilt by name. */
const BY_NAME: Record<string, new (message: string) => LlmError> = {
  DuplicateStepError,
  KvCacheFullError,
  SessionExistsError,
  SessionLengthError,
  SessionNotFoundError,
  StepPositionError,
};

/** The named error class for `name`, or undefined when it is not one of the above. */
export function llmErrorByName(name: string, message: string): LlmError | undefined {
  const C = BY_NAME[name];
  return C ? new C(message) : undefined;
}

/**
 * A paid generation some stage kept no record of (no valid hand-off from its upstream, its
 * session gone before the close): no receipt may name it, so it is not billed.
 */
export class SessionHandOffError extends LlmError {
  override name = "SessionHandOffError";
}
