// Typed progress events for long work (loading, profiling, splitting, writing stage files) and
// a terminal progress bar the CLI draws from them. Library code only emits events.

export interface ProgressEvent {
  /** Short phase name, e.g. "profile", "split", "write". */
  phase: string;
  done: number;
  total: number;
  detail?: string;
}

export type OnProgress = (e: ProgressEvent) => void;

export interface ProgressBarOptions {
  stream?: NodeJS.WriteStream;
  width?: number;
}

/** A listener that draws `phase [#####.....] done/total detail`, one line per phase. */
export function progressBar(options: ProgressBarOptions = {}): OnProgress & { end(): void } {
  const stream = options.stream ?? process.stderr;
  const width = options.width ?? 28;
  const tty = stream.isTTY === true;
  let phase = "";
  let lastPct = -1;
  const finish = () => {
    if (phase && tty) stream.write("\n");
    phase = "";
  };
  const fn = ((e: ProgressEvent) => {
    if (e.phase !== phase) {
      finish();
      phase = e.phase;
      lastPct = -1;
    }
    const frac = e.total > 0 ? Math.min(1, e.done / e.total) : 1;
    const pct = Math.floor(frac * 100);
    const filled = Math.round(frac * width);
    const line = `${e.phase.padEnd(8)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${String(pct).padStart(3)}% ${e.done}/${e.total}${e.detail ? ` ${e.detail}` : ""}`;
    if (tty) stream.write(`\r\x1b[2K${line}`);
    else if (pct === 100 || pct >= lastPct + 25) stream.write(`${line}\n`);
    lastPct = pct;
    if (tty && e.done >= e.total) finish();
  }) as OnProgress & { end(): void };
  fn.end = finish;
  return fn;
}
