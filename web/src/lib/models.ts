// Registered models, reduced from ModelRegistry events (the marketplace needs no per-model reads).
import type { Address, Hex } from "viem";
import type { IndexedEvent } from "./indexer";

export interface ModelInfo {
  id: string;
  publisher: Address;
  name: string;
  description?: string;
  /** The metadata's task, e.g. "ocr-rec" or "text-generation" (a language model: the chat page). */
  task?: string;
  metadataURI: string;
  onnxSha256: Hex;
  manifestHash: Hex;
  stageCount: number;
  royaltyBps: number;
  samplingRatePpm: number;
  hasZkStage: boolean;
  zkStage: number;
  priceFloors: bigint[];
  /** Sum of the stage floors: the least a buyer pays per inference before royalty and fees. */
  pricePerInference: bigint;
  deprecated: boolean;
  publishedBlock: number;
}

interface Params {
  onnxSha256: Hex;
  manifestHash: Hex;
  metadataURI: string;
  stageCount: number;
  royaltyBps: number;
  samplingRatePpm: number;
  hasZkStage: boolean;
  zkStage: number;
  priceFloors: readonly bigint[];
}

/** Name and description from the metadata URI: a data: JSON URI, `name=…` or the last path segment. */
export function metadataName(uri: string, fallback: string): { name: string; description?: string; task?: string } {
  try {
    if (uri.startsWith("data:application/json")) {
      const comma = uri.indexOf(",");
      const payload = uri.slice(comma + 1);
      const text = uri.slice(0, comma).includes(";base64") ? atob(payload) : decodeURIComponent(payload);
      const meta = JSON.parse(text) as { name?: unknown; description?: unknown; task?: unknown };
      return {
        name: typeof meta.name === "string" && meta.name ? meta.name : fallback,
        description: typeof meta.description === "string" ? meta.description : undefined,
        task: typeof meta.task === "string" ? meta.task : undefined,
      };
    }
  } catch {
    return { name: fallback };
  }
  const tail = uri.split(/[/#?]/).filter(Boolean).pop();
  return { name: tail && !/^0x|^Qm|^bafy/.test(tail) ? tail.replace(/\.(json|onnx)$/, "") : fallback };
}

export function modelsFromEvents(events: readonly IndexedEvent[], registry?: Address): ModelInfo[] {
  const byId = new Map<string, ModelInfo>();
  const reg = registry?.toLowerCase();
  for (const e of events) {
    if (reg && e.address.toLowerCase() !== reg) continue;
    if (e.name === "ModelPublished") {
      const p = e.args.params as Params;
      const id = String(e.args.modelId);
      const floors = [...p.priceFloors];
      byId.set(id, {
        id,
        publisher: e.args.publisher as Address,
        ...metadataName(p.metadataURI, `Model #${id}`),
        metadataURI: p.metadataURI,
        onnxSha256: p.onnxSha256,
        manifestHash: p.manifestHash,
        stageCount: Number(p.stageCount),
        royaltyBps: Number(p.royaltyBps),
        samplingRatePpm: Number(p.samplingRatePpm),
        hasZkStage: p.hasZkStage,
        zkStage: Number(p.zkStage),
        priceFloors: floors,
        pricePerInference: floors.reduce((a, b) => a + b, 0n),
        deprecated: false,
        publishedBlock: e.blockNumber,
      });
    } else if (e.name === "ModelPricesUpdated") {
      const m = byId.get(String(e.args.modelId));
      if (m) {
        m.priceFloors = [...(e.args.newPriceFloors as readonly bigint[])];
        m.pricePerInference = m.priceFloors.reduce((a, b) => a + b, 0n);
      }
    } else if (e.name === "ModelDeprecated") {
      const m = byId.get(String(e.args.modelId));
      if (m) m.deprecated = true;
    }
  }
  return [...byId.values()].sort((a, b) => Number(a.id) - Number(b.id));
}

export interface ModelFilter {
  text?: string;
  maxPrice?: bigint;
  onlyServed?: boolean;
  hideDeprecated?: boolean;
  zkOnly?: boolean;
}

export function filterModels(models: readonly ModelInfo[], f: ModelFilter, served: (id: string) => boolean = () => true): ModelInfo[] {
  const q = f.text?.trim().toLowerCase();
  return models.filter(
    (m) =>
      (!q ||
        m.name.toLowerCase().includes(q) ||
        m.id === q ||
        m.publisher.toLowerCase().includes(q) ||
        (m.description ?? "").toLowerCase().includes(q)) &&
      (f.maxPrice === undefined || m.pricePerInference <= f.maxPrice) &&
      (!f.onlyServed || served(m.id)) &&
      (!f.hideDeprecated || !m.deprecated) &&
      (!f.zkOnly || m.hasZkStage),
  );
}
