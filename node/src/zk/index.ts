// zk spot checks of a model's int8 head: commitments, proof encoding, the prover.
export * from "./errors.ts";
export * from "./commit.ts";
export * from "./proof.ts";
export * from "./artifacts.ts";
export * from "./prover.ts";
export * from "./deploy.ts";
export * from "./dispute.ts";
