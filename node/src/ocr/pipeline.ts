// End-to-end OCR over any inference backend: a backend is just "bag in, bag out", so the same
// code runs the whole models (StageRunner), chained shards (ChainedPipeline) or the mesh.
import type { TensorBag } from "../tensor/index.ts";
import { cropImage, decodeImage, rotate180, type RgbaImage } from "./image.ts";
import { ctcDecode, recPreprocess } from "./rec.ts";
import { clsDecode, clsPreprocess, CLS_THRESHOLD } from "./cls.ts";
import { dbPostprocess, detPreprocess, type Box, type DbOptions } from "./det.ts";
import { loadCharset } from "./assets.ts";

export type InferFn = (bag: TensorBag, options?: { signal?: AbortSignal }) => Promise<TensorBag>;

export interface OcrBackends {
  det?: InferFn;
  cls?: InferFn;
  rec: InferFn;
}

export interface OcrLine {
  text: string;
  confidence: number;
  box: Box | null;
  angle: 0 | 180;
}

export interface OcrOptions {
  signal?: AbortSignal;
  limitSide?: number;
  db?: DbOptions;
}

function only(bag: TensorBag) {
  const names = Object.keys(bag);
  if (names.length !== 1) throw new RangeError(`expected one output tensor, got ${names.join(", ")}`);
  return bag[names[0]];
}

/** Recognises one text line image (no detection). */
export async function recognizeLine(rec: InferFn, img: RgbaImage, options: { signal?: AbortSignal } = {}) {
  const out = await rec({ x: recPreprocess(img) }, options);
  return ctcDecode(only(out), loadCharset())[0];
}

/** Detects text boxes, fixes upside-down crops, recognises each line. Without det, the whole image is one line. */
export async function recognize(b: OcrBackends, image: RgbaImage | Uint8Array, options: OcrOptions = {}): Promise<OcrLine[]> {
  const img = image instanceof Uint8Array ? await decodeImage(image) : image;
  const sig = { signal: options.signal };
  let crops: Array<{ img: RgbaImage; box: Box | null }> = [{ img, box: null }];
  if (b.det) {
    const input = detPreprocess(img, options.limitSide);
    const prob = only(await b.det({ x: input.tensor }, sig));
    crops = dbPostprocess(prob, input, options.db).map((box) => ({ img: cropImage(img, box.x, box.y, box.width, box.height), box }));
  }
  const lines: OcrLine[] = [];
  for (const c of crops) {
    let crop = c.img;
    let angle: 0 | 180 = 0;
    if (b.cls) {
      const dir = clsDecode(only(await b.cls({ x: clsPreprocess(crop) }, sig)))[0];
      if (dir.angle === 180 && dir.score > CLS_THRESHOLD) {
        crop = rotate180(crop);
        angle = 180;
      }
    }
    const r = await recognizeLine(b.rec, crop, sig);
    lines.push({ text: r.text.trim(), confidence: r.confidence, box: c.box, angle });
  }
  return lines;
}
