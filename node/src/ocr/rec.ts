// PP-OCRv4 text recogniser: crop → [1,3,48,W] tensor (BGR, (v/255-0.5)/0.5, right-padded with 0),
// and greedy CTC decoding of [N,T,C] probabilities with the dictionary.
import type { Tensor } from "../tensor/index.ts";
import { resizeImage, type RgbaImage } from "./image.ts";
import { loadCharset } from "./assets.ts";

export const REC_HEIGHT = 48;
/** Recogniser width for a crop: keeps the aspect ratio, at least 320 (model's default), multiple of 8. */
export function recWidth(img: RgbaImage, minWidth = 320, maxWidth = 1600): number {
  const w = Math.ceil((REC_HEIGHT * img.width) / img.height);
  return Math.min(maxWidth, Math.max(minWidth, Math.ceil(w / 8) * 8));
}

/** Normalised CHW tensor of `img` scaled to height 48 (BGR channel order, like cv2). */
export function imageToChw(
  img: RgbaImage,
  width: number,
  height: number,
  mean: readonly number[],
  std: readonly number[],
  fitWidth?: number,
): Tensor {
  const w = fitWidth ?? width;
  const scaled = resizeImage(img, w, height);
  const data = new Float32Array(3 * height * width);
  const plane = height * width;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < w; x++) {
      const p = (y * w + x) * 4;
      const o = y * width + x;
      // BGR order: channel 0 is blue
      data[o] = (scaled.data[p + 2] / 255 - mean[0]) / std[0];
      data[plane + o] = (scaled.data[p + 1] / 255 - mean[1]) / std[1];
      data[2 * plane + o] = (scaled.data[p] / 255 - mean[2]) / std[2];
    }
  }
  return { dtype: "float32", dims: [1, 3, height, width], data };
}

export function recPreprocess(img: RgbaImage, width = recWidth(img)): Tensor {
  const fit = Math.min(width, Math.max(1, Math.ceil((REC_HEIGHT * img.width) / img.height)));
  return imageToChw(img, width, REC_HEIGHT, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], fit);
}

export interface TextResult {
  text: string;
  /** Mean probability of the emitted characters (1 for an empty string). */
  confidence: number;
}

/** Greedy CTC: best class per step, merge repeats, drop blanks. One result per batch row. The
 *  text is trimmed: the recogniser often emits a space class on the padding either side of a
 *  line (10 of 30 unseen lines), which is never part of what was written. */
export function ctcDecode(probs: Tensor, charset: readonly string[] = loadCharset()): TextResult[] {
  const [n, steps, classes] = probs.dims;
  if (probs.dims.length !== 3 || classes !== charset.length) {
    throw new RangeError(`CTC output [${probs.dims.join(",")}] does not match ${charset.length} classes`);
  }
  const d = probs.data as Float32Array;
  const out: TextResult[] = [];
  for (let b = 0; b < n; b++) {
    let text = "";
    let sum = 0;
    let count = 0;
    let prev = -1;
    for (let t = 0; t < steps; t++) {
      const base = (b * steps + t) * classes;
      let best = 0;
      let bestP = d[base];
      for (let c = 1; c < classes; c++) {
        if (d[base + c] > bestP) {
          bestP = d[base + c];
          best = c;
        }
      }
      if (best !== 0 && best !== prev) {
        text += charset[best];
        sum += bestP;
        count++;
      }
      prev = best;
    }
    out.push({ text: text.trim(), confidence: count ? sum / count : 1 });
  }
  return out;
}
