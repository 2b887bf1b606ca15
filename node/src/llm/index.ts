// Public API of the language-model code: the project's Llama-architecture decoder and its
// Hugging Face folder, tokenizers, decoder splitting, stateful stage sessions, sampling and
// generation on the gateway, and `model import`.
export * from "./errors.ts";
export * from "./config.ts";
export * from "./llama.ts";
export * from "./folder.ts";
export * from "./tokenizer.ts";
export * from "./split.ts";
export * from "./stage-runner.ts";
export * from "./sampling.ts";
export * from "./generate.ts";
export * from "./import.ts";
export * from "./train.ts";
export * from "./corpus.ts";
export * from "./session-protocol.ts";
export * from "./service.ts";
export * from "./demo-model.ts";
export * from "./verify.ts";
export * from "./trace.ts";
export * from "./handoff.ts";
