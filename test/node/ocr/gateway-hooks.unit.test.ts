// The gateway's OCR image hooks on the real recogniser and direction classifier.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { StageRunner } from "../../../node/src/inference/runner.ts";
import { fromWireTensor, toWireTensor } from "../../../node/src/tensor/index.ts";
import { OCR_MODELS, renderText } from "../../../node/src/ocr/index.ts";
import { ocrImageHooks, ocrTaskOf, OcrTaskUnknownError } from "../../../node/src/ocr/gateway.ts";

describe("OCR gateway hooks", () => {
  let rec: StageRunner;
  const hooks = ocrImageHooks((id) => (id === "rec" ? "rec" : id === "cls" ? "cls" : undefined));
  before(async () => {
    rec = await StageRunner.create(OCR_MODELS.rec, { label: "rec" });
  });
  after(() => rec.close());

  it("names the task from the model name", () => {
    assert.equal(ocrTaskOf("ch_PP-OCRv4_rec_infer"), "rec");
    assert.equal(ocrTaskOf("ch_ppocr_mobile_v2.0_cls_infer"), "cls");
    assert.equal(ocrTaskOf("ch_PP-OCRv4_det_infer"), "det");
    assert.equal(ocrTaskOf("digits"), undefined);
  });

  it("turns an image into the recogniser's input and its output back into the text", async () => {
    const png = await renderText(["hooks 42"], { fontSize: 40 });
    const input = await hooks.toInput("rec", png);
    assert.deepEqual(Object.keys(input), ["x"]);
    const x = fromWireTensor(input.x);
    assert.equal(x.dims[1], 3);
    assert.equal(x.dims[2], 48);
    const out = await rec.run({ x });
    const wire = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, toWireTensor(t)]));
    assert.equal(await hooks.toText("rec", wire), "hooks 42");
  });

  it("rejects images for a model without an OCR task by name", async () => {
    const png = await renderText(["x"]);
    await assert.rejects(hooks.toInput("digits", png), (e: Error) => e.name === "OcrTaskUnknownError" && e instanceof OcrTaskUnknownError);
    assert.equal(await hooks.toText("digits", {}), undefined);
  });

  it("rejects bytes that are not an image by name", async () => {
    await assert.rejects(hooks.toInput("rec", new Uint8Array([1, 2, 3, 4])), (e: Error) => e.name === "ImageDecodeError");
  });
});
