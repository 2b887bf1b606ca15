// A buyer or provider whose token transfer fails (allowance or balance too small) gets the token's
// error by name from the JobMarket's or ProviderStaking's own ABI: both interfaces carry ERC-6093's
// IERC20Errors, so an app holding only the market's ABI no longer sees "unknown custom error".
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { decodeErrorResult, parseEther, type Hex } from "viem";
import { jobMarketAbi, providerStakingAbi } from "../../node/src/generated/abis.ts";
import { ROLE, addr, as, networkHelpers, publicClient, quote, threeStageFixture, viem } from "./helpers.ts";

/** The raw revert data of a failed simulation (viem's ContractFunctionRevertedError, under `cause`). */
function revertData(err: unknown): Hex {
  for (let e = err as { raw?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.raw === "string" && e.raw.startsWith("0x")) return e.raw as Hex;
  }
  throw new Error(`no revert data in ${String(err)}`);
}

describe("token errors in the market's and staking's ABIs", () => {
  it("openJob with too small an allowance: ERC20InsufficientAllowance, decoded with the JobMarket ABI alone", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const quotes = await Promise.all([quote(f, ROLE.p1, 0), quote(f, ROLE.p2, 1), quote(f, ROLE.p3, 2)]);
    const now = await networkHelpers.time.latest();
    const request = { modelId: f.modelId, maxUnits: 10, expiresAt: BigInt(now + 86_400), sessionKey: addr(ROLE.stranger) };
    const escrow = await f.market.read.escrowFor([request, quotes]);
    await f.token.write.approve([f.market.address, escrow - 1n], as(ROLE.buyer));
    const open = f.market.write.openJob([request, quotes], as(ROLE.buyer));
    await viem.assertions.revertWithCustomErrorWithArgs(open, f.market, "ERC20InsufficientAllowance", [
      f.market.address,
      escrow - 1n,
      escrow,
    ]);
    const err = await publicClient
      .simulateContract({
        address: f.market.address,
        abi: jobMarketAbi,
        functionName: "openJob",
        args: [request, quotes],
        account: addr(ROLE.buyer),
      })
      .catch((e: unknown) => e);
    assert.equal(decodeErrorResult({ abi: jobMarketAbi, data: revertData(err) }).errorName, "ERC20InsufficientAllowance");
  });

  it("stake beyond the balance: ERC20InsufficientBalance, decoded with the ProviderStaking ABI alone", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const balance = await f.token.read.balanceOf([addr(ROLE.stranger)]);
    const amount = balance + parseEther("1");
    await f.token.write.approve([f.staking.address, amount], as(ROLE.stranger));
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.stake([amount], as(ROLE.stranger)),
      f.staking,
      "ERC20InsufficientBalance",
      [addr(ROLE.stranger), balance, amount],
    );
    const err = await publicClient
      .simulateContract({
        address: f.staking.address,
        abi: providerStakingAbi,
        functionName: "stake",
        args: [amount],
        account: addr(ROLE.stranger),
      })
      .catch((e: unknown) => e);
    assert.equal(decodeErrorResult({ abi: providerStakingAbi, data: revertData(err) }).errorName, "ERC20InsufficientBalance");
  });
});
