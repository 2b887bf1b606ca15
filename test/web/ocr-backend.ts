// The mesh side behind the e2e gateway for "try it": the real PP-OCRv4 recogniser split into the
// model's 2 stages and run in order (onnxruntime, worker threads), with the node's own OCR
// pre/post-processing. It stands in for the gateway's router and image hooks (no libp2p here:
// the mesh has its own tests), so the page's upload → text → per-stage timings path is real.
import { ModelToolkit } from "../../node/src/onnx/index.ts";
import { ChainedPipeline, bagHash, fromWireTensor, toWireTensor, type TensorBag } from "../../node/src/inference/index.ts";
import { OCR_MODELS, ctcDecode, decodeImage, loadCharset, recPreprocess } from "../../node/src/ocr/index.ts";
import type { WireBag } from "../../node/src/pipeline/tensor.ts";
import type { RouteResult } from "../../node/src/router/router.ts";

export interface OcrBackend {
  image: { toInput(modelId: string, image: Uint8Array): Promise<WireBag>; toText(modelId: string, output: WireBag): Promise<string | undefined> };
  run(modelId: string, input: WireBag): Promise<RouteResult>;
  close(): Promise<void>;
}

const toBag = (w: WireBag): TensorBag => Object.fromEntries(Object.entries(w).map(([k, t]) => [k, fromWireTensor(t)]));
const toWire = (b: TensorBag): WireBag => Object.fromEntries(Object.entries(b).map(([k, t]) => [k, toWireTensor(t)]));

export async function ocrBackend(dir: string, peerId: string): Promise<OcrBackend> {
  const tk = await ModelToolkit.load(OCR_MODELS.rec, { probeInputs: { x: [1, 3, 48, 320] } });
  const pipe = await ChainedPipeline.open(await tk.write(dir, tk.split(tk.plan({ stages: 2 }).cuts)));
  const charset = loadCharset();
  return {
    image: {
      toInput: async (_modelId, bytes) => ({ x: toWireTensor(recPreprocess(await decodeImage(bytes))) }),
      toText: async (_modelId, output) => {
        const [only] = Object.values(output);
        return only ? ctcDecode(fromWireTensor(only), charset)[0]?.text : undefined;
      },
    },
    run: async (_modelId, input) => {
      const bag = toBag(input);
      const requestHash = bagHash(bag); // before the run: the pipeline may move the input buffers
      const r = await pipe.run(bag, { hashes: true });
      return {
        output: toWire(r.outputs),
        requestHash,
        responseHash: bagHash(r.outputs),
        stages: r.stages.map((s) => ({ stage: s.stage, peerId, ms: s.ms, retries: 0, inputHash: s.inputHash!, outputHash: s.outputHash! })),
      };
    },
    close: () => pipe.close(),
  };
}
