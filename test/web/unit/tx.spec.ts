// Typed writes (web/src/hooks/useTx.ts writeStep): the ABI, function name and arguments are checked
// against each other by tsc (web/tsconfig.test.json covers this file), with no `abi as Abi` casts.
import { describe, expect, it } from "vitest";
import { writeStep } from "@/hooks/useTx";
import { jobMarketAbi, tokenAbi } from "@/lib/contracts";

const A = "0x00000000000000000000000000000000000000a1";
const B = "0x00000000000000000000000000000000000000b2";

describe("writeStep", () => {
  it("keeps the step as given, for useTx's run", () => {
    const step = writeStep({ address: A, abi: tokenAbi, functionName: "approve", args: [B, 5n], label: "Approve" });
    expect(step).toEqual({ address: A, abi: tokenAbi, functionName: "approve", args: [B, 5n], label: "Approve" });
  });

  it("refuses at compile time a function the ABI lacks, wrong arguments, or a read", () => {
    const steps = [
      // @ts-expect-error withdraw takes no argument
      writeStep({ address: A, abi: jobMarketAbi, functionName: "withdraw", args: [1n], label: "x" }),
      // @ts-expect-error the token has no openJob
      writeStep({ address: A, abi: tokenAbi, functionName: "openJob", args: [], label: "x" }),
      // @ts-expect-error approve's amount is a bigint, not a string
      writeStep({ address: A, abi: tokenAbi, functionName: "approve", args: [B, "5"], label: "x" }),
      // @ts-expect-error balanceOf is a view function, not a write
      writeStep({ address: A, abi: tokenAbi, functionName: "balanceOf", args: [B], label: "x" }),
    ];
    expect(steps).toHaveLength(4);
  });
});
