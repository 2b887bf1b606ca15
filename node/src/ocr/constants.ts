// Limits of the OCR image path (a buyer's image is untrusted input: its header is checked before
// any pixel is decoded, and decoding runs in a worker thread with a deadline).

/**
 * Source pixels allowed per model-input pixel. An image is resized to the model's input, so
 * pixels beyond this oversampling add nothing but decode time and memory:
 *   pixel cap = IMAGE_OVERSAMPLE × (largest input height × largest input width)
 * e.g. 16 × 48 × 1600 = 1,228,800 pixels for the PP-OCRv4 recogniser (a line crop of 4800×256).
 */
export const IMAGE_OVERSAMPLE = 16;
/**
 * Absolute ceiling whatever a model declares. Decoding holds ~20 bytes per pixel at its peak
 * (decoded RGBA, canvas, pixel read-back, copy, resize), so 16 MP ≈ 320 MB in the worker.
 */
export const MAX_IMAGE_PIXELS = 16_000_000;
/** One image's decode + pre-processing deadline; the worker is replaced when it passes. */
export const IMAGE_DECODE_TIMEOUT_MS = 5_000;
/** Decoder worker threads (images decode one at a time per worker). */
export const IMAGE_DECODE_WORKERS = 1;
/** Images waiting for a worker beyond which toInput rejects with ImageDecoderBusyError. */
export const IMAGE_DECODE_QUEUE = 16;
/** V8 heap of a decoder worker (its JS side; pixels are bounded by the pixel cap). */
export const IMAGE_WORKER_HEAP_MB = 96;

/** Default model input sizes when a model declares no bounds (the PP-OCR pre-processing's own). */
export const REC_MAX_WIDTH = 1600;
export const DET_LIMIT_SIDE = 960;
