// Image size from the header alone, before any pixel is decoded: a 72-byte PNG may declare
// 6000×6000 pixels, and a decoder allocates what the header declares. Only PNG and JPEG are
// accepted (PROTOCOL.md: `input.image` is a base64 PNG/JPEG); every other format (SVG, GIF,
// WebP, …, which the canvas decoder would also take) is refused by name.
//   PNG : 8-byte signature, then the IHDR chunk: uint32 BE length, "IHDR", uint32 BE width, height.
//   JPEG: SOI (FF D8), then marker segments (FF xx, uint16 BE length including itself) up to the
//         first SOFn frame header: precision (1 byte), uint16 BE height, uint16 BE width.
import { ImageDecodeError } from "./errors.ts";

export interface ImageHeader {
  format: "png" | "jpeg";
  width: number;
  height: number;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function be16(b: Uint8Array, i: number): number {
  return (b[i] << 8) | b[i + 1];
}
function be32(b: Uint8Array, i: number): number {
  return ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
}

function pngHeader(b: Uint8Array): ImageHeader {
  if (b.byteLength < 24) throw new ImageDecodeError("PNG shorter than its IHDR chunk");
  const type = String.fromCharCode(b[12], b[13], b[14], b[15]);
  if (type !== "IHDR" || be32(b, 8) !== 13) throw new ImageDecodeError("PNG does not start with an IHDR chunk");
  return { format: "png", width: be32(b, 16), height: be32(b, 20) };
}

/** SOF0..SOF15 carry the frame size; C4 (DHT), C8 (JPG) and CC (DAC) share the range but do not. */
function isFrameHeader(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

function jpegHeader(b: Uint8Array): ImageHeader {
  let i = 2;
  // Every step consumes at least one byte, so the loop ends within b.byteLength steps.
  while (i < b.byteLength) {
    if (b[i] !== 0xff) throw new ImageDecodeError(`JPEG: expected a marker at byte ${i}`);
    while (i < b.byteLength && b[i] === 0xff) i++; // fill bytes
    if (i >= b.byteLength) break;
    const marker = b[i++];
    if ((marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) continue; // RSTn, TEM: no length
    if (marker === 0xd9 || marker === 0xda) throw new ImageDecodeError("JPEG: no frame header before the scan");
    if (i + 2 > b.byteLength) break;
    const len = be16(b, i);
    if (len < 2) throw new ImageDecodeError(`JPEG: segment length ${len} at byte ${i}`);
    if (isFrameHeader(marker)) {
      if (len < 8 || i + 7 > b.byteLength) break;
      return { format: "jpeg", height: be16(b, i + 3), width: be16(b, i + 5) };
    }
    i += len;
  }
  throw new ImageDecodeError("JPEG ends before its frame header");
}

/** Format and declared size of a PNG or JPEG; ImageDecodeError for anything else or a size of 0. */
export function imageHeader(bytes: Uint8Array): ImageHeader {
  let h: ImageHeader;
  if (bytes.byteLength >= 8 && PNG_SIGNATURE.every((v, i) => bytes[i] === v)) h = pngHeader(bytes);
  else if (bytes.byteLength >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) h = jpegHeader(bytes);
  else throw new ImageDecodeError("not a PNG or JPEG image");
  if (h.width === 0 || h.height === 0) throw new ImageDecodeError(`${h.format} declares ${h.width}×${h.height} pixels`);
  return h;
}
