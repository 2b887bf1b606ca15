// Formatting for amounts, addresses, durations and times. Pure functions, unit-tested.
import { formatAmount as formatTokenAmount, TOKEN_DECIMALS } from "@shardmesh/node/util/format.ts";

export function shortAddress(a: string | undefined): string {
  if (!a) return "—";
  return a.length > 12 ? `${a.slice(0, 6)}…${a.slice(-4)}` : a;
}

/** A token amount on a page: at most `maxDecimals` (4) decimals, through the project's one token
 *  formatter (@shardmesh/node/util/format.ts, also used by the CLI, scripts and demo). */
export function formatAmount(value: bigint, decimals: number = TOKEN_DECIMALS, maxDecimals = 4): string {
  return formatTokenAmount(value, decimals, maxDecimals);
}

/** "2d 3h", "4m 05s", "12s": for countdowns (unbonding, expiry, challenge windows). */
export function formatDuration(seconds: number | bigint): string {
  let s = Math.max(0, Math.floor(Number(seconds)));
  const d = Math.floor(s / 86_400);
  s -= d * 86_400;
  const h = Math.floor(s / 3_600);
  s -= h * 3_600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m ${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}

export function formatDate(unixSeconds: number | bigint): string {
  const d = new Date(Number(unixSeconds) * 1000);
  return `${d.toISOString().replace("T", " ").slice(0, 16)} UTC`;
}

/** Basis points → "2.5 %". */
export function formatBps(bps: number | bigint): string {
  const n = Number(bps) / 100;
  return `${Number.isInteger(n) ? n : n.toFixed(2).replace(/0+$/, "")} %`;
}

export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return "—";
  return ms >= 1000 ? `${(ms / 1000).toFixed(2)} s` : `${Math.round(ms)} ms`;
}

/** "JobMarketInsufficientEscrow" → ["JobMarket", "insufficient escrow"] given known contract prefixes. */
export function splitErrorName(name: string, prefixes: readonly string[]): [string | undefined, string] {
  const prefix = [...prefixes].sort((a, b) => b.length - a.length).find((p) => name.startsWith(p) && name.length > p.length);
  const rest = prefix ? name.slice(prefix.length) : name;
  const words = rest
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .replace(/([A-Z]+)([A-Z][a-z])/g, "$1 $2")
    .toLowerCase();
  return [prefix, words];
}
