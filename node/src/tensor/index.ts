// Tensors and bags, their codecs and hashes: the one module every layer imports.
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./tensor.ts";
export * from "./codec.ts";
export * from "./hash.ts";
