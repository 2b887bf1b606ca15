// Stage proofs as the contracts take them (contracts/zk/Int8HeadStageVerifier.sol) and the
// tensor hashes a proof must match (docs/PROTOCOL.md).
import type { Groth16Proof } from "snarkjs";
import { bagHash, type Tensor } from "../tensor/index.ts";
import { int8Elements } from "./commit.ts";
import { ZkInputError } from "./errors.ts";

export type Hex = `0x${string}`;

/** Words of a Groth16 proof in the order the generated verifier takes them. */
export const GROTH16_WORDS = 8;

/** The head's input or output as the stage's tensor: int8, shape [1, n]. */
export function headTensor(values: Int8Array): Tensor {
  return { dtype: "int8", dims: [1, values.length], data: values };
}

/** inputHash and outputHash of one head execution: bagHash of the one-tensor bags. */
export function headHashes(x: Int8Array, y: Int8Array): { inputHash: Hex; outputHash: Hex } {
  return { inputHash: bagHash({ x: headTensor(x) }) as Hex, outputHash: bagHash({ y: headTensor(y) }) as Hex };
}

const word = (v: bigint | string): string => BigInt(v).toString(16).padStart(64, "0");

/**
 * Proof bytes for IStageProofVerifier.verifyStage: the Groth16 proof (b's coordinates swapped,
 * as snarkjs' exportSolidityCallData does) followed by every public signal but the weights
 * commitment, which the contract takes from the model registry.
 */
export function encodeStageProof(proof: Groth16Proof, publicSignals: readonly (bigint | string)[]): Hex {
  const words = [
    proof.pi_a[0],
    proof.pi_a[1],
    proof.pi_b[0][1],
    proof.pi_b[0][0],
    proof.pi_b[1][1],
    proof.pi_b[1][0],
    proof.pi_c[0],
    proof.pi_c[1],
    ...publicSignals.slice(1),
  ];
  return `0x${words.map(word).join("")}`;
}

/** Splits proof bytes back into the 8 proof words, xPacked and yPacked for an M→N head. */
export function decodeStageProof(bytes: Hex, inputs: number, outputs: number): { proof: bigint[]; xPacked: bigint[]; yPacked: bigint[] } {
  const xk = int8Elements(inputs);
  const yk = int8Elements(outputs);
  const hex = bytes.slice(2);
  if (hex.length !== 64 * (GROTH16_WORDS + xk + yk)) {
    throw new ZkInputError(`stage proof for ${inputs}→${outputs} has ${hex.length / 2} bytes, needs ${32 * (GROTH16_WORDS + xk + yk)}`);
  }
  const words = Array.from({ length: hex.length / 64 }, (_, i) => BigInt(`0x${hex.slice(64 * i, 64 * i + 64)}`));
  return {
    proof: words.slice(0, GROTH16_WORDS),
    xPacked: words.slice(GROTH16_WORDS, GROTH16_WORDS + xk),
    yPacked: words.slice(GROTH16_WORDS + xk),
  };
}
