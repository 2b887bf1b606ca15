// Text direction classifier (0° / 180°): crop → [1,3,48,192] tensor, softmax → angle.
import type { Tensor } from "../tensor/index.ts";
import type { RgbaImage } from "./image.ts";
import { imageToChw } from "./rec.ts";

export const CLS_HEIGHT = 48;
export const CLS_WIDTH = 192;
/** PaddleOCR's cls_thresh: rotate only when the classifier is this sure. */
export const CLS_THRESHOLD = 0.9;

export function clsPreprocess(img: RgbaImage): Tensor {
  const fit = Math.min(CLS_WIDTH, Math.max(1, Math.ceil((CLS_HEIGHT * img.width) / img.height)));
  return imageToChw(img, CLS_WIDTH, CLS_HEIGHT, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5], fit);
}

export interface Direction {
  angle: 0 | 180;
  score: number;
}

export function clsDecode(probs: Tensor): Direction[] {
  const d = probs.data as Float32Array;
  const out: Direction[] = [];
  for (let b = 0; b < probs.dims[0]; b++) {
    const p0 = d[2 * b];
    const p1 = d[2 * b + 1];
    out.push(p1 > p0 ? { angle: 180, score: p1 } : { angle: 0, score: p0 });
  }
  return out;
}
