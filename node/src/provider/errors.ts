// Errors of a provider's configuration; `name` is stable.

/** A config file or flag is invalid. */
export class ProviderConfigError extends Error {
  override name = "ProviderConfigError";
}
