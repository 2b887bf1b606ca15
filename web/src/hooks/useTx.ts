"use client";
// Every write goes: simulate (so a revert is caught and decoded before the wallet opens) →
// send → wait for the receipt → refresh reads. The state machine is visible to the user.
import { useCallback, useState } from "react";
import { useConfig } from "wagmi";
import { simulateContract, writeContract, waitForTransactionReceipt } from "wagmi/actions";
import { useQueryClient } from "@tanstack/react-query";
import type { Abi, ContractFunctionArgs, ContractFunctionName, Hash, TransactionReceipt } from "viem";
import { decodeError, type FriendlyError } from "@/lib/errors";
import { allErrorsAbi } from "@/lib/contracts";

export type TxPhase = "idle" | "simulating" | "signing" | "pending" | "confirmed" | "failed";

export interface TxState {
  phase: TxPhase;
  label?: string;
  hash?: Hash;
  receipt?: TransactionReceipt;
  error?: FriendlyError;
}

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

export class TransactionRevertedError extends Error {
  override name = "TransactionRevertedError";
}

export function useTx() {
  const config = useConfig();
  const queryClient = useQueryClient();
  const [state, setState] = useState<TxState>({ phase: "idle" });

  /** Runs several writes in order (e.g. approve then open); stops at the first failure. */
  const run = useCallback(
    async (steps: WriteRequest[] | (() => Promise<WriteRequest[]>)): Promise<TransactionReceipt | undefined> => {
      let last: TransactionReceipt | undefined;
      let label = "";
      try {
        if (typeof steps === "function") setState({ phase: "simulating", label: "Preparing" });
        const list = typeof steps === "function" ? await steps() : steps;
        for (const step of list) {
          label = step.label;
          setState({ phase: "simulating", label });
          const { request } = await simulateContract(config, {
            address: step.address,
            abi: step.abi,
            functionName: step.functionName,
            args: step.args,
          } as never);
          setState({ phase: "signing", label });
          const hash = await writeContract(config, request as never);
          setState({ phase: "pending", label, hash });
          last = await waitForTransactionReceipt(config, { hash });
          if (last.status !== "success") throw new TransactionRevertedError(`${label} reverted in block ${last.blockNumber}`);
        }
        setState({ phase: "confirmed", label, hash: last?.transactionHash, receipt: last });
        await queryClient.invalidateQueries();
        return last;
      } catch (e) {
        setState({ phase: "failed", label, error: decodeError(e, allErrorsAbi) });
        return undefined;
      }
    },
    [config, queryClient],
  );

  const fail = useCallback((label: string, e: unknown) => setState({ phase: "failed", label, error: decodeError(e, allErrorsAbi) }), []);
  const reset = useCallback(() => setState({ phase: "idle" }), []);
  return { state, run, fail, reset, busy: state.phase === "simulating" || state.phase === "signing" || state.phase === "pending" };
}
