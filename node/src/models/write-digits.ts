// CLI: builds the project's digits model and writes it to the cache path (or argv[2]).
//   node node/src/models/write-digits.ts [path] [--seed N]
import { progressBar } from "../util/progress.ts";
import { DIGITS_MODEL_PATH, writeDigitsModel } from "./digits.ts";
import { weightsCommitment, toBytes32 } from "../zk/commit.ts";

const args = process.argv.slice(2);
const seedAt = args.indexOf("--seed");
const seed = seedAt >= 0 ? Number(args[seedAt + 1]) : 1;
const path = args.find((a, i) => !a.startsWith("--") && i !== seedAt + 1) ?? DIGITS_MODEL_PATH;
const bar = progressBar({ stream: process.stdout });
const out = writeDigitsModel(path, {
  seed,
  onProgress: (e) =>
    bar({ phase: e.phase, done: e.done, total: e.total, detail: e.loss === undefined ? undefined : `loss ${e.loss.toFixed(4)}` }),
});
bar.end();
console.log(`${out.built ? "built" : "cached"} ${out.path}`);
console.log(`  sha256              ${out.sha256}`);
if (out.accuracy)
  console.log(
    `  held-out accuracy   ${(out.accuracy.heldOut * 100).toFixed(1)}% int8 (${(out.accuracy.heldOutFloat * 100).toFixed(1)}% float)`,
  );
console.log(
  `  head                ${out.head.inputs}→${out.head.outputs}, MULT ${out.head.mult}, SHIFT ${out.head.shift}, ZP ${out.head.zeroPoint}`,
);
console.log(`  weights commitment  ${toBytes32(await weightsCommitment(out.head))}`);
