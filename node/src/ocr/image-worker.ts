// Worker thread that decodes one buyer image at a time and pre-processes it into the model's
// input tensor, so a slow or large image never blocks the gateway's event loop (its directory
// expiry, its other requests). The caller has already checked the header's pixel count.
//   in : { id, task, image: Uint8Array, maxWidth, limitSide }
//   out: { id, ok: true, tensor: { dtype, dims, data } } | { id, ok: false, error: { name, message } }
import { parentPort } from "node:worker_threads";
import { clsPreprocess } from "./cls.ts";
import { detPreprocess } from "./det.ts";
import { decodeImage } from "./image.ts";
import { recPreprocess, recWidth } from "./rec.ts";
import type { ImageJob } from "./decoder.ts";

const port = parentPort;
if (!port) throw new Error("image worker must run in a worker thread");

port.on("message", async (job: ImageJob) => {
  try {
    const img = await decodeImage(job.image);
    const tensor =
      job.task === "rec"
        ? recPreprocess(img, recWidth(img, 320, job.maxWidth))
        : job.task === "cls"
          ? clsPreprocess(img)
          : detPreprocess(img, job.limitSide).tensor;
    const data = tensor.data as Float32Array;
    port.postMessage({ id: job.id, ok: true, tensor: { dtype: tensor.dtype, dims: [...tensor.dims], data } }, [data.buffer as ArrayBuffer]);
  } catch (err) {
    const e = err as Error;
    port.postMessage({ id: job.id, ok: false, error: { name: e.name, message: e.message } });
  }
});
