// Errors of the mesh: identity, capability directory and shard transfer. Each has a stable `name`
// (tests and remote peers match on it).

export class MeshError extends Error {
  override name = "MeshError";
}

/** A capability announcement failed validation (bad signature, binding, size). */
export class DirectoryInvalidAnnouncementError extends MeshError {
  override name = "DirectoryInvalidAnnouncementError";
}
/** A shard request or answer is not a valid protobuf message. */
export class ShardProtocolError extends MeshError {
  override name = "ShardProtocolError";
}
/** No peer could supply a stage file. */
export class ShardUnavailableError extends MeshError {
  override name = "ShardUnavailableError";
}
/** The identity key file exists but cannot be read as a libp2p private key. */
export class IdentityKeyFileError extends MeshError {
  override name = "IdentityKeyFileError";
}
