// `--help` on every script: each calls exitOnHelp with its usage before it does any work.

/** With `--help` or `-h` among the arguments, prints `usage` and exits 0. */
export function exitOnHelp(usage: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (!argv.includes("--help") && !argv.includes("-h")) return;
  console.log(usage.trim());
  process.exit(0);
}
