// A node's small JSON state files (the claims watcher's position, the verifier's work, the receipt
// ledger): read whole, written atomically (temp file + rename: a crash leaves the old file or the
// new one, never half of one). bigint values are written as decimal strings.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";

/** Reads a JSON state file; undefined when it does not exist. */
export function readJsonState<T>(file: string): T | undefined {
  if (!existsSync(file)) return undefined;
  return JSON.parse(readFileSync(file, "utf8")) as T;
}

/** Writes a JSON state file atomically; `indent` as JSON.stringify's space argument. */
export function writeJsonState(file: string, value: unknown, indent?: number): void {
  mkdirSync(dirname(file), { recursive: true });
  const tmp = `${file}.tmp`;
  writeFileSync(
    tmp,
    JSON.stringify(value, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), indent),
  );
  renameSync(tmp, file);
}
