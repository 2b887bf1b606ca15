"use client";
// Every write goes: simulate (so a revert is caught and decoded before the wallet opens) →
// send → wait for the receipt → refresh reads. The state machine is visible to the user.
import { useCallback, useState } from "react";
import { useConfig } from "wagmi";
import { simulateContract, writeContract, waitForTransactionReceipt } from "wagmi/actions";
import { useQueryClient } from "@tanstack/react-query";
import type { Hash, TransactionReceipt } from "viem";
import type { WriteRequest } from "@/lib/tx";
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

export { writeStep, type WriteRequest } from "@/lib/tx";

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
