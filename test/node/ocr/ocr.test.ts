// OCR end to end: images of known text rendered here are read back exactly, by the whole models
// and by the same models split into pipeline stages.
import { describe, it, before, after } from "node:test";
import assert from "node:assert/strict";
import { ModelToolkit } from "../../../node/src/onnx/index.ts";
import { ChainedPipeline, StageRunner } from "../../../node/src/inference/index.ts";
import type { TensorBag } from "../../../node/src/tensor/index.ts";
import {
  OCR_MODELS,
  ctcDecode,
  decodeImage,
  loadCharset,
  recognize,
  renderText,
  rotate180,
  type InferFn,
  type OcrBackends,
} from "../../../node/src/ocr/index.ts";
import { tempDir } from "../inference/helpers.ts";

const LINES = ["ShardMesh 2026", "pipeline stage 42"];
const closers: Array<() => Promise<void>> = [];
after(async () => {
  await Promise.all(closers.map((c) => c()));
});

async function whole(): Promise<OcrBackends> {
  const [det, cls, rec] = await Promise.all([
    StageRunner.create(OCR_MODELS.det),
    StageRunner.create(OCR_MODELS.cls),
    StageRunner.create(OCR_MODELS.rec),
  ]);
  closers.push(
    () => det.close(),
    () => cls.close(),
    () => rec.close(),
  );
  return { det: (b) => det.run(b), cls: (b) => cls.run(b), rec: (b) => rec.run(b) };
}

async function sharded(file: string, stages: number, probe: number[]): Promise<InferFn> {
  const tk = await ModelToolkit.load(file, { probeInputs: { x: probe } });
  const res = tk.split(tk.plan({ stages }).cuts);
  const pipe = await ChainedPipeline.open(await tk.write(tempDir("ocr"), res));
  closers.push(() => pipe.close());
  return async (b: TensorBag) => (await pipe.run(b)).outputs;
}

describe("OCR end to end", () => {
  let png: Uint8Array;
  before(async () => {
    png = await renderText(LINES);
  });

  it("the dictionary gives the recogniser's 6625 CTC classes", () => {
    const cs = loadCharset();
    assert.equal(cs.length, 6625);
    assert.equal(cs[0], "");
    assert.equal(cs[cs.length - 1], " ");
    const probs = new Float32Array(4 * cs.length);
    const hot = [cs.indexOf("a"), cs.indexOf("a"), 0, cs.indexOf("a")];
    for (const [t, c] of hot.entries()) probs[t * cs.length + c] = 1;
    assert.equal(ctcDecode({ dtype: "float32", dims: [1, 4, cs.length], data: probs })[0].text, "aa");
  });

  it("whole models read the rendered text back (det + cls + rec)", async () => {
    const b = await whole();
    const lines = await recognize(b, png);
    assert.deepEqual(
      lines.map((l) => l.text),
      LINES,
    );
    assert.ok(lines.every((l) => l.box && l.angle === 0));
    const flipped = await recognize(b, rotate180(await decodeImage(await renderText(["upside down text"]))));
    assert.deepEqual(
      flipped.map((l) => [l.text, l.angle]),
      [["upside down text", 180]],
    );
  });

  it("sharded models (det 2, cls 2, rec 3 stages) read the same text", async () => {
    const b: OcrBackends = {
      det: await sharded(OCR_MODELS.det, 2, [1, 3, 96, 96]),
      cls: await sharded(OCR_MODELS.cls, 2, [1, 3, 48, 192]),
      rec: await sharded(OCR_MODELS.rec, 3, [1, 3, 48, 320]),
    };
    const lines = await recognize(b, png);
    assert.deepEqual(
      lines.map((l) => l.text),
      LINES,
    );
  });

  it("undecodable image bytes get ImageDecodeError", async () => {
    await assert.rejects(decodeImage(new Uint8Array([1, 2, 3, 4])), { name: "ImageDecodeError" });
  });
});
