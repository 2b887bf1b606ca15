// Receipts: the only place the node builds receipt trees, leaves and EIP-712 signatures.
export * from "./eip712.ts";
export * from "./leaves.ts";
export * from "./parts.ts";
export * from "./errors.ts";
