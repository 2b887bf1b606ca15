// Gateway image hooks for OCR models: a buyer posts an image; the node turns it into the
// model's input tensor and the model's output back into text (rec), a direction (cls) or text
// boxes (det). Which of the three a model is comes from its manifest's model name, as in
// `shardmesh model run`.
import { fromWireTensor, toWireTensor } from "../inference/tensor.ts";
import type { WireBag } from "../pipeline/tensor.ts";
import { loadCharset } from "./assets.ts";
import { clsDecode, clsPreprocess } from "./cls.ts";
import { dbPostprocess, detPreprocess } from "./det.ts";
import { decodeImage } from "./image.ts";
import { ctcDecode, recPreprocess } from "./rec.ts";

export type OcrTask = "rec" | "cls" | "det";

/** The OCR task of a model from its name (ch_PP-OCRv4_rec_infer → rec), or undefined. */
export function ocrTaskOf(modelName: string): OcrTask | undefined {
  return /det/i.test(modelName) ? "det" : /cls/i.test(modelName) ? "cls" : /rec/i.test(modelName) ? "rec" : undefined;
}

/** A model id has no image pre-processing on this node. */
export class OcrTaskUnknownError extends Error {
  override name = "OcrTaskUnknownError";
}

export interface OcrImageHooks {
  toInput(modelId: string, image: Uint8Array): Promise<WireBag>;
  toText(modelId: string, output: WireBag): Promise<string | undefined>;
}

/**
 * Image hooks for the gateway. `taskOf(modelId)` names the OCR task of a model the node knows
 * (undefined: not an OCR model). The input tensor is named `inputName(modelId)` (default `x`,
 * the PaddleOCR models' input).
 */
export function ocrImageHooks(
  taskOf: (modelId: string) => OcrTask | undefined,
  inputName: (modelId: string) => string = () => "x",
): OcrImageHooks {
  const task = (modelId: string): OcrTask => {
    const t = taskOf(modelId);
    if (!t) throw new OcrTaskUnknownError(`model ${modelId} takes tensors, not images`);
    return t;
  };
  return {
    async toInput(modelId, image) {
      const t = task(modelId);
      const img = await decodeImage(image);
      if (t === "rec") return { [inputName(modelId)]: toWireTensor(recPreprocess(img)) };
      if (t === "cls") return { [inputName(modelId)]: toWireTensor(clsPreprocess(img)) };
      return { [inputName(modelId)]: toWireTensor(detPreprocess(img).tensor) };
    },
    async toText(modelId, output) {
      const t = taskOf(modelId);
      const [only] = Object.values(output);
      if (!t || !only) return undefined;
      const tensor = fromWireTensor(only);
      if (t === "rec") return ctcDecode(tensor, loadCharset())[0]?.text;
      if (t === "cls") {
        const d = clsDecode(tensor)[0];
        return d ? `${d.angle}° (${(d.score * 100).toFixed(1)}%)` : undefined;
      }
      // The hooks see no per-request state, so det boxes are in the model input's pixels.
      const boxes = dbPostprocess(tensor, { scaleX: 1, scaleY: 1 });
      return boxes.map((b) => `box x=${b.x.toFixed(0)} y=${b.y.toFixed(0)} w=${b.width.toFixed(0)} h=${b.height.toFixed(0)}`).join("\n");
    },
  };
}
