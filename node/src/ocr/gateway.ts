// Gateway image hooks for OCR models: a buyer posts an image; the node turns it into the
// model's input tensor and the model's output back into text (rec), a direction (cls) or text
// boxes (det). Which of the three a model is comes from its manifest's model name, as in
// `shardmesh model run`.
//
// A buyer's image is untrusted: its header is read first and an image declaring more pixels than
// the model's input can use is refused (ImageTooLargeError) before a byte is decoded; decoding and
// pre-processing run in a worker thread with a deadline (decoder.ts), never on the event loop.
import type { RequestBounds } from "../inference/bounds.ts";
import { fromWireTensor, toWireTensor } from "../tensor/index.ts";
import type { WireBag } from "../tensor/index.ts";
import { loadCharset } from "./assets.ts";
import { clsDecode, CLS_HEIGHT, CLS_WIDTH } from "./cls.ts";
import { DET_LIMIT_SIDE, IMAGE_OVERSAMPLE, MAX_IMAGE_PIXELS, REC_MAX_WIDTH } from "./constants.ts";
import { dbPostprocess } from "./det.ts";
import { ImageDecoder } from "./decoder.ts";
import { ImageTooLargeError, OcrTaskUnknownError } from "./errors.ts";
import { imageHeader } from "./header.ts";
import { ctcDecode, REC_HEIGHT } from "./rec.ts";

export { OcrTaskUnknownError } from "./errors.ts";

export type OcrTask = "rec" | "cls" | "det";

/** The OCR task of a model from its name (ch_PP-OCRv4_rec_infer → rec), or undefined. */
export function ocrTaskOf(modelName: string): OcrTask | undefined {
  return /det/i.test(modelName) ? "det" : /cls/i.test(modelName) ? "cls" : /rec/i.test(modelName) ? "rec" : undefined;
}

/** Smallest pixel cap whatever the model input (a line crop needs some room around it). */
export const MIN_IMAGE_PIXEL_CAP = 1_000_000;

/** Largest height and width of a model's image input (NCHW dims 2 and 3), from its input bounds. */
export interface ImageInputSize {
  height: number;
  width: number;
}

/** The largest image a model's bounds allow for its NCHW input `name` (default: its only input). */
export function imageInputSize(bounds: RequestBounds, name?: string): ImageInputSize | undefined {
  const input = name ? bounds.inputs[name] : Object.values(bounds.inputs)[0];
  if (input?.dims.length !== 4) return undefined;
  return { height: input.dims[2][1], width: input.dims[3][1] };
}

/** What the hooks do for one task at one input size: the tensor's size and the source pixel cap. */
export function imagePlan(task: OcrTask, size?: ImageInputSize): { maxWidth: number; limitSide: number; pixelCap: number } {
  const maxWidth = task === "rec" ? (size?.width ?? REC_MAX_WIDTH) : CLS_WIDTH;
  // The detector's sides are multiples of 32 up to the limit.
  const limitSide = Math.max(
    32,
    Math.floor(Math.min(DET_LIMIT_SIDE, size?.height ?? DET_LIMIT_SIDE, size?.width ?? DET_LIMIT_SIDE) / 32) * 32,
  );
  const plane = task === "rec" ? REC_HEIGHT * maxWidth : task === "cls" ? CLS_HEIGHT * CLS_WIDTH : limitSide * limitSide;
  // pixel cap = clamp(IMAGE_OVERSAMPLE × input plane, MIN_IMAGE_PIXEL_CAP, MAX_IMAGE_PIXELS)
  const pixelCap = Math.min(MAX_IMAGE_PIXELS, Math.max(MIN_IMAGE_PIXEL_CAP, IMAGE_OVERSAMPLE * plane));
  return { maxWidth, limitSide, pixelCap };
}

export interface OcrImageHooks {
  toInput(modelId: string, image: Uint8Array, options?: { signal?: AbortSignal }): Promise<WireBag>;
  toText(modelId: string, output: WireBag): Promise<string | undefined>;
  /** Stops the decoder's workers. */
  close(): Promise<void>;
}

export interface OcrImageHooksOptions {
  /** Name of the model's image input (default `x`, the PaddleOCR models' input). */
  inputName?: (modelId: string) => string;
  /** Largest image input of the model (from its manifest's input bounds); default the PP-OCR sizes. */
  inputSize?: (modelId: string) => ImageInputSize | undefined;
  /** Decoder to share (default: one of its own, started on first use). */
  decoder?: ImageDecoder;
}

/**
 * Image hooks for the gateway. `taskOf(modelId)` names the OCR task of a model the node knows
 * (undefined: not an OCR model).
 */
export function ocrImageHooks(taskOf: (modelId: string) => OcrTask | undefined, options: OcrImageHooksOptions = {}): OcrImageHooks {
  const decoder = options.decoder ?? new ImageDecoder();
  const task = (modelId: string): OcrTask => {
    const t = taskOf(modelId);
    if (!t) throw new OcrTaskUnknownError(`model ${modelId} takes tensors, not images`);
    return t;
  };
  return {
    async toInput(modelId, image, o = {}) {
      const t = task(modelId);
      const head = imageHeader(image);
      const plan = imagePlan(t, options.inputSize?.(modelId));
      if (head.width * head.height > plan.pixelCap) throw new ImageTooLargeError(head.width, head.height, plan.pixelCap);
      const tensor = await decoder.run({ task: t, image, maxWidth: plan.maxWidth, limitSide: plan.limitSide }, o);
      return { [options.inputName?.(modelId) ?? "x"]: toWireTensor(tensor) };
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
    close: () => decoder.close(),
  };
}
