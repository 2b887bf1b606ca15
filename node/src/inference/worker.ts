// Worker thread owning one onnxruntime session. The main thread never calls session.run(), so
// its event loop never blocks on inference. Messages:
//   in : { id, feeds: { name: { dtype, dims, data } } }
//   out: { type: "ready", inputs, outputs } once; then { id, ok, outputs?, ms?, error? } per run.
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";

interface WireFeed {
  dtype: ort.Tensor.Type;
  dims: number[];
  data: ort.Tensor.DataType;
}
interface Init {
  model: Uint8Array;
  options: ort.InferenceSession.SessionOptions;
}
interface RunMsg {
  id: number;
  feeds: Record<string, WireFeed>;
}

const port = parentPort;
if (!port) throw new Error("stage worker must run in a worker thread");
const init = workerData as Init;

function meta(list: readonly ort.InferenceSession.ValueMetadata[]) {
  return list.map((m) => (m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: "non-tensor", shape: [] }));
}

let session: ort.InferenceSession;
try {
  session = await ort.InferenceSession.create(init.model, init.options);
  port.postMessage({ type: "ready", inputs: meta(session.inputMetadata), outputs: meta(session.outputMetadata) });
} catch (err) {
  port.postMessage({ type: "fatal", message: (err as Error).message });
  process.exit(1);
}

port.on("message", async (msg: RunMsg) => {
  try {
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(f.dtype, f.data as never, f.dims);
    const t0 = performance.now();
    const out = await session.run(feeds);
    const ms = performance.now() - t0;
    const outputs: Record<string, WireFeed> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(out)) {
      const data = t.data as ort.Tensor.DataType;
      outputs[name] = { dtype: t.type, dims: [...t.dims], data };
      if (typeof data === "object" && "buffer" in data && !transfer.includes(data.buffer as ArrayBuffer)) transfer.push(data.buffer as ArrayBuffer);
    }
    port.postMessage({ id: msg.id, ok: true, outputs, ms }, transfer);
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: { name: "SessionError", message: (err as Error).message } });
  }
});
