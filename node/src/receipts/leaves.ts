// Receipt Merkle trees (OpenZeppelin StandardMerkleTree; verified on chain with MerkleProof).
// Leaf encodings mirror contracts/libraries/ReceiptHashing.sol:
//   buyer leaf : (uint256 index, uint64 nonce, uint32 units, bytes32 requestHash, bytes32 responseHash, bytes32 routeHash)
//   stage leaf : (uint256 index, bytes32 inputHash, bytes32 outputHash)
//   routeHash  = keccak256(abi.encode(address[] route)), route[s] = provider that served stage s
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";
import { encodeAbiParameters, keccak256 } from "viem";
import type { Address, Hex } from "viem";
import { ReceiptLeafMissingError, ReceiptEmptyTreeError } from "./errors.ts";

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
