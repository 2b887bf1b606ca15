// Receipt parts: one per (stage, provider) with the provider's cumulative count, this receipt's
// root and its signature. The chain stores keccak256(abi.encode(PartRecord[])) and reveal /
// settle pass the records back, so these helpers build both forms from the same data.
import { encodeAbiParameters, keccak256 } from "viem";
import type { Address, Hex } from "viem";
import { ReceiptPartsError } from "./errors.ts";

/** A part as `submitReceipt` takes it: cumulative requests and units at its stage. */
export interface StagePart {
  stage: number;
  provider: Address;
  count: number;
  units: number;
  root: Hex;
  signature: Hex;
}

/** A part as the chain records it (`newCount` = leaves in this receipt, worth `newUnits`). */
export interface PartRecord {
  stage: number;
  provider: Address;
  newCount: number;
  newUnits: number;
  root: Hex;
}

const partRecordTuple = {
  type: "tuple[]",
  components: [
    { name: "stage", type: "uint16" },
    { name: "provider", type: "address" },
    { name: "newCount", type: "uint32" },
    { name: "newUnits", type: "uint32" },
    { name: "root", type: "bytes32" },
  ],
} as const;

/** Orders parts as the contract requires: by stage, then by provider address. */
export function sortParts<P extends { stage: number; provider: Address }>(parts: readonly P[]): P[] {
  return [...parts].sort((a, b) => {
    if (a.stage !== b.stage) return a.stage - b.stage;
    const x = BigInt(a.provider);
    const y = BigInt(b.provider);
    if (x === y) throw new ReceiptPartsError(`two parts for stage ${a.stage} and provider ${a.provider}`);
    return x < y ? -1 : 1;
  });
}

/** Part records from submitted parts and each provider's previously receipted count and units. */
export function partRecords(
  parts: readonly StagePart[],
  previous: (stage: number, provider: Address) => { count: number; units: number },
): PartRecord[] {
  return sortParts(parts).map((p) => {
    const before = previous(p.stage, p.provider);
    const newCount = p.count - before.count;
    const newUnits = p.units - before.units;
    if (newCount <= 0) throw new ReceiptPartsError(`part ${p.stage}/${p.provider} has no new requests`);
    if (newUnits < newCount) throw new ReceiptPartsError(`part ${p.stage}/${p.provider} has fewer new units than requests`);
    return { stage: p.stage, provider: p.provider, newCount, newUnits, root: p.root };
  });
}

/** keccak256(abi.encode(PartRecord[])) as stored in the receipt. */
export function partsHash(records: readonly PartRecord[]): Hex {
  return keccak256(encodeAbiParameters([partRecordTuple], [records]));
}

/** Index of the part of (stage, provider) in sorted records. */
export function partIndex(records: readonly PartRecord[], stage: number, provider: Address): number {
  const i = records.findIndex((r) => r.stage === stage && r.provider.toLowerCase() === provider.toLowerCase());
  if (i < 0) throw new ReceiptPartsError(`no part for stage ${stage} and provider ${provider}`);
  return i;
}
