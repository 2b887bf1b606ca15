// Chart data shaping: token amounts → plot numbers, nice axis maxima, SVG paths. Pure.
import { formatUnits } from "viem";

export function toTokens(v: bigint, decimals = 18): number {
  return Number(formatUnits(v, decimals));
}

/** 1, 2, 2.5, 5 × 10^k at or above `v` (0 → 1), for a readable axis maximum. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const exp = Math.floor(Math.log10(v));
  const base = 10 ** exp;
  for (const m of [1, 2, 2.5, 5, 10]) if (m * base >= v - 1e-12 * base) return m * base;
  return 10 * base;
}

export function ticks(max: number, count = 4): number[] {
  return Array.from({ length: count + 1 }, (_, i) => (max * i) / count);
}

export interface Series {
  label: string;
  color: string;
  values: number[];
}

/** SVG path "M x,y L x,y …" for values over an evenly spaced x axis. */
export function linePath(values: readonly number[], width: number, height: number, max: number): string {
  return chartPoints(values, width, height, max)
    .map(([x, y], i) => `${i === 0 ? "M" : "L"}${x.toFixed(1)},${y.toFixed(1)}`)
    .join(" ");
}

/** Plot coordinates of each value; a single value sits in the middle of the x axis. */
export function chartPoints(values: readonly number[], width: number, height: number, max: number): [number, number][] {
  const step = values.length > 1 ? width / (values.length - 1) : 0;
  return values.map((v, i) => [values.length > 1 ? i * step : width / 2, height - (Math.max(0, v) / max) * height]);
}

export function compactNumber(n: number): string {
  const abs = Math.abs(n);
  if (abs >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (abs >= 1e6) return `${(n / 1e6).toFixed(1)}M`;
  if (abs >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  if (abs >= 1 || abs === 0) return String(Math.round(n * 100) / 100);
  return n.toPrecision(2);
}
