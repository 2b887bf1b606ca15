import { describe, expect, it } from "vitest";
import {
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  RpcRequestError,
  UserRejectedRequestError,
  encodeErrorResult,
  parseUnits,
  type Abi,
} from "viem";
import { decodeError, standardErrorsAbi } from "@/lib/errors";
import { allErrorsAbi, jobMarketAbi } from "@/lib/contracts";

function reverted(abi: Abi, errorName: string, args: readonly unknown[]) {
  const data = encodeErrorResult({ abi, errorName, args } as never);
  const cause = new ContractFunctionRevertedError({ abi, data, functionName: "openJob" });
  return new ContractFunctionExecutionError(cause, { abi, functionName: "openJob", args: [] });
}

describe("decodeError", () => {
  it("decodes a JobMarket custom error into plain words with token amounts", () => {
    const e = reverted(jobMarketAbi as Abi, "JobMarketInsufficientEscrow", [parseUnits("5", 18), parseUnits("12.5", 18)]);
    const f = decodeError(e, allErrorsAbi);
    expect(f.kind).toBe("revert");
    expect(f.errorName).toBe("JobMarketInsufficientEscrow");
    expect(f.title).toBe("Insufficient escrow");
    expect(f.message).toContain("Job Market contract refused");
    expect(f.message).toContain("available 5 SHARD");
    expect(f.message).toContain("needed 12.5 SHARD");
  });
  it("uses the friendly phrasing for ERC20InsufficientBalance", () => {
    const e = reverted(standardErrorsAbi as Abi, "ERC20InsufficientBalance", [
      "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
      0n,
      parseUnits("3", 18),
    ]);
    const f = decodeError(e, allErrorsAbi);
    expect(f.errorName).toBe("ERC20InsufficientBalance");
    expect(f.title).toBe("Not enough tokens");
    expect(f.message).toBe("Your wallet holds 0 SHARD but this needs 3 SHARD.");
  });
  it("decodes raw revert data found deep in an RPC error with the combined ABI", () => {
    const data = encodeErrorResult({
      abi: standardErrorsAbi,
      errorName: "ERC20InsufficientAllowance",
      args: ["0x0000000000000000000000000000000000000001", 0n, 10n ** 18n],
    });
    const rpc = new RpcRequestError({ body: {}, url: "http://x", error: { code: 3, message: "execution reverted", data } });
    const f = decodeError(rpc, []);
    expect(f.errorName).toBe("ERC20InsufficientAllowance");
    expect(f.message).toContain("needs 1 SHARD");
  });
  it("decodes every contract's errors from the generated ABIs, SpotCheck's and Disputes' too, naming the contract", () => {
    const data = encodeErrorResult({
      abi: allErrorsAbi,
      errorName: "SpotCheckAlreadyRevealed",
      args: [2n, 1n],
    } as never);
    const rpc = new RpcRequestError({ body: {}, url: "http://x", error: { code: 3, message: "execution reverted", data } });
    const f = decodeError(rpc);
    expect(f.errorName).toBe("SpotCheckAlreadyRevealed");
    expect(f.title).toBe("Already revealed");
    expect(f.message).toContain("The Spot Check contract refused");
    // Every error any contract declares is decodable; none is listed twice.
    const names = allErrorsAbi.map((e) => (e.type === "error" ? `${e.name}(${e.inputs.map((i) => i.type)})` : ""));
    expect(new Set(names).size).toBe(names.length);
    expect(names.some((n) => n.startsWith("ProtocolParams"))).toBe(true);
    expect(names.some((n) => n.startsWith("Disputes"))).toBe(true);
    expect(names.some((n) => n.startsWith("ProviderStaking"))).toBe(true);
  });
  it("reports a wallet rejection as such", () => {
    const f = decodeError(new UserRejectedRequestError(new Error("User denied")));
    expect(f.kind).toBe("rejected");
    expect(f.title).toBe("Rejected in wallet");
    expect(decodeError(Object.assign(new Error("denied"), { code: 4001 })).kind).toBe("rejected");
  });
  it("says an unknown selector is unknown instead of failing", () => {
    const cause = new ContractFunctionRevertedError({ abi: [], data: "0xdeadbeef", functionName: "x" });
    const f = decodeError(new ContractFunctionExecutionError(cause, { abi: [], functionName: "x" }), []);
    expect(f.kind).toBe("revert");
    expect(f.message).toContain("0xdeadbeef");
  });
  it("recognises a wallet without gas money even when the node reports it as invalid parameters", () => {
    const rpc = new RpcRequestError({
      body: {},
      url: "http://x",
      error: {
        code: -32000,
        message: "Sender doesn't have enough funds to send tx. The max upfront cost is: 656 and the sender's balance is: 0.",
      },
    });
    expect(decodeError(rpc)).toMatchObject({ kind: "funds", title: "Not enough ETH for gas" });
  });
  it("passes plain errors through with their first line", () => {
    const f = decodeError(new Error("boom\nstack"));
    expect(f).toMatchObject({ kind: "unknown", message: "boom" });
  });
});
