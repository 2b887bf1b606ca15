// A write step: the contract call useTx runs (simulate → send → wait), built typed by writeStep.
import type { Abi, ContractFunctionArgs, ContractFunctionName } from "viem";

/** One write in a sequence, as `run` takes it; build it with `writeStep` (typed), not by hand. */
export interface WriteRequest {
  address: `0x${string}`;
  abi: Abi;
  functionName: string;
  args?: readonly unknown[];
  label: string;
}

type Mutability = "nonpayable" | "payable";

/**
 * A typed write step: `functionName` must be a state-changing function of `abi` and `args` its
 * arguments (viem's ABI types check them at the call site, as `writeContract` would). The step
 * is then kept in its erased form so that a sequence can mix contracts (approve, then open).
 */
export function writeStep<const abi extends Abi, functionName extends ContractFunctionName<abi, Mutability>>(step: {
  address: `0x${string}`;
  abi: abi;
  functionName: functionName;
  args: ContractFunctionArgs<abi, Mutability, functionName>;
  label: string;
}): WriteRequest {
  return step as WriteRequest;
}
