// EIP-2612 permits for ShardToken (stake, open a job in one transaction). The types are
// @shardmesh/node/receipts/eip712.ts itself: one definition for the node, the contracts' tests and the web app.
export { permitSignatureParts, permitTypedData, tokenPermitDomain } from "@shardmesh/node/receipts/eip712.ts";
