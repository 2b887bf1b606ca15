// Command-line flags, parsed one way for every command (node:util parseArgs): `--name value`,
// `--name=value`, repeatable string flags, boolean flags, `--help`/`-h`. A mistake (unknown flag,
// missing value, stray argument) becomes the caller's named error.
import { parseArgs } from "node:util";

export interface ParsedFlags {
  /** Every value given for each string flag, in order. */
  flags: Map<string, string[]>;
  /** Boolean flags present. */
  bools: Set<string>;
  /** `--help` or `-h` was given (the caller prints its usage; nothing else is checked). */
  help: boolean;
  positionals: string[];
}

export interface FlagSpec {
  strings: readonly string[];
  booleans: readonly string[];
  /** Positional arguments allowed (default none). */
  positionals?: boolean;
}

/** Parses `argv` against `spec`; a parse error is thrown as `toError(message)`. */
export function parseFlags(argv: string[], spec: FlagSpec, toError: (message: string) => Error): ParsedFlags {
  const options: Record<string, { type: "string" | "boolean"; multiple?: boolean; short?: string }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const s of spec.strings) options[s] = { type: "string", multiple: true };
  for (const b of spec.booleans) options[b] = { type: "boolean" };
  // --help anywhere wins over every other check (a half-typed command line still gets its usage).
  if (argv.includes("--help") || argv.includes("-h")) return { flags: new Map(), bools: new Set(), help: true, positionals: [] };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: spec.positionals ?? false });
  } catch (err) {
    throw toError((err as Error).message);
  }
  const flags = new Map<string, string[]>();
  const bools = new Set<string>();
  for (const [name, value] of Object.entries(parsed.values)) {
    if (Array.isArray(value)) flags.set(name, value.map(String));
    else if (value === true) bools.add(name);
  }
  return { flags, bools, help: false, positionals: parsed.positionals };
}
