// Small formatting helpers shared by CLIs and benchmarks.
import { formatUnits } from "viem";

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 / 1024).toFixed(2)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)} M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} k`;
  return String(n);
}

/** p-th percentile (0..100) of a list, nearest-rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

/** Lays out rows as an aligned text table. */
export function table(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0]?.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length))) ?? [];
  return cells
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join("  ")
        .trimEnd(),
    )
    .join("\n");
}

/** The token's symbol and decimals (ShardToken: 18, like ether). */
export const TOKEN_SYMBOL = "SHARD";
export const TOKEN_DECIMALS = 18;

/**
 * A token amount for people, from base units (bigint or decimal string): thousands grouped,
 * at most `maxDecimals` decimals (cut, never rounded up; trailing zeros dropped), and a nonzero
 * amount below the last decimal shown as `<0.0001` rather than 0. The one token formatter: the
 * CLI, scripts, demo and web app all show amounts through it, never base units.
 */
export function formatAmount(value: bigint | string, decimals: number = TOKEN_DECIMALS, maxDecimals: number = decimals): string {
  const v = BigInt(value);
  const negative = v < 0n;
  const [whole, frac = ""] = formatUnits(negative ? -v : v, decimals).split(".");
  const cut = frac.slice(0, maxDecimals).replace(/0+$/, "");
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
  let out = cut ? `${grouped}.${cut}` : grouped;
  if (out === "0" && v !== 0n) out = `<${maxDecimals > 0 ? `0.${"0".repeat(maxDecimals - 1)}1` : "1"}`;
  return negative ? `-${out}` : out;
}

/** `formatAmount` with the token's symbol: `1,250.5 SHARD` (every decimal unless `maxDecimals`). */
export function formatTokens(amount: bigint | string, maxDecimals: number = TOKEN_DECIMALS): string {
  return `${formatAmount(amount, TOKEN_DECIMALS, maxDecimals)} ${TOKEN_SYMBOL}`;
}
