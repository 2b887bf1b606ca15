import { afterEach, describe, expect, it } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { TxStatus } from "@/components/TxStatus";
import { LineChart } from "@/components/charts/LineChart";
import { BarList } from "@/components/charts/BarList";
import { chartPoints, linePath, niceMax, compactNumber, toTokens } from "@/lib/chart";

afterEach(cleanup);

describe("TxStatus", () => {
  it("shows the decoded custom error in words on failure", () => {
    render(
      <TxStatus
        state={{
          phase: "failed",
          label: "Open job",
          error: {
            kind: "revert",
            title: "Not enough tokens",
            message: "Your wallet holds 0 SHARD but this needs 3 SHARD.",
            errorName: "ERC20InsufficientBalance",
          },
        }}
      />,
    );
    const box = screen.getByTestId("tx-status");
    expect(box.getAttribute("data-phase")).toBe("failed");
    expect(screen.getByText("Not enough tokens")).toBeTruthy();
    expect(screen.getByTestId("tx-error").getAttribute("data-error-name")).toBe("ERC20InsufficientBalance");
  });
  it("shows pending and confirmed states and nothing when idle", () => {
    const { rerender, container } = render(<TxStatus state={{ phase: "idle" }} />);
    expect(container.innerHTML).toBe("");
    rerender(<TxStatus state={{ phase: "pending", label: "Stake", hash: `0x${"ab".repeat(32)}` }} />);
    expect(screen.getByText(/waiting for the block/)).toBeTruthy();
    rerender(<TxStatus state={{ phase: "signing", label: "Stake" }} />);
    expect(screen.getByText(/Confirm in your wallet/)).toBeTruthy();
  });
});

describe("charts", () => {
  it("shapes values into axis maxima and SVG paths", () => {
    expect(niceMax(0)).toBe(1);
    expect(niceMax(7.3)).toBe(10);
    expect(niceMax(230)).toBe(250);
    expect(niceMax(0.042)).toBeCloseTo(0.05);
    expect(linePath([0, 5, 10], 100, 50, 10)).toBe("M0.0,50.0 L50.0,25.0 L100.0,0.0");
    expect(compactNumber(15_300)).toBe("15.3k");
    expect(chartPoints([4], 100, 50, 8)).toEqual([[50, 25]]); // a single bucket is drawn mid-axis
    expect(toTokens(15n * 10n ** 17n)).toBe(1.5);
  });
  it("renders a line chart with one path per series and a legend", () => {
    const { container } = render(
      <LineChart
        title="t"
        labels={["a", "b", "c"]}
        series={[
          { label: "settled", color: "#0f0", values: [1, 2, 3] },
          { label: "withdrawn", color: "#00f", values: [0, 1, 1] },
        ]}
      />,
    );
    expect(container.querySelectorAll("path")).toHaveLength(2);
    expect(container.querySelectorAll("circle")).toHaveLength(6);
    expect(screen.getByText("withdrawn")).toBeTruthy();
  });
  it("renders bars or an empty message", () => {
    const { container, rerender } = render(
      <BarList
        items={[
          { label: "model A", value: 2, display: "2" },
          { label: "model B", value: 1, display: "1" },
        ]}
      />,
    );
    const widths = [...container.querySelectorAll("rect")].map((r) => Number(r.getAttribute("width")));
    expect(widths).toEqual([100, 50]);
    rerender(<BarList items={[]} empty="No earnings yet." />);
    expect(screen.getByText("No earnings yet.")).toBeTruthy();
  });
});
