// Worker thread of a DecoderStageRunner: one onnxruntime session for a decoder stage and the KV
// caches of the sessions pinned to this worker. The caches never leave the thread: a step
// sends the hop tensors in and gets the hop tensors out; `present.*` outputs stay here as the
// next step's `past_key_values.*`.
// Messages (the main thread has validated them):
//   in : { id, type: "open", session }            → { id, ok }
//        { id, type: "step", session, position, feeds } → { id, ok, outputs, ms }
//        { id, type: "close", session }           → { id, ok }
//   out: { type: "ready" } once, or { type: "fatal", message }
import { parentPort, workerData } from "node:worker_threads";
import * as ort from "onnxruntime-node";

interface WireFeed {
  dtype: ort.Tensor.Type;
  dims: number[];
  data: ort.Tensor.DataType;
}
interface CachePair {
  past: string;
  present: string;
  kvHeads: number;
  headDim: number;
}
interface Init {
  model: Uint8Array;
  cache: CachePair[];
  options: ort.InferenceSession.SessionOptions;
}
type Msg =
  | { id: number; type: "open"; session: string }
  | { id: number; type: "close"; session: string }
  | { id: number; type: "step"; session: string; position: number; feeds: Record<string, WireFeed> };

const port = parentPort;
if (!port) throw new Error("decoder stage worker must run in a worker thread");
const init = workerData as Init;

let session: ort.InferenceSession;
try {
  session = await ort.InferenceSession.create(init.model, init.options);
  const cached = new Set(init.cache.map((c) => c.past));
  const inputs = session.inputMetadata
    .filter((m) => m.isTensor && !cached.has(m.name))
    .map((m) => ({ name: m.name, dtype: m.isTensor ? m.type : "", shape: m.isTensor ? [...m.shape] : [] }));
  port.postMessage({ type: "ready", inputs });
} catch (err) {
  port.postMessage({ type: "fatal", message: (err as Error).message });
  process.exit(1);
}

/** Per session: past tensors by name, and how many positions they hold. */
const caches = new Map<string, { length: number; past: Map<string, ort.Tensor> }>();

function empty(): Map<string, ort.Tensor> {
  const m = new Map<string, ort.Tensor>();
  for (const c of init.cache) m.set(c.past, new ort.Tensor("float32", new Float32Array(0), [1, c.kvHeads, 0, c.headDim]));
  return m;
}

/** The first `keep` positions of a [1, H, T, D] cache tensor (rollback). */
function truncate(t: ort.Tensor, keep: number): ort.Tensor {
  const [, h, len, d] = t.dims;
  if (keep >= len) return t;
  const src = t.data as Float32Array;
  const out = new Float32Array(h * keep * d);
  for (let i = 0; i < h; i++) out.set(src.subarray(i * len * d, i * len * d + keep * d), i * keep * d);
  return new ort.Tensor("float32", out, [1, h, keep, d]);
}

port.on("message", async (msg: Msg) => {
  try {
    if (msg.type === "open") {
      caches.set(msg.session, { length: 0, past: empty() });
      port.postMessage({ id: msg.id, ok: true });
      return;
    }
    if (msg.type === "close") {
      caches.delete(msg.session);
      port.postMessage({ id: msg.id, ok: true });
      return;
    }
    const c = caches.get(msg.session);
    if (!c) throw Object.assign(new Error(`no cache for session ${msg.session}`), { name: "SessionNotFoundError" });
    if (msg.position > c.length)
      throw Object.assign(new Error(`position ${msg.position} beyond cache ${c.length}`), { name: "StepPositionError" });
    if (msg.position < c.length) {
      for (const [k, t] of c.past) c.past.set(k, truncate(t, msg.position));
      c.length = msg.position;
    }
    const feeds: Record<string, ort.Tensor> = {};
    for (const [name, f] of Object.entries(msg.feeds)) feeds[name] = new ort.Tensor(f.dtype, f.data as never, f.dims);
    for (const [name, t] of c.past) feeds[name] = t;
    const t0 = performance.now();
    const out = (await session.run(feeds)) as Record<string, ort.Tensor>;
    const ms = performance.now() - t0;
    let length = -1;
    for (const p of init.cache) {
      const t = out[p.present];
      c.past.set(p.past, t);
      length = t.dims[2];
    }
    if (length >= 0) c.length = length;
    const outputs: Record<string, WireFeed> = {};
    const transfer: ArrayBuffer[] = [];
    const presents = new Set(init.cache.map((p) => p.present));
    for (const [name, t] of Object.entries(out)) {
      if (presents.has(name)) continue;
      const data = t.data as Float32Array;
      outputs[name] = { dtype: t.type, dims: [...t.dims], data };
      if (!transfer.includes(data.buffer as ArrayBuffer)) transfer.push(data.buffer as ArrayBuffer);
    }
    port.postMessage({ id: msg.id, ok: true, outputs, ms, length: c.length }, transfer);
  } catch (err) {
    const e = err as Error;
    port.postMessage({ id: msg.id, ok: false, error: { name: e.name === "Error" ? "SessionError" : e.name, message: e.message } });
  }
});
