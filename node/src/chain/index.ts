// Chain access for the provider node: deployments, typed contracts, provider actions.
export * from "./deployments.ts";
export * from "./contracts.ts";
export * from "./provider.ts";
export * from "./errors.ts";
