// Rendered digit images for the project's own zk model: the digits 0-9 drawn with
// @napi-rs/canvas in several DejaVu fonts, sizes, offsets and slants, plus pixel noise, all
// from a seeded RNG so the same seed gives the same images on the same machine.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createCanvas, GlobalFonts } from "@napi-rs/canvas";
import { mulberry32 } from "../tensor/index.ts";

/** Image side in pixels; the model's input is the flattened SIDE × SIDE grey image. */
export const DIGIT_SIDE = 16;
export const DIGIT_PIXELS = DIGIT_SIDE * DIGIT_SIDE;
export const DIGIT_CLASSES = 10;

export const FONT_DIR = "/usr/share/fonts/truetype/dejavu";
/** Font files (DejaVu, Debian's fonts-dejavu-core) and the family names they register as. */
export const DIGIT_FONTS: readonly (readonly [file: string, family: string])[] = [
  ["DejaVuSans.ttf", "SM Sans"],
  ["DejaVuSans-Bold.ttf", "SM Sans Bold"],
  ["DejaVuSerif.ttf", "SM Serif"],
  ["DejaVuSerif-Bold.ttf", "SM Serif Bold"],
  ["DejaVuSansMono.ttf", "SM Mono"],
  ["DejaVuSansMono-Bold.ttf", "SM Mono Bold"],
  ["DejaVuSansCondensed.ttf", "SM Condensed"],
  ["DejaVuSans-Oblique.ttf", "SM Oblique"],
];

/** The DejaVu fonts are not installed (Debian: apt-get install fonts-dejavu-core). */
export class DigitFontMissingError extends Error {
  override name = "DigitFontMissingError";
}

let registered = false;
function registerFonts(fontDir: string): void {
  if (registered) return;
  for (const [file, family] of DIGIT_FONTS) {
    const path = join(fontDir, file);
    if (!existsSync(path)) throw new DigitFontMissingError(`${path} is missing (install fonts-dejavu-core)`);
    GlobalFonts.registerFromPath(path, family);
  }
  registered = true;
}

export interface DigitStyle {
  readonly font: number;
  /** Font size in pixels. */
  readonly size: number;
  readonly dx: number;
  readonly dy: number;
  /** Rotation in radians. */
  readonly angle: number;
}

/** One digit as SIDE×SIDE grey values in [0, 1] (ink = 1). */
export function renderDigit(digit: number, style: DigitStyle, fontDir = FONT_DIR): Float32Array {
  registerFonts(fontDir);
  const canvas = createCanvas(DIGIT_SIDE, DIGIT_SIDE);
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#000";
  ctx.fillRect(0, 0, DIGIT_SIDE, DIGIT_SIDE);
  ctx.translate(DIGIT_SIDE / 2 + style.dx, DIGIT_SIDE / 2 + style.dy);
  ctx.rotate(style.angle);
  ctx.fillStyle = "#fff";
  ctx.font = `${style.size}px "${DIGIT_FONTS[style.font][1]}"`;
  ctx.textAlign = "center";
  ctx.textBaseline = "middle";
  ctx.fillText(String(digit), 0, 0);
  const rgba = ctx.getImageData(0, 0, DIGIT_SIDE, DIGIT_SIDE).data;
  const out = new Float32Array(DIGIT_PIXELS);
  for (let i = 0; i < DIGIT_PIXELS; i++) out[i] = rgba[4 * i] / 255;
  return out;
}

export interface DigitSet {
  /** count × DIGIT_PIXELS, row-major. */
  readonly images: Float32Array;
  readonly labels: Uint8Array;
  readonly count: number;
}

/** `perDigit` random renderings of each digit (styles and noise from `seed`), shuffled. */
export function digitSet(seed: number, perDigit: number, fontDir = FONT_DIR): DigitSet {
  const rand = mulberry32(seed);
  const count = perDigit * DIGIT_CLASSES;
  const images = new Float32Array(count * DIGIT_PIXELS);
  const labels = new Uint8Array(count);
  const order = Array.from({ length: count }, (_, i) => i);
  for (let i = count - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  for (let k = 0; k < count; k++) {
    const digit = k % DIGIT_CLASSES;
    const style: DigitStyle = {
      font: Math.floor(rand() * DIGIT_FONTS.length),
      size: 11 + rand() * 5,
      dx: (rand() - 0.5) * 4,
      dy: (rand() - 0.5) * 3,
      angle: (rand() - 0.5) * 0.3,
    };
    const img = renderDigit(digit, style, fontDir);
    for (let i = 0; i < DIGIT_PIXELS; i++) {
      const noisy = img[i] + (rand() - 0.5) * 0.2;
      img[i] = noisy < 0 ? 0 : Math.min(noisy, 1);
    }
    images.set(img, order[k] * DIGIT_PIXELS);
    labels[order[k]] = digit;
  }
  return { images, labels, count };
}
