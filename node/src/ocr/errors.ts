// Named errors of the OCR image path. Every one is the buyer's image's fault except
// ImageDecoderBusyError (the node's decoder queue is full); the gateway maps names to statuses.

/** The bytes are not an image the decoder understands (or not PNG/JPEG, the formats accepted). */
export class ImageDecodeError extends Error {
  override name = "ImageDecodeError";
}

/** The image header declares more pixels than the model's input can use (checked before decoding). */
export class ImageTooLargeError extends Error {
  override name = "ImageTooLargeError";
  readonly pixels: number;
  readonly limit: number;
  constructor(width: number, height: number, limit: number) {
    super(`image of ${width}×${height} = ${width * height} pixels is over the limit of ${limit} pixels for this model`);
    this.pixels = width * height;
    this.limit = limit;
  }
}

/** Decoding and pre-processing one image took longer than IMAGE_DECODE_TIMEOUT_MS (the worker was replaced). */
export class ImageDecodeTimeoutError extends Error {
  override name = "ImageDecodeTimeoutError";
}

/** Too many images are waiting for the decoder; retry later. */
export class ImageDecoderBusyError extends Error {
  override name = "ImageDecoderBusyError";
}

/** A model id has no image pre-processing on this node. */
export class OcrTaskUnknownError extends Error {
  override name = "OcrTaskUnknownError";
}
