// PP-OCRv4 text detector (DBNet): image → [1,3,H,W] tensor (sides multiples of 32, longest side
// ≤ limit, ImageNet mean/std in cv2's BGR channel order), and DB post-processing: threshold the
// probability map, take connected regions, score them, expand ("unclip") each box by
// area·ratio/perimeter and scale back to the source image. Boxes are axis-aligned rectangles.
import type { Tensor } from "../tensor/index.ts";
import type { RgbaImage } from "./image.ts";
import { imageToChw } from "./rec.ts";

export interface DetInput {
  tensor: Tensor;
  /** Source pixels per model pixel. */
  scaleX: number;
  scaleY: number;
}

export function detPreprocess(img: RgbaImage, limitSide = 960): DetInput {
  const r = Math.min(1, limitSide / Math.max(img.width, img.height));
  const w = Math.max(32, Math.round((img.width * r) / 32) * 32);
  const h = Math.max(32, Math.round((img.height * r) / 32) * 32);
  const tensor = imageToChw(img, w, h, [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]);
  return { tensor, scaleX: img.width / w, scaleY: img.height / h };
}

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
  score: number;
}

export interface DbOptions {
  /** Pixel threshold on the probability map. Default 0.3. */
  threshold?: number;
  /** Minimum mean probability of a region. Default 0.6. */
  boxThreshold?: number;
  /** Expansion ratio. Default 1.5. */
  unclipRatio?: number;
  /** Smallest box side in model pixels. Default 3. */
  minSize?: number;
}

export function dbPostprocess(prob: Tensor, input: Pick<DetInput, "scaleX" | "scaleY">, o: DbOptions = {}): Box[] {
  const [, , H, W] = prob.dims;
  const p = prob.data as Float32Array;
  const thr = o.threshold ?? 0.3;
  const seen = new Uint8Array(H * W);
  const boxes: Box[] = [];
  const stack: number[] = [];
  for (let start = 0; start < H * W; start++) {
    if (seen[start] || p[start] <= thr) continue;
    let minX = W,
      minY = H,
      maxX = -1,
      maxY = -1,
      sum = 0,
      count = 0;
    seen[start] = 1;
    stack.push(start);
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % W;
      const y = (i - x) / W;
      sum += p[i];
      count++;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
      const nb = [x > 0 ? i - 1 : -1, x < W - 1 ? i + 1 : -1, y > 0 ? i - W : -1, y < H - 1 ? i + W : -1];
      for (const j of nb) {
        if (j >= 0 && !seen[j] && p[j] > thr) {
          seen[j] = 1;
          stack.push(j);
        }
      }
    }
    const w = maxX - minX + 1;
    const h = maxY - minY + 1;
    if (Math.min(w, h) < (o.minSize ?? 3)) continue;
    const score = sum / count;
    if (score < (o.boxThreshold ?? 0.6)) continue;
    const d = (w * h * (o.unclipRatio ?? 1.5)) / (2 * (w + h));
    const x0 = Math.max(0, minX - d);
    const y0 = Math.max(0, minY - d);
    const x1 = Math.min(W, maxX + 1 + d);
    const y1 = Math.min(H, maxY + 1 + d);
    boxes.push({ x: x0 * input.scaleX, y: y0 * input.scaleY, width: (x1 - x0) * input.scaleX, height: (y1 - y0) * input.scaleY, score });
  }
  // reading order: top to bottom, then left to right within a line
  return boxes.sort((a, b) => (Math.abs(a.y - b.y) < Math.min(a.height, b.height) / 2 ? a.x - b.x : a.y - b.y));
}
