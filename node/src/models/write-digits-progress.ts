// A one-line progress bar for write-digits.ts (CLI only).
export function bar(phase: string, done: number, total: number, loss?: number): void {
  const width = 24;
  const filled = Math.round((done / Math.max(total, 1)) * width);
  const extra = loss === undefined ? "" : `  loss ${loss.toFixed(4)}`;
  process.stdout.write(`\r  ${phase.padEnd(9)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total}${extra}   `);
}
