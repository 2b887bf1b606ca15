// The demo's language model: the project's decoder trained on Moby-Dick (DEMO_RECIPE), built
// once into a folder keyed by the recipe and reused while recipe.json matches.
import { existsSync, readFileSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { OnProgress } from "../util/progress.ts";
import { checkConfig, type DecoderConfig } from "./config.ts";
import { mobyDickText } from "./corpus.ts";
import { writeDecoderFolder } from "./folder.ts";
import { gpt2TokenizerFiles, LlmTokenizer } from "./tokenizer.ts";
import { DEMO_RECIPE, toDecoderWeights, trainDecoder } from "./train.ts";

export interface DemoModel {
  dir: string;
  config: DecoderConfig;
  /** Training took place now (false: reused). */
  trained: boolean;
  finalLoss?: number;
}

/** Builds (trains) the demo model into `dir` unless recipe.json there says it is already built. */
export async function buildDemoDecoder(
  dir: string,
  o: { onProgress?: OnProgress; signal?: AbortSignal; intraOpThreads?: number } = {},
): Promise<DemoModel> {
  const recipe = JSON.stringify(DEMO_RECIPE);
  const files = gpt2TokenizerFiles(DEMO_RECIPE.merges);
  const config = checkConfig({
    ...DEMO_RECIPE.shape,
    vocabSize: files.vocabSize,
    bosTokenId: files.ids.endOfText,
    eosTokenId: files.ids.imEnd,
  });
  const stamp = join(dir, "recipe.json");
  if (existsSync(stamp) && existsSync(join(dir, "onnx/model.onnx")) && readFileSync(stamp, "utf8") === recipe)
    return { dir, config, trained: false };
  o.onProgress?.({ phase: "corpus", done: 0, total: 1, detail: "tokenising Moby-Dick" });
  const ids = Int32Array.from(LlmTokenizer.fromFiles(files).encode(mobyDickText()));
  o.onProgress?.({ phase: "corpus", done: 1, total: 1, detail: `${ids.length} tokens` });
  const r = await trainDecoder(config, ids, {
    batch: DEMO_RECIPE.batch,
    seq: DEMO_RECIPE.seq,
    steps: DEMO_RECIPE.steps,
    lr: DEMO_RECIPE.lr,
    seed: DEMO_RECIPE.seed,
    intraOpThreads: o.intraOpThreads,
    signal: o.signal,
    onStep: (e) =>
      o.onProgress?.({
        phase: "train",
        done: e.step,
        total: e.steps,
        detail: `loss ${e.loss.toFixed(3)}, ${e.tokensPerSecond.toFixed(0)} tokens/s`,
      }),
  });
  await mkdir(dir, { recursive: true });
  await writeDecoderFolder(dir, config, toDecoderWeights(config, r.params), files, { name: "shardmesh-llama-moby-dick" });
  const tail = r.losses.slice(-20);
  const finalLoss = tail.reduce((a, b) => a + b, 0) / tail.length;
  await writeFile(
    join(dir, "training.json"),
    `${JSON.stringify({ recipe: DEMO_RECIPE, steps: r.steps, seconds: r.ms / 1000, tokensPerSecond: r.tokensPerSecond, finalLoss }, null, 2)}\n`,
  );
  await writeFile(stamp, recipe);
  return { dir, config, trained: true, finalLoss };
}
