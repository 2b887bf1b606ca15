// Receipt Merkle trees (OpenZeppelin StandardMerkleTree; verified on chain with MerkleProof).
// Leaf encodings mirror contracts/libraries/ReceiptHashing.sol:
//   buyer leaf : (uint256 index, uint64 nonce, uint32 units, bytes32 requestHash, bytes32 responseHash, bytes32 routeHash)
//   stage leaf : (uint256 index, bytes32 inputHash, bytes32 outputHash)
//   routeHash  = keccak256(abi.encode(address[] route)), route[s] = provider that served stage s
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { encodeAbiParameters, getAddress, keccak256 } from "viem";
import type { Address, Hex } from "viem";
import { ReceiptLeafMissingError, ReceiptEmptyTreeError, ReceiptLeavesWireError } from "./errors.ts";

export const BUYER_LEAF_ENCODING = ["uint256", "uint64", "uint32", "bytes32", "bytes32", "bytes32"];
export const STAGE_LEAF_ENCODING = ["uint256", "bytes32", "bytes32"];

/** What the gateway records per request for the buyer's tree. */
export interface BuyerRecord {
  index: number;
  /** The buyer's request nonce (unique in the job; what HandOff signatures name). */
  nonce: bigint;
  /** What the request is paid for: 1 for an inference. */
  units: number;
  requestHash: Hex;
  responseHash: Hex;
  route: Address[];
}

/** What a stage provider records per request it served. */
export interface StageRecord {
  index: number;
  inputHash: Hex;
  outputHash: Hex;
}

/** The buyer leaf as SpotCheck takes it. */
export interface BuyerLeaf {
  index: bigint;
  nonce: bigint;
  units: number;
  requestHash: Hex;
  responseHash: Hex;
  routeHash: Hex;
}

/** The stage leaf as SpotCheck takes it. */
export interface StageLeaf {
  index: bigint;
  inputHash: Hex;
  outputHash: Hex;
}

export function routeHash(route: readonly Address[]): Hex {
  return keccak256(encodeAbiParameters([{ type: "address[]" }], [route]));
}

/** A tree plus lookup of leaves and proofs by request index. */
export interface ReceiptTree<L> {
  root: Hex;
  size: number;
  leaf(index: number): L;
  proof(index: number): Hex[];
  has(index: number): boolean;
}

function makeTree<L>(rows: unknown[][], encoding: string[], toLeaf: (row: unknown[]) => L): ReceiptTree<L> {
  if (rows.length === 0) throw new ReceiptEmptyTreeError("a receipt tree needs at least one leaf");
  const tree = StandardMerkleTree.of(rows, encoding);
  const position = new Map<number, number>();
  for (const [i, row] of tree.entries()) position.set(Number(row[0] as bigint | string | number), i);
  const at = (index: number): number => {
    const p = position.get(index);
    if (p === undefined) throw new ReceiptLeafMissingError(`request ${index} is not in this tree`);
    return p;
  };
  return {
    root: tree.root as Hex,
    size: rows.length,
    has: (index) => position.has(index),
    leaf: (index) => toLeaf(tree.at(at(index)) as unknown[]),
    proof: (index) => tree.getProof(at(index)) as Hex[],
  };
}

/** The buyer tree over this receipt's requests (its root is the receipt's outputRoot). */
export function buildBuyerTree(records: readonly BuyerRecord[]): ReceiptTree<BuyerLeaf> {
  const rows = records.map((r) => [
    BigInt(r.index).toString(),
    BigInt(r.nonce).toString(),
    r.units,
    r.requestHash,
    r.responseHash,
    routeHash(r.route),
  ]);
  return makeTree(rows, BUYER_LEAF_ENCODING, (row) => ({
    index: BigInt(row[0] as string),
    nonce: BigInt(row[1] as string),
    units: Number(row[2]),
    requestHash: row[3] as Hex,
    responseHash: row[4] as Hex,
    routeHash: row[5] as Hex,
  }));
}

/** One provider's tree over the requests it served at one stage in this receipt. */
export function buildStageTree(records: readonly StageRecord[]): ReceiptTree<StageLeaf> {
  const rows = records.map((r) => [BigInt(r.index).toString(), r.inputHash, r.outputHash]);
  return makeTree(rows, STAGE_LEAF_ENCODING, (row) => ({
    index: BigInt(row[0] as string),
    inputHash: row[1] as Hex,
    outputHash: row[2] as Hex,
  }));
}

/**
 * A receipt's buyer leaves as they travel (gateway → stage provider before it signs its part or
 * reveals, gateway → buyer before its session key signs): leaf `from + k` is `leaves[k]`, each
 * `[nonce, units, requestHash, responseHash, route]` with `route` an index into `routes` (each
 * distinct route listed once, so a receipt of thousands of requests stays a small message).
 */
export interface BuyerLeavesWire {
  from: number;
  routes: Address[][];
  leaves: [nonce: string, units: number, requestHash: Hex, responseHash: Hex, route: number][];
}

export function encodeBuyerLeaves(records: readonly BuyerRecord[]): BuyerLeavesWire {
  const routes: Address[][] = [];
  const routeAt = new Map<string, number>();
  const from = records.length ? records[0].index : 0;
  const leaves = records.map((r, k): BuyerLeavesWire["leaves"][number] => {
    if (r.index !== from + k) throw new ReceiptLeavesWireError(`leaf ${k} has index ${r.index}, not ${from + k}: leaves must be dense`);
    const key = r.route.join(",").toLowerCase();
    let at = routeAt.get(key);
    if (at === undefined) {
      at = routes.push([...r.route]) - 1;
      routeAt.set(key, at);
    }
    return [BigInt(r.nonce).toString(), r.units, r.requestHash, r.responseHash, at];
  });
  return { from, routes, leaves };
}

const HASH = /^0x[0-9a-fA-F]{64}$/;
const ADDRESS = /^0x[0-9a-fA-F]{40}$/;
const MAX_UINT64 = (1n << 64n) - 1n;

/** Buyer records from their wire form; ReceiptLeavesWireError for anything malformed or over `maxLeaves`. */
export function decodeBuyerLeaves(raw: unknown, maxLeaves: number): BuyerRecord[] {
  const w = raw as Partial<BuyerLeavesWire> | null;
  const bad = (why: string): never => {
    throw new ReceiptLeavesWireError(`buyer leaves: ${why}`);
  };
  if (!w || typeof w !== "object") return bad("need { from, routes, leaves }");
  if (!Number.isSafeInteger(w.from) || (w.from as number) < 0) return bad("from must be a non-negative integer");
  if (!Array.isArray(w.leaves) || w.leaves.length === 0 || w.leaves.length > maxLeaves) return bad(`1..${maxLeaves} leaves`);
  if (!Array.isArray(w.routes) || w.routes.length === 0 || w.routes.length > w.leaves.length)
    return bad("routes must be a list of 1..leaves routes");
  const routes = w.routes.map((r) => {
    if (!Array.isArray(r) || r.length === 0 || r.length > 0xffff || !r.every((a) => typeof a === "string" && ADDRESS.test(a)))
      return bad("a route is a non-empty list of addresses");
    return r.map((a) => getAddress(a as string));
  });
  return w.leaves.map((l, k) => {
    if (!Array.isArray(l) || l.length !== 5) return bad(`leaf ${k} must be [nonce, units, requestHash, responseHash, route]`);
    const [nonce, units, requestHash, responseHash, route] = l as unknown[];
    if (typeof nonce !== "string" || !/^[0-9]{1,20}$/.test(nonce) || BigInt(nonce) > MAX_UINT64)
      return bad(`leaf ${k}: nonce must be a decimal uint64`);
    if (!Number.isInteger(units) || (units as number) < 1 || (units as number) > 0xffffffff)
      return bad(`leaf ${k}: units must be a uint32 ≥ 1`);
    if (typeof requestHash !== "string" || !HASH.test(requestHash) || typeof responseHash !== "string" || !HASH.test(responseHash))
      return bad(`leaf ${k}: hashes must be bytes32`);
    if (!Number.isInteger(route) || (route as number) < 0 || (route as number) >= routes.length)
      return bad(`leaf ${k}: route index out of range`);
    return {
      index: (w.from as number) + k,
      nonce: BigInt(nonce),
      units: units as number,
      requestHash: requestHash as Hex,
      responseHash: responseHash as Hex,
      route: routes[route as number],
    };
  });
}
