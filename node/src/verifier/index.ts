// The verifier role of a provider node: the tensor protocol, re-execution checks, the service.
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./tensors.ts";
export * from "./models.ts";
export * from "./check.ts";
export * from "./service.ts";
export * from "./config.ts";
export * from "./start.ts";
export * from "./attach.ts";
export * from "./state.ts";
