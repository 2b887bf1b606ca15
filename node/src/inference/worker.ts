// Worker thread owning onnxruntime sessions. The main thread never calls session.run(), so its
// event loop never blocks on inference. A worker holds one stage, or a chain of consecutive
// stages run back to back (co-located stages: no thread hand-off between them).
// Messages:
//   in : { id, feeds: { name: { dtype, dims, data } } }
//   out: { type: "ready", inputs, outputs } once; then { id, ok, outputs?, ms?, stageMs?, error? } per run.
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";

interface WireFeed {
  dtype: ort.Tensor.Type;
  dims: number[];
  data: ort.Tensor.DataType;
}
interface Init {
  /** One model, or consecutive stage models. */
  models: Uint8Array[];
  /** For a chain: per stage, the hop tensors it passes on unchanged. */
  forward: string[][];
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
  return list.map((m) =>
    m.isTensor ? { name: m.name, type: m.type, shape: [...m.shape] } : { name: m.name, type: "non-tensor", shape: [] },
  );
}

const sessions: ort.InferenceSession[] = [];
try {
  for (const m of init.models) sessions.push(await ort.InferenceSession.create(m, init.options));
  port.postMessage({ type: "ready", inputs: meta(sessions[0].inputMetadata), outputs: meta(sessions[sessions.length - 1].outputMetadata) });
} catch (err) {
  port.postMessage({ type: "fatal", message: (err as Error).message });
  process.exit(1);
}

port.on("message", async (msg: RunMsg) => {
  try {
    let bag: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(msg.feeds)) bag[name] = new ort.Tensor(f.dtype, f.data as never, f.dims);
    const stageMs: number[] = [];
    const t0 = performance.now();
    for (const [k, session] of sessions.entries()) {
      const feeds: Record<string, ort.Tensor> = {};
      for (const name of session.inputNames) feeds[name] = bag[name];
      const t = performance.now();
      const out = (await session.run(feeds)) as Record<string, ort.Tensor>;
      stageMs.push(performance.now() - t);
      if (sessions.length === 1) {
        bag = out;
        break;
      }
      const next: Record<string, ort.Tensor> = { ...out };
      for (const name of init.forward[k] ?? []) if (bag[name]) next[name] = bag[name];
      bag = next;
    }
    const ms = performance.now() - t0;
    const outputs: Record<string, WireFeed> = {};
    const transfer: ArrayBuffer[] = [];
    for (const [name, t] of Object.entries(bag)) {
      const data = t.data as ort.Tensor.DataType;
      outputs[name] = { dtype: t.type, dims: [...t.dims], data };
      if (typeof data === "object" && "buffer" in data && !transfer.includes(data.buffer as ArrayBuffer))
        transfer.push(data.buffer as ArrayBuffer);
    }
    port.postMessage({ id: msg.id, ok: true, outputs, ms, stageMs }, transfer);
  } catch (err) {
    port.postMessage({ id: msg.id, ok: false, error: { name: "SessionError", message: (err as Error).message } });
  }
});
