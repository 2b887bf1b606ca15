// Shared fixtures of the language-model tests: the tiny decoder (random weights, built in well
// under a second), split into block stages with graph optimisation off, and a whole-model runner.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildRandomDecoder,
  DECODER_NAMES,
  DecoderStageRunner,
  splitDecoder,
  type DecoderConfig,
  type DecoderSplitResult,
  type DecoderStageOptions,
} from "../../node/src/llm/index.ts";
import type { CacheTensorInfo } from "../../node/src/inference/manifest.ts";
import type { Tensor } from "../../node/src/tensor/index.ts";

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `shardmesh-llm-${prefix}-`));
}

export interface TinyModel {
  dir: string;
  config: DecoderConfig;
}

let tiny: Promise<TinyModel> | undefined;
/** The tiny preset, seed 1, built once per test file. */
export function tinyModel(): Promise<TinyModel> {
  tiny ??= (async () => {
    const dir = tempDir("tiny");
    const { config } = await buildRandomDecoder(dir, "tiny", { seed: 1 });
    return { dir, config };
  })();
  return tiny;
}

const splits = new Map<string, Promise<DecoderSplitResult>>();
/** The tiny model split into block stages of `layers` layers each (exact: optimisation off). */
export function tinySplit(layers: number[], exact = true): Promise<DecoderSplitResult> {
  const key = `${layers.join(",")}:${exact}`;
  let s = splits.get(key);
  if (!s) {
    s = tinyModel().then((m) => splitDecoder(m.dir, tempDir("split"), { layers, exact }));
    splits.set(key, s);
  }
  return s;
}

export function allLayersCache(c: DecoderConfig): CacheTensorInfo[] {
  const N = DECODER_NAMES;
  return Array.from({ length: c.layers }, (_, i) => [
    { past: N.pastKey(i), present: N.presentKey(i), kvHeads: c.kvHeads, headDim: c.headDim },
    { past: N.pastValue(i), present: N.presentValue(i), kvHeads: c.kvHeads, headDim: c.headDim },
  ]).flat();
}

/** The whole with-past model.onnx as one stateful stage. */
export async function wholeRunner(m: TinyModel, o: Partial<DecoderStageOptions> = {}): Promise<DecoderStageRunner> {
  return DecoderStageRunner.create(join(m.dir, "onnx/model.onnx"), {
    cache: allLayersCache(m.config),
    maxPositions: m.config.maxPositions,
    graphOptimizationLevel: "disabled",
    ...o,
  });
}

export const ids = (xs: readonly number[]) => ({
  dtype: "int64" as const,
  dims: [1, xs.length],
  data: BigInt64Array.from(xs, (x) => BigInt(x)),
});

/** Hidden states [1, n_i, d] joined along positions: [1, Σ n_i, d]. */
export const cat = (ts: Tensor[]): Tensor => {
  const d = ts[0].dims[2];
  const n = ts.reduce((a, t) => a + t.dims[1], 0);
  const data = new Float32Array(n * d);
  let at = 0;
  for (const t of ts) {
    data.set(t.data as Float32Array, at);
    at += t.data.length;
  }
  return { dtype: "float32", dims: [1, n, d], data };
};
