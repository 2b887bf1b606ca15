// Error classes of the mesh, pipeline, router, trace store and gateway. Each has a stable
// `name` (tests and the gateway's JSON errors use it) and an HTTP status for the gateway.

export class MeshError extends Error {
  static readonly status: number = 500;
  override name = "MeshError";
  get status(): number {
    return (this.constructor as typeof MeshError).status;
  }
}

/** A frame could not be parsed (bad varint, bad protobuf, inconsistent lengths). */
export class PipelineMalformedFrameError extends MeshError {
  override name = "PipelineMalformedFrameError";
}
/** A frame's header or payload exceeds the protocol limits. */
export class PipelineFrameTooLargeError extends MeshError {
  static override readonly status = 413;
  override name = "PipelineFrameTooLargeError";
  constructor(observed: number, limit: number) {
    super(`frame of ${observed} bytes exceeds the limit of ${limit}`);
  }
}
/** The peer speaks another pipeline wire version. */
export class PipelineVersionError extends MeshError {
  override name = "PipelineVersionError";
}
/** Too many requests in flight on one stream. */
export class PipelineBusyError extends MeshError {
  static override readonly status = 503;
  override name = "PipelineBusyError";
}
/** The hop did not answer within its deadline. */
export class PipelineTimeoutError extends MeshError {
  static override readonly status = 504;
  override name = "PipelineTimeoutError";
}
/** The stream to the peer closed or reset while requests were in flight. */
export class PipelineStreamClosedError extends MeshError {
  static override readonly status = 502;
  override name = "PipelineStreamClosedError";
}
/** The provider does not serve the requested model/stage. */
export class PipelineUnknownStageError extends MeshError {
  static override readonly status = 404;
  override name = "PipelineUnknownStageError";
}
/** The remote provider failed the request; `remoteName` is its error's name. */
export class PipelineRemoteError extends MeshError {
  override name = "PipelineRemoteError";
  readonly remoteName: string;
  constructor(remoteName: string, message: string) {
    super(`${remoteName}: ${message}`);
    this.remoteName = remoteName;
  }
}
/** No live provider serves a stage (or all of them failed for this request). */
export class RouterNoProviderError extends MeshError {
  static override readonly status = 503;
  override name = "RouterNoProviderError";
}
/** A capability announcement failed validation (bad signature, binding, size). */
export class DirectoryInvalidAnnouncementError extends MeshError {
  override name = "DirectoryInvalidAnnouncementError";
}
/** A fetched stage file's sha256 does not match the manifest. */
export class ShardHashMismatchError extends MeshError {
  override name = "ShardHashMismatchError";
  constructor(observed: string, required: string) {
    super(`shard hash ${observed} != ${required}`);
  }
}
/** No peer could supply a stage file. */
export class ShardUnavailableError extends MeshError {
  static override readonly status = 503;
  override name = "ShardUnavailableError";
}
/** The identity key file exists but cannot be read as a libp2p private key. */
export class IdentityKeyFileError extends MeshError {
  override name = "IdentityKeyFileError";
}
/** A config file or flag is invalid. */
export class ProviderConfigError extends MeshError {
  static override readonly status = 400;
  override name = "ProviderConfigError";
}
/** The gateway rejected a request body. */
export class GatewayBadRequestError extends MeshError {
  static override readonly status = 400;
  override name = "GatewayBadRequestError";
}
/** Unknown model id or route. */
export class GatewayNotFoundError extends MeshError {
  static override readonly status = 404;
  override name = "GatewayNotFoundError";
}
/** Job session-key signature missing or wrong. */
export class GatewayUnauthorizedError extends MeshError {
  static override readonly status = 401;
  override name = "GatewayUnauthorizedError";
}
/** The feature needs a chain connection the node was started without. */
export class GatewayChainUnavailableError extends MeshError {
  static override readonly status = 501;
  override name = "GatewayChainUnavailableError";
}
