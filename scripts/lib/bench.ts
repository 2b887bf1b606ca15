// Writing benchmark results: bench/results/<area>.json only with its figures. A run that
// measured nothing (nothing built, everything skipped) or produced a non-finite figure fails
// instead of replacing the committed result; the file is replaced atomically (never half-written).
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;

export class BenchResultEmptyError extends Error {
  override name = "BenchResultEmptyError";
}

/** Every finite number under `value` (the figures), or an error naming the first non-finite one. */
function countFigures(value: unknown, path: string): number {
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new BenchResultEmptyError(`figure ${path} is ${value}`);
    return 1;
  }
  if (Array.isArray(value)) return value.reduce<number>((n, v, i) => n + countFigures(v, `${path}[${i}]`), 0);
  if (value && typeof value === "object") return Object.entries(value).reduce((n, [k, v]) => n + countFigures(v, `${path}.${k}`), 0);
  return 0;
}

/**
 * Writes bench/results/<area>.json. `figures` is the part of `result` that holds what was
 * measured (not the machine description): it must hold at least one number, all finite.
 * Returns the path written.
 */
export function writeBenchResult(
  area: string,
  result: Record<string, unknown>,
  figures: unknown,
  dir = join(root, "bench/results"),
): string {
  const n = countFigures(figures, area);
  if (n === 0) throw new BenchResultEmptyError(`the ${area} benchmark measured nothing: bench/results/${area}.json left as it was`);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${area}.json`);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(result, null, 2)}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}
