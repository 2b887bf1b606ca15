// Minimal typings for the untyped JS packages the zk code uses (only what it calls).

declare module "circomlibjs" {
  export interface PoseidonField {
    toObject(e: Uint8Array): bigint;
  }
  export interface PoseidonHasher {
    (inputs: readonly (bigint | number | string)[]): Uint8Array;
    F: PoseidonField;
  }
  export function buildPoseidon(): Promise<PoseidonHasher>;
}

declare module "snarkjs" {
  export type NumericString = string;
  export interface Groth16Proof {
    pi_a: NumericString[];
    pi_b: NumericString[][];
    pi_c: NumericString[];
    protocol: string;
    curve: string;
  }
  export type SignalInput = string | bigint | number | SignalInput[];
  export type CircuitInput = Record<string, SignalInput>;
  export interface WtnsOutput {
    type: "mem";
    data?: Uint8Array;
  }
  export const groth16: {
    fullProve(
      input: CircuitInput,
      wasm: string | Uint8Array,
      zkey: string | Uint8Array,
    ): Promise<{ proof: Groth16Proof; publicSignals: NumericString[] }>;
    prove(
      zkey: string | Uint8Array,
      wtns: string | WtnsOutput | Uint8Array,
    ): Promise<{ proof: Groth16Proof; publicSignals: NumericString[] }>;
    verify(vkey: object, publicSignals: readonly NumericString[], proof: Groth16Proof): Promise<boolean>;
  };
  export const wtns: {
    calculate(input: CircuitInput, wasm: string | Uint8Array, out: string | WtnsOutput): Promise<void>;
    check(r1cs: string, wtns: string | WtnsOutput, logger?: unknown): Promise<boolean>;
  };
  export const r1cs: {
    info(
      r1cs: string,
      logger?: unknown,
    ): Promise<{ nConstraints: number; nPubInputs: number; nOutputs: number; nPrvInputs: number; nVars: number; nLabels: number }>;
  };
}
