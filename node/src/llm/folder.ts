// A decoder model folder in the Hugging Face layout transformers.js and Optimum use:
//
//   config.json  generation_config.json  tokenizer.json  tokenizer_config.json
//   special_tokens_map.json  onnx/model.onnx  [onnx/model.onnx_data]
//
// Weights go to onnx/model.onnx_data (ONNX external data) when they would push model.onnx past
// protobuf's 2 GiB limit, or when asked. Reading resolves external data back into the tensors.
import { createHash } from "node:crypto";
import { mkdir, open, readFile, rename, writeFile } from "node:fs/promises";
import { dirname, join, normalize, sep } from "node:path";
import { DataType, decodeModel, encodeModel, num, onnx, type ModelProto, type TensorProto } from "../onnx/model.ts";
import type { OnProgress } from "../util/progress.ts";
import { checkConfig, DECODER_PRESETS, fromHfConfig, toHfConfig, type DecoderConfig, type DecoderPreset } from "./config.ts";
import { LlmConfigError } from "./errors.ts";
import { buildDecoderGraph, randomWeights, type DecoderWeights } from "./llama.ts";
import { gpt2TokenizerFiles, GPT2_MERGES, type TokenizerFiles } from "./tokenizer.ts";

export const MODEL_FILE = "onnx/model.onnx";
export const EXTERNAL_DATA_FILE = "model.onnx_data";
/** Above this many weight bytes, model.onnx keeps only the graph (protobuf caps a message at 2 GiB). */
export const EXTERNAL_DATA_THRESHOLD = 2 ** 31 - 64 * 2 ** 20;
/** Initializers smaller than this stay inside model.onnx (as Optimum does). */
const EXTERNAL_MIN_BYTES = 1024;

/** Merges kept by each preset's tokenizer (GPT-2's full BPE for the GPT-2-shaped model). */
export const PRESET_MERGES: Record<DecoderPreset, number> = { tiny: 500, "gpt2-small": GPT2_MERGES };

export interface FolderFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface WriteFolderOptions {
  name?: string;
  /** Weights into onnx/model.onnx_data: true, false, or "auto" (default: only past the 2 GiB limit). */
  externalData?: boolean | "auto";
  onProgress?: OnProgress;
}

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

async function writeAtomic(path: string, bytes: Uint8Array | string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, bytes);
  await rename(tmp, path);
}

/** Moves large initializers into one external data blob; returns the graph-only model and the blob parts. */
function externalise(m: ModelProto): { model: ModelProto; parts: Uint8Array[]; bytes: number } {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const initializer = (m.graph?.initializer ?? []).map((t): TensorProto => {
    const data = t.rawData;
    if (!data || data.byteLength < EXTERNAL_MIN_BYTES) return t;
    const pad = (64 - (offset % 64)) % 64; // keep tensors 64-byte aligned (mmap-friendly)
    if (pad) parts.push(new Uint8Array(pad));
    offset += pad;
    parts.push(data);
    const entry = {
      ...t,
      rawData: undefined,
      dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
      externalData: [
        { key: "location", value: EXTERNAL_DATA_FILE },
        { key: "offset", value: String(offset) },
        { key: "length", value: String(data.byteLength) },
      ],
    };
    offset += data.byteLength;
    return entry;
  });
  return { model: { ...m, graph: { ...m.graph, initializer } }, parts, bytes: offset };
}

/** Writes a decoder (graph + weights) and its tokenizer as a Hugging Face model folder. */
export async function writeDecoderFolder(
  dir: string,
  config: DecoderConfig,
  weights: DecoderWeights,
  tokenizer: TokenizerFiles,
  options: WriteFolderOptions = {},
): Promise<FolderFile[]> {
  checkConfig(config);
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new LlmConfigError(`tokenizer has ${tokenizer.vocabSize} tokens, config.vocabSize is ${config.vocabSize}`);
  }
  const files: FolderFile[] = [];
  const put = async (path: string, content: Uint8Array | string) => {
    const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
    await writeAtomic(join(dir, path), bytes);
    files.push({ path, bytes: bytes.byteLength, sha256: sha(bytes) });
  };
  const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
  options.onProgress?.({ phase: "graph", done: 0, total: 1 });
  let model = buildDecoderGraph(config, weights, options.name);
  const weightBytes = (model.graph?.initializer ?? []).reduce((a, t) => a + (t.rawData?.byteLength ?? 0), 0);
  const external = options.externalData === true || ((options.externalData ?? "auto") === "auto" && weightBytes > EXTERNAL_DATA_THRESHOLD);
  options.onProgress?.({ phase: "graph", done: 1, total: 1 });
  if (external) {
    const ext = externalise(model);
    model = ext.model;
    const path = join(dir, "onnx", EXTERNAL_DATA_FILE);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.tmp-${process.pid}`;
    const fh = await open(tmp, "w");
    const h = createHash("sha256");
    let done = 0;
    try {
      for (const p of ext.parts) {
        await fh.write(p);
        h.update(p);
        done += p.byteLength;
        options.onProgress?.({ phase: "weights", done, total: ext.bytes });
      }
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
    files.push({ path: `onnx/${EXTERNAL_DATA_FILE}`, bytes: ext.bytes, sha256: h.digest("hex") });
  }
  options.onProgress?.({ phase: "write", done: 0, total: 1 });
  await put(MODEL_FILE, encodeModel(model));
  await put("config.json", json(toHfConfig(config)));
  await put(
    "generation_config.json",
    json({ bos_token_id: config.bosTokenId, eos_token_id: [...new Set([config.eosTokenId, tokenizer.ids.endOfText])] }),
  );
  await put("tokenizer.json", json(tokenizer.tokenizer));
  await put("tokenizer_config.json", json(tokenizer.config));
  await put(
    "special_tokens_map.json",
    json({ bos_token: tokenizer.config.bos_token, eos_token: tokenizer.config.eos_token, pad_token: tokenizer.config.pad_token }),
  );
  options.onProgress?.({ phase: "write", done: 1, total: 1 });
  return files;
}

export interface BuildOptions extends WriteFolderOptions {
  seed?: number;
  /** BPE merges kept (default: the preset's). */
  merges?: number;
  /** Overrides of the preset's shape. */
  shape?: Partial<DecoderConfig>;
}

/** The config of a preset with the tokenizer it is built with. */
export function presetConfig(preset: DecoderPreset, tokenizer: TokenizerFiles, shape: Partial<DecoderConfig> = {}): DecoderConfig {
  return checkConfig({
    ...DECODER_PRESETS[preset],
    vocabSize: tokenizer.vocabSize,
    bosTokenId: tokenizer.ids.endOfText,
    eosTokenId: tokenizer.ids.imEnd,
    ...shape,
  });
}

/** Builds one of the project's models with seeded random weights into `dir`. */
export async function buildRandomDecoder(
  dir: string,
  preset: DecoderPreset,
  o: BuildOptions = {},
): Promise<{ config: DecoderConfig; files: FolderFile[] }> {
  if (!Object.hasOwn(DECODER_PRESETS, preset))
    throw new LlmConfigError(`unknown preset ${preset}; known: ${Object.keys(DECODER_PRESETS).join(", ")}`);
  const tokenizer = gpt2TokenizerFiles(o.merges ?? PRESET_MERGES[preset]);
  const config = presetConfig(preset, tokenizer, o.shape);
  o.onProgress?.({ phase: "weights", done: 0, total: 1, detail: "random init" });
  const weights = randomWeights(config, o.seed ?? 1);
  const files = await writeDecoderFolder(dir, config, weights, tokenizer, { name: `shardmesh-llama-${preset}`, ...o });
  return { config, files };
}

/** Reads config.json of a model folder. */
export async function readDecoderConfig(dir: string): Promise<DecoderConfig> {
  let j: Record<string, unknown>;
  try {
    j = JSON.parse(await readFile(join(dir, "config.json"), "utf8"));
  } catch (err) {
    throw new LlmConfigError(`cannot read config.json in ${dir}: ${(err as Error).message}`);
  }
  return fromHfConfig(j);
}

/** Loads onnx/model.onnx with any external data resolved into the tensors. */
export async function readDecoderModel(dir: string, file = MODEL_FILE): Promise<{ model: ModelProto; bytes: Uint8Array }> {
  const path = join(dir, file);
  const bytes = new Uint8Array(await readFile(path));
  const model = decodeModel(bytes);
  const handles = new Map<string, Awaited<ReturnType<typeof open>>>();
  try {
    for (const t of model.graph?.initializer ?? []) {
      if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
      const kv = new Map((t.externalData ?? []).map((e) => [e.key ?? "", e.value ?? ""]));
      const location = kv.get("location") ?? "";
      const target = normalize(join(dirname(path), location));
      if (!location || location.includes("..") || !target.startsWith(normalize(dirname(path)) + sep)) {
        throw new LlmConfigError(`tensor ${t.name}: external data location ${JSON.stringify(location)} leaves the model folder`);
      }
      let fh = handles.get(target);
      if (!fh) handles.set(target, (fh = await open(target, "r")));
      const offset = Number(kv.get("offset") ?? 0);
      const elems = (t.dims ?? []).reduce<number>((a, d) => a * num(d), 1);
      const length = Number(kv.get("length") ?? elems * (t.dataType === DataType.INT64 ? 8 : 4));
      const buf = new Uint8Array(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      if (bytesRead !== length) throw new LlmConfigError(`tensor ${t.name}: external data is truncated`);
      t.rawData = buf;
      t.dataLocation = onnx.TensorProto.DataLocation.DEFAULT;
      t.externalData = [];
    }
  } finally {
    for (const fh of handles.values()) await fh.close();
  }
  return { model, bytes };
}
