// Image bombs: a buyer's image is refused from its header when it declares more pixels than the
// model's input can use, before any pixel is decoded; accepted images decode in a worker thread
// (same tensor as on the main thread) under a deadline that replaces a stuck worker.
import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { createCanvas } from "@napi-rs/canvas";
import { fromWireTensor, toWireTensor } from "../../../node/src/tensor/index.ts";
import { decodeImage, imageHeader, recPreprocess, renderText } from "../../../node/src/ocr/index.ts";
import { ImageDecoder } from "../../../node/src/ocr/decoder.ts";
import { imageInputSize, imagePlan, MIN_IMAGE_PIXEL_CAP, ocrImageHooks } from "../../../node/src/ocr/gateway.ts";
import { pngBomb } from "./fixtures.ts";

async function canvasImage(width: number, height: number, mime: "png" | "jpeg"): Promise<Uint8Array> {
  const c = createCanvas(width, height);
  const ctx = c.getContext("2d");
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, width, height);
  ctx.fillStyle = "#000";
  ctx.fillRect(width / 4, height / 4, width / 2, height / 2);
  return new Uint8Array(mime === "png" ? await c.encode("png") : await c.encode("jpeg", 80));
}

describe("image guard", () => {
  const hooks = ocrImageHooks((id) => (id === "rec" ? "rec" : id === "cls" ? "cls" : id === "det" ? "det" : undefined));
  after(() => hooks.close());

  it("reads PNG and JPEG sizes from the header and refuses other formats by name", async () => {
    assert.deepEqual(imageHeader(await canvasImage(123, 45, "png")), { format: "png", width: 123, height: 45 });
    assert.deepEqual(imageHeader(await canvasImage(321, 54, "jpeg")), { format: "jpeg", width: 321, height: 54 });
    assert.deepEqual(imageHeader(pngBomb(6000, 6000)), { format: "png", width: 6000, height: 6000 });
    const svg = new TextEncoder().encode('<svg xmlns="http://www.w3.org/2000/svg" width="9000" height="9000"/>');
    const gif = new TextEncoder().encode("GIF89a\x10\x00\x10\x00");
    for (const bytes of [svg, gif, new Uint8Array([0xff, 0xd8, 0xff, 0xd9]), pngBomb(0, 10), new Uint8Array(0)]) {
      assert.throws(() => imageHeader(bytes), { name: "ImageDecodeError" });
    }
  });

  it("derives the pixel cap from the model input: 16 × 48 × 1600 for the recogniser, a floor for small inputs", () => {
    assert.equal(imagePlan("rec").pixelCap, 16 * 48 * 1600);
    assert.equal(imagePlan("rec", { height: 48, width: 800 }).maxWidth, 800);
    assert.equal(imagePlan("cls").pixelCap, MIN_IMAGE_PIXEL_CAP);
    assert.equal(imagePlan("det").pixelCap, 16 * 960 * 960);
    assert.equal(imagePlan("det", { height: 640, width: 2000 }).limitSide, 640);
    // from a model's request bounds (NCHW input)
    const bounds = {
      inputs: {
        x: {
          dtype: "float32" as const,
          dims: [
            [1, 1],
            [3, 3],
            [48, 48],
            [64, 800],
          ] as [number, number][],
        },
      },
      maxBytes: 0,
      maxElements: {},
      profileElements: {},
    };
    assert.deepEqual(imageInputSize(bounds), { height: 48, width: 800 });
    assert.equal(imagePlan("rec", imageInputSize(bounds)).maxWidth, 800);
    assert.equal(imagePlan("rec", { height: 48, width: 3200 }).pixelCap, 16 * 48 * 3200);
  });

  it("refuses a 72-byte PNG declaring 6000×6000 pixels from its header, without decoding it", async () => {
    const bomb = pngBomb(6000, 6000);
    assert.ok(bomb.byteLength < 100, `${bomb.byteLength} bytes`);
    const rss = process.memoryUsage().rss;
    await assert.rejects(
      hooks.toInput("rec", bomb),
      (e: Error & { limit?: number }) => e.name === "ImageTooLargeError" && e.limit === 1_228_800,
    );
    await assert.rejects(hooks.toInput("det", pngBomb(12000, 12000)), { name: "ImageTooLargeError" });
    // Nothing was allocated for the declared 36 MP (a decode takes ≥ 144 MB for it).
    assert.ok(process.memoryUsage().rss - rss < 64 * 1024 * 1024);
  });

  it("decodes in a worker to the same tensor as the main thread", async () => {
    const png = await renderText(["worker decode 42"], { fontSize: 40 });
    const input = await hooks.toInput("rec", png);
    const here = recPreprocess(await decodeImage(png));
    assert.deepEqual(input.x, toWireTensor(here));
    const cls = fromWireTensor((await hooks.toInput("cls", png)).x);
    assert.deepEqual(cls.dims, [1, 3, 48, 192]);
  });

  it("keeps the recogniser's width within the model's declared bounds", async () => {
    const narrow = ocrImageHooks(() => "rec", { inputSize: () => ({ height: 48, width: 400 }) });
    try {
      const x = fromWireTensor(
        (
          await narrow.toInput(
            "rec",
            await renderText(["a rather long line of text, long enough to need more than four hundred pixels of width"]),
          )
        ).x,
      );
      assert.deepEqual(x.dims, [1, 3, 48, 400]);
    } finally {
      await narrow.close();
    }
  });

  it("names a broken image within the cap (decoder error in the worker)", async () => {
    // A valid 10×10 IHDR (bad CRC) and nothing after it.
    const png = new Uint8Array([
      0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 73, 72, 68, 82, 0, 0, 0, 10, 0, 0, 0, 10, 8, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
    assert.deepEqual(imageHeader(png), { format: "png", width: 10, height: 10 });
    await assert.rejects(hooks.toInput("rec", png), { name: "ImageDecodeError" });
    // The worker survives a decoder error: the next image decodes.
    assert.ok((await hooks.toInput("rec", await renderText(["after"]))).x);
  });

  it("replaces a worker that passes the deadline and keeps serving", async () => {
    const decoder = new ImageDecoder({ timeoutMs: 1 });
    const slow = ocrImageHooks(() => "det", { decoder });
    try {
      const big = await canvasImage(2000, 1500, "png");
      await assert.rejects(slow.toInput("det", big), { name: "ImageDecodeTimeoutError" });
      assert.equal(decoder.respawns, 1);
    } finally {
      await slow.close();
    }
  });

  it("bounds the queue: images beyond it are refused by name", async () => {
    const decoder = new ImageDecoder({ maxQueue: 2 });
    const small = ocrImageHooks(() => "rec", { decoder });
    try {
      const png = await renderText(["q"]);
      const all = await Promise.allSettled(Array.from({ length: 8 }, () => small.toInput("rec", png)));
      const names = all.map((r) => (r.status === "fulfilled" ? "ok" : (r.reason as Error).name));
      assert.ok(names.includes("ok"));
      assert.ok(names.includes("ImageDecoderBusyError"), names.join(","));
      assert.deepEqual([...new Set(names)].sort(), ["ImageDecoderBusyError", "ok"]);
    } finally {
      await small.close();
    }
  });
});
