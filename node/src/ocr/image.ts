// RGBA images for the OCR pre-processing: decode (PNG/JPEG via @napi-rs/canvas), resize, crop,
// rotate. Resizing uses canvas drawImage (bilinear), as PaddleOCR uses cv2.resize.
import { createCanvas, loadImage, type SKRSContext2D } from "@napi-rs/canvas";
import { ImageDecodeError } from "./errors.ts";

export interface RgbaImage {
  width: number;
  height: number;
  /** RGBA bytes, row-major. */
  data: Uint8ClampedArray;
}

export { ImageDecodeError } from "./errors.ts";

export async function decodeImage(source: Uint8Array | string): Promise<RgbaImage> {
  let img: Awaited<ReturnType<typeof loadImage>>;
  try {
    img = await loadImage(typeof source === "string" ? source : Buffer.from(source));
  } catch (err) {
    throw new ImageDecodeError(`cannot decode image: ${(err as Error).message}`);
  }
  if (!img.width || !img.height) throw new ImageDecodeError("image has no pixels");
  const c = createCanvas(img.width, img.height);
  const ctx = c.getContext("2d");
  ctx.drawImage(img, 0, 0);
  const d = ctx.getImageData(0, 0, img.width, img.height);
  return { width: img.width, height: img.height, data: new Uint8ClampedArray(d.data) };
}

function toContext(img: RgbaImage): SKRSContext2D {
  const c = createCanvas(img.width, img.height);
  const ctx = c.getContext("2d");
  const id = ctx.createImageData(img.width, img.height);
  id.data.set(img.data);
  ctx.putImageData(id, 0, 0);
  return ctx;
}

export function resizeImage(img: RgbaImage, width: number, height: number): RgbaImage {
  if (width === img.width && height === img.height) return img;
  const src = toContext(img);
  const c = createCanvas(width, height);
  const ctx = c.getContext("2d");
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = "high";
  ctx.drawImage(src.canvas, 0, 0, img.width, img.height, 0, 0, width, height);
  return { width, height, data: new Uint8ClampedArray(ctx.getImageData(0, 0, width, height).data) };
}

export function cropImage(img: RgbaImage, x: number, y: number, w: number, h: number): RgbaImage {
  const x0 = Math.max(0, Math.floor(x));
  const y0 = Math.max(0, Math.floor(y));
  const x1 = Math.min(img.width, Math.ceil(x + w));
  const y1 = Math.min(img.height, Math.ceil(y + h));
  const cw = Math.max(1, x1 - x0);
  const ch = Math.max(1, y1 - y0);
  const data = new Uint8ClampedArray(cw * ch * 4);
  for (let r = 0; r < ch && y0 + r < img.height; r++) {
    data.set(img.data.subarray(((y0 + r) * img.width + x0) * 4, ((y0 + r) * img.width + x0 + cw) * 4), r * cw * 4);
  }
  return { width: cw, height: ch, data };
}

export function rotate180(img: RgbaImage): RgbaImage {
  const n = img.width * img.height;
  const data = new Uint8ClampedArray(n * 4);
  for (let i = 0; i < n; i++) data.set(img.data.subarray(i * 4, i * 4 + 4), (n - 1 - i) * 4);
  return { width: img.width, height: img.height, data };
}

/** Renders text in black on white (tests, demos): DejaVu Sans when available. */
export async function renderText(
  lines: string[],
  options: { fontSize?: number; padding?: number; font?: string } = {},
): Promise<Uint8Array> {
  const { GlobalFonts } = await import("@napi-rs/canvas");
  const fontFile = options.font ?? "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
  GlobalFonts.registerFromPath(fontFile, "ShardMeshSans");
  const size = options.fontSize ?? 32;
  const pad = options.padding ?? 24;
  const probe = createCanvas(10, 10).getContext("2d");
  probe.font = `${size}px ShardMeshSans`;
  const width = Math.ceil(Math.max(...lines.map((l) => probe.measureText(l).width))) + 2 * pad;
  const lineH = Math.round(size * 1.8);
  const height = lines.length * lineH + 2 * pad;
  const c = createCanvas(width, height);
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#ffffff";
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = "#000000";
  ctx.font = `${size}px ShardMeshSans`;
  ctx.textBaseline = "middle";
  for (const [i, l] of lines.entries()) ctx.fillText(l, pad, pad + lineH * i + lineH / 2);
  return new Uint8Array(await c.encode("png"));
}
