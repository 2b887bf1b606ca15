// Limits of tensors in every form.

/** Default limit for one tensor's data (64 MiB). */
export const MAX_TENSOR_BYTES = 64 * 1024 * 1024;
/** Canonical bytes encode the rank in one byte. */
export const MAX_RANK = 255;
/** Most tensors in a JSON bag (a buyer's request); a pipeline frame takes no more (MAX_TENSORS_PER_FRAME). */
export const MAX_JSON_BAG_TENSORS = 64;
