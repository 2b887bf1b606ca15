// The job lifecycle of a provider node across the mesh and the chain.
export * from "./constants.ts";
export * from "./errors.ts";
export * from "./session.ts";
export * from "./quote.ts";
export * from "./parts.ts";
export * from "./ledger.ts";
export * from "./watcher.ts";
export * from "./service.ts";
export * from "./routing.ts";
export * from "./admission.ts";
