// Errors of the tensor protocol and the verifier service; `name` is stable (tests and remote
// peers match on it).

export class VerifierError extends Error {
  override name = "VerifierError";
}

/** A malformed request or answer on /shardmesh/tensor/1.0.0. */
export class TensorProtocolError extends VerifierError {
  override name = "TensorProtocolError";
}
/** The provider holds no tensors for (job, index, stage, side): never served, or past retention. */
export class TensorNotFoundError extends VerifierError {
  override name = "TensorNotFoundError";
}
/** The fetched bag does not hash to the revealed leaf's hash. */
export class TensorHashMismatchError extends VerifierError {
  override name = "TensorHashMismatchError";
  readonly expected: string;
  readonly got: string;
  constructor(message: string, expected: string, got: string) {
    super(message);
    this.expected = expected;
    this.got = got;
  }
}
/** A bag (or one frame of it) is over the size limit. */
export class TensorResponseTooLargeError extends VerifierError {
  override name = "TensorResponseTooLargeError";
}
/** The fetch did not finish within its deadline. */
export class TensorFetchTimeoutError extends VerifierError {
  override name = "TensorFetchTimeoutError";
}
/** The serving peer answered with another error (its name is kept). */
export class TensorRemoteError extends VerifierError {
  override name = "TensorRemoteError";
  readonly remoteName: string;
  constructor(remoteName: string, message: string) {
    super(`${remoteName}: ${message}`);
    this.remoteName = remoteName;
  }
}
/** The verifier has no manifest for a model it is asked to check. */
export class VerifierUnknownModelError extends VerifierError {
  override name = "VerifierUnknownModelError";
}
/** Bad verifier configuration (flags or file). */
export class VerifierConfigError extends VerifierError {
  override name = "VerifierConfigError";
}
/** The provider of a revealed leaf has no peer id bound on chain (cannot be asked for tensors). */
export class VerifierUnboundProviderError extends VerifierError {
  override name = "VerifierUnboundProviderError";
}
/** The verifier's token balance cannot cover the challenge bond (the contract would revert). */
export class VerifierInsufficientBondError extends VerifierError {
  override name = "VerifierInsufficientBondError";
}
/** The staker's stake is below ProviderStaking's minimum verifier stake: it cannot register. */
export class VerifierStakeTooLowError extends VerifierError {
  override name = "VerifierStakeTooLowError";
}
