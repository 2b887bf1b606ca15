import { describe, expect, it } from "vitest";
import { formatAmount, formatBps, formatDuration, formatMs, shortAddress, splitErrorName } from "@/lib/format";

describe("format", () => {
  it("formats token amounts with grouping and trimmed decimals", () => {
    expect(formatAmount(1234567n * 10n ** 18n)).toBe("1,234,567");
    expect(formatAmount(15n * 10n ** 17n)).toBe("1.5");
    expect(formatAmount(123456789n * 10n ** 9n, 18, 4)).toBe("0.1234");
    expect(formatAmount(1n)).toBe("<0.0001");
    expect(formatAmount(-2n * 10n ** 18n)).toBe("-2");
    expect(formatAmount(0n)).toBe("0");
  });
  it("formats durations for countdowns", () => {
    expect(formatDuration(0)).toBe("0s");
    expect(formatDuration(65)).toBe("1m 05s");
    expect(formatDuration(3_600 * 5 + 60 * 7)).toBe("5h 07m");
    expect(formatDuration(86_400 * 2 + 3_600 * 3)).toBe("2d 3h");
    expect(formatDuration(-10)).toBe("0s");
  });
  it("formats bps, ms and addresses", () => {
    expect(formatBps(250)).toBe("2.5 %");
    expect(formatBps(1000)).toBe("10 %");
    expect(formatMs(12.4)).toBe("12 ms");
    expect(formatMs(1530)).toBe("1.53 s");
    expect(formatMs(undefined)).toBe("—");
    expect(shortAddress("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")).toBe("0xf39F…2266");
  });
  it("splits custom error names into contract and words", () => {
    expect(splitErrorName("JobMarketInsufficientEscrow", ["Job", "JobMarket"])).toEqual(["JobMarket", "insufficient escrow"]);
    expect(splitErrorName("ProviderStakingUnbondingNotOver", ["ProviderStaking"])).toEqual(["ProviderStaking", "unbonding not over"]);
    expect(splitErrorName("EnforcedPause", ["JobMarket"])).toEqual([undefined, "enforced pause"]);
  });
});
