// Errors the gateway raises itself about a buyer's HTTP request. Every error's HTTP status, these
// and those of the layers below, is in ./status.ts.

export class GatewayError extends Error {
  override name = "GatewayError";
}

/** The gateway rejected a request body. */
export class GatewayBadRequestError extends GatewayError {
  override name = "GatewayBadRequestError";
}
/** Unknown model id or route. */
export class GatewayNotFoundError extends GatewayError {
  override name = "GatewayNotFoundError";
}
/** Job session-key signature missing or wrong. */
export class GatewayUnauthorizedError extends GatewayError {
  override name = "GatewayUnauthorizedError";
}
/** The feature needs a chain connection the node was started without. */
export class GatewayChainUnavailableError extends GatewayError {
  override name = "GatewayChainUnavailableError";
}
/** The request body is larger than the gateway accepts (derived from the served models' bounds). */
export class GatewayBodyTooLargeError extends GatewayError {
  override name = "GatewayBodyTooLargeError";
}
/** A client sent more unpaid requests than its share; `retryAfterSeconds` says when one is free again. */
export class GatewayRateLimitedError extends GatewayError {
  override name = "GatewayRateLimitedError";
  readonly retryAfterSeconds: number;
  constructor(message: string, retryAfterSeconds: number) {
    super(message);
    this.retryAfterSeconds = retryAfterSeconds;
  }
}
/** This gateway serves no unpaid requests (`--unpaid-rate 0`): open a job and send requests under it. */
export class GatewayPaymentRequiredError extends GatewayError {
  override name = "GatewayPaymentRequiredError";
}
