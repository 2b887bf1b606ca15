// `model split` for decoders: cuts a Hugging Face-layout decoder (onnx/model.onnx in the
// Optimum convention) between transformer blocks into
//
//   embed.onnx       input_ids → hidden                         run by the gateway
//   stage<k>.onnx    hidden, attention_mask, position_ids,      served on the mesh, one
//                    past_key_values.{i}.* of its layers         provider per stage per session
//                    → hidden, present.{i}.* of its layers
//   head.onnx        hidden → logits                             run by the gateway
//
// Blocks are found by node name (/model/layers.{i}/…, the module path torch.onnx and our
// builder write). A stage owns its layers' KV cache: past_key_values.{i} / present.{i} are
// its graph inputs and outputs but never cross a cut; only the hidden state and the two small
// inputs attention_mask and position_ids do. A model whose blocks reach another block's cache,
// or that ships anything else across a block boundary (e.g. rotary tables computed once), is
// refused by name (DecoderSplitError) rather than split into stages that would ship it.
import { createHash } from "node:crypto";
import { copyFile, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Hex } from "viem";
import {
  MANIFEST_FORMAT,
  manifestHash,
  validateManifest,
  type CacheTensorInfo,
  type DecoderInfo,
  type GatewayPartInfo,
  type HopInfo,
  type Manifest,
  type StageInfo,
  type TensorInfo,
} from "../inference/manifest.ts";
import { dtypeFromCode } from "../tensor/index.ts";
import { analyse, crossing } from "../onnx/analyse.ts";
import { encodeModel, normaliseModel, num, type ModelProto, type ValueInfoProto } from "../onnx/model.ts";
import { valueInfo } from "../onnx/split.ts";
import type { OnProgress } from "../util/progress.ts";
import { kvBytesPerToken, type DecoderConfig } from "./config.ts";
import { DecoderSplitError } from "./errors.ts";
import { readDecoderConfig, readDecoderModel } from "./folder.ts";
import { DECODER_NAMES } from "./llama.ts";

/** Files copied next to the manifest so the split folder is self-contained for the gateway. */
export const DECODER_SIDE_FILES = ["config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"] as const;
/** Sequence length the manifest's per-hop bytes and FLOPs are stated at. */
export const DECODER_PROFILE_LENGTH = 64;
/** Largest stage file written inline (protobuf's 2 GiB message limit, with margin). */
const MAX_STAGE_BYTES = 2 ** 31 - 64 * 2 ** 20;

export interface DecoderSplitOptions {
  /** Block stages (default 2). Ignored when `layers` is given. */
  stages?: number;
  /** Layers per block stage, e.g. [3, 5]; default: as even as possible. */
  layers?: number[];
  /** Graph optimisation off: chained stages reproduce the whole model bit for bit. */
  exact?: boolean;
  /** Tolerance verifiers use when not exact (default 1e-4). */
  tolerance?: number;
  name?: string;
  onProgress?: OnProgress;
}

export interface DecoderSplitResult {
  manifest: Manifest;
  hash: Hex;
  path: string;
}

interface Part {
  nodes: [number, number];
  model: ModelProto;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  forward: string[];
  cache: CacheTensorInfo[];
}

const LAYER_RE = /^\/model\/layers\.(\d+)\//;

function layerRanges(m: ModelProto, layers: number): Array<[number, number]> {
  const nodes = m.graph?.node ?? [];
  const first = new Array<number>(layers).fill(-1);
  const last = new Array<number>(layers).fill(-1);
  nodes.forEach((n, k) => {
    const hit = LAYER_RE.exec(n.name ?? "");
    if (!hit) return;
    const i = Number(hit[1]);
    if (i >= layers) throw new DecoderSplitError(`node ${n.name} names layer ${i}, but config.json has ${layers} layers`);
    if (first[i] < 0) first[i] = k;
    last[i] = k;
  });
  const out: Array<[number, number]> = [];
  for (let i = 0; i < layers; i++) {
    if (first[i] < 0) throw new DecoderSplitError(`no node is named /model/layers.${i}/…: cannot find the transformer blocks by name`);
    if (i > 0 && first[i] <= last[i - 1]) throw new DecoderSplitError(`nodes of layers ${i - 1} and ${i} interleave in the graph's order`);
    out.push([first[i], last[i] + 1]);
  }
  return out;
}

/** Even split of `layers` into `stages` (earlier stages take the remainder). */
export function evenLayers(layers: number, stages: number): number[] {
  if (!Number.isInteger(stages) || stages < 1 || stages > layers)
    throw new DecoderSplitError(`cannot cut ${layers} layers into ${stages} stages`);
  return Array.from({ length: stages }, (_, i) => Math.floor(layers / stages) + (i < layers % stages ? 1 : 0));
}

function typeOf(vi: ValueInfoProto): TensorInfo {
  const t = vi.type?.tensorType;
  const shape = t?.shape ? (t.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : num(d.dimValue))) : null;
  return { name: vi.name ?? "", dtype: dtypeFromCode(t?.elemType ?? 0), shape };
}

export async function splitDecoder(dir: string, out: string, o: DecoderSplitOptions = {}): Promise<DecoderSplitResult> {
  const progress = o.onProgress ?? (() => {});
  progress({ phase: "load", done: 0, total: 2, detail: dir });
  const config = await readDecoderConfig(dir);
  const { model: raw, bytes } = await readDecoderModel(dir);
  const model = normaliseModel(raw);
  const a = analyse(model);
  progress({ phase: "load", done: 2, total: 2, detail: "analysed" });
  const N = DECODER_NAMES;
  const L = config.layers;
  const graphInputs = new Map((model.graph?.input ?? []).map((v) => [v.name ?? "", v]));
  const graphOutputs = new Map((model.graph?.output ?? []).map((v) => [v.name ?? "", v]));
  for (const name of [N.inputIds, N.attentionMask, N.positionIds]) {
    if (!graphInputs.has(name)) throw new DecoderSplitError(`model.onnx has no input ${name} (not in the Optimum decoder convention)`);
  }
  if (!graphOutputs.has(N.logits)) throw new DecoderSplitError(`model.onnx has no output ${N.logits}`);
  const state = new Set<string>();
  for (let i = 0; i < L; i++) {
    for (const n of [N.pastKey(i), N.pastValue(i)]) {
      if (!graphInputs.has(n))
        throw new DecoderSplitError(`model.onnx has no input ${n}: export it with past key values (with-past decoder)`);
      state.add(n);
    }
    for (const n of [N.presentKey(i), N.presentValue(i)]) {
      if (!graphOutputs.has(n)) throw new DecoderSplitError(`model.onnx has no output ${n}`);
      state.add(n);
    }
  }
  const ranges = layerRanges(model, L);
  const perStage = o.layers ?? evenLayers(L, o.stages ?? 2);
  if (perStage.some((x) => !Number.isInteger(x) || x < 1) || perStage.reduce((x, y) => x + y, 0) !== L) {
    throw new DecoderSplitError(`layers per stage [${perStage.join(",")}] must be positive and add up to ${L}`);
  }
  const stageLayers: Array<[number, number]> = [];
  let at = 0;
  for (const k of perStage) {
    stageLayers.push([at, at + k]);
    at += k;
  }
  // Node bounds: embed [0, first block), block stages, head [end of last block, n).
  const bounds = [0, ...stageLayers.map(([from]) => ranges[from][0]), ranges[L - 1][1], a.n];
  const hidden = (name: string): TensorInfo => ({ name, dtype: "float32", shape: ["batch_size", "sequence_length", config.hiddenSize] });
  const info = (name: string): TensorInfo => {
    const gi = graphInputs.get(name) ?? graphOutputs.get(name);
    return gi ? typeOf(gi) : hidden(name);
  };
  const live = (c: number) => crossing(a, c).filter((t) => !state.has(t));
  // What crosses every boundary: one activation (the hidden state) plus graph inputs.
  for (let b = 1; b < bounds.length - 1; b++) {
    const acts = live(bounds[b]).filter((t) => !graphInputs.has(t));
    if (acts.length !== 1) {
      throw new DecoderSplitError(
        `the cut before node ${bounds[b]} carries ${acts.length} activations (${acts.slice(0, 4).join(", ")}): only the hidden state may cross between blocks`,
      );
    }
  }
  const parts: Part[] = [];
  for (let p = 0; p < bounds.length - 1; p++) {
    const [start, end] = [bounds[p], bounds[p + 1]];
    const block = p >= 1 && p <= stageLayers.length ? stageLayers[p - 1] : null;
    const owned = new Set<string>();
    if (block)
      for (let i = block[0]; i < block[1]; i++)
        for (const n of [N.pastKey(i), N.pastValue(i), N.presentKey(i), N.presentValue(i)]) owned.add(n);
    const produced = new Set<string>();
    for (let k = start; k < end; k++) for (const x of a.outputs[k]) produced.add(x);
    const inputs: string[] = [];
    const inits = new Set<string>();
    for (let k = start; k < end; k++) {
      for (const x of a.uses[k]) {
        if (state.has(x) && !owned.has(x)) {
          throw new DecoderSplitError(`node ${k} (${model.graph!.node![k].name}) reads ${x}, which belongs to another stage's cache`);
        }
        if (!produced.has(x) && !inputs.includes(x)) inputs.push(x);
      }
      for (const x of a.initUses[k]) inits.add(x);
    }
    for (const x of owned)
      if (x.startsWith("present.") && !produced.has(x)) throw new DecoderSplitError(`${x} is not produced by its block`);
    const after = live(end);
    const outputs = [...after.filter((x) => produced.has(x)), ...[...owned].filter((x) => x.startsWith("present."))];
    if (p === bounds.length - 2 && !outputs.includes(N.logits)) outputs.unshift(N.logits);
    const forward = after.filter((x) => !produced.has(x));
    const cache: CacheTensorInfo[] = [];
    if (block) {
      for (let i = block[0]; i < block[1]; i++) {
        cache.push({ past: N.pastKey(i), present: N.presentKey(i), kvHeads: config.kvHeads, headDim: config.headDim });
        cache.push({ past: N.pastValue(i), present: N.presentValue(i), kvHeads: config.kvHeads, headDim: config.headDim });
      }
    }
    const g = model.graph!;
    const partModel: ModelProto = {
      ...model,
      graph: {
        ...g,
        name: `${g.name ?? "decoder"}_part${p}`,
        node: (g.node ?? []).slice(start, end),
        input: inputs.map((x) => valueInfo(info(x))),
        output: outputs.map((x) => valueInfo(info(x))),
        initializer: (g.initializer ?? []).filter((t) => inits.has(t.name ?? "")),
        valueInfo: [],
        sparseInitializer: [],
      },
    };
    parts.push({
      nodes: [start, end],
      model: partModel,
      inputs: inputs.filter((x) => !state.has(x)).map(info),
      outputs: outputs.filter((x) => !state.has(x)).map(info),
      forward,
      cache,
    });
    progress({ phase: "split", done: p + 1, total: bounds.length - 1 });
  }
  return writeSplit(dir, out, config, bytes, parts, stageLayers, o);
}

/** The files the gateway needs beside the stages: embed, head, tokenizer and config files. */
export function decoderGatewayFiles(d: DecoderInfo): Array<{ path: string; sha256: string }> {
  return [
    { path: d.embed.file, sha256: d.embed.sha256 },
    { path: d.head.file, sha256: d.head.sha256 },
    ...d.files.map((f) => ({ path: f.path, sha256: f.sha256 })),
  ];
}

/** Approximate FLOPs per token of `layers` blocks at context length `ctx`. */
function blockFlops(c: DecoderConfig, layers: number, ctx: number): number {
  const d = c.hiddenSize;
  const qd = c.heads * c.headDim;
  const kvd = c.kvHeads * c.headDim;
  const matmul = d * qd * 2 + d * kvd * 2 + 3 * d * c.intermediateSize;
  return layers * 2 * (matmul + 2 * c.heads * c.headDim * ctx);
}

async function writeSplit(
  dir: string,
  out: string,
  config: DecoderConfig,
  sourceBytes: Uint8Array,
  parts: Part[],
  stageLayers: Array<[number, number]>,
  o: DecoderSplitOptions,
): Promise<DecoderSplitResult> {
  await mkdir(out, { recursive: true });
  const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
  const write = async (file: string, bytes: Uint8Array) => {
    if (bytes.byteLength > MAX_STAGE_BYTES)
      throw new DecoderSplitError(`${file} would be ${bytes.byteLength} bytes; split into more stages`);
    const tmp = join(out, `${file}.tmp-${process.pid}`);
    await writeFile(tmp, bytes);
    await rename(tmp, join(out, file));
    return { sha256: sha(bytes), bytes: bytes.byteLength };
  };
  const S = DECODER_PROFILE_LENGTH;
  const total = parts.length;
  const gatewayPart = async (p: Part, file: string): Promise<GatewayPartInfo> => {
    const bytes = encodeModel(p.model);
    o.onProgress?.({ phase: "write", done: 0, total, detail: file });
    return { file, ...(await write(file, bytes)), inputs: p.inputs, outputs: p.outputs };
  };
  const embed = await gatewayPart(parts[0], "embed.onnx");
  const head = await gatewayPart(parts[parts.length - 1], "head.onnx");
  const blocks = parts.slice(1, -1);
  const allFlops = blockFlops(config, config.layers, S) * S;
  const tensorBytes = (t: TensorInfo) => (t.dtype === "float32" ? config.hiddenSize * S * 4 : S * 8);
  const hops: HopInfo[] = blocks.slice(0, -1).map((b, i) => {
    const forwarded = b.forward.map((x) => {
      const t = b.inputs.find((y) => y.name === x);
      if (!t) throw new DecoderSplitError(`stage ${i} forwards ${x} without reading it`);
      return t;
    });
    const tensors = [...b.outputs, ...forwarded].map((t) => ({
      ...t,
      bytes: tensorBytes(t),
      producedBy: b.outputs.some((x) => x.name === t.name) ? i : -1,
    }));
    return { index: i, cut: b.nodes[1], tensors, bytes: tensors.reduce((s, t) => s + t.bytes, 0) };
  });
  const stages: StageInfo[] = [];
  for (const [i, b] of blocks.entries()) {
    const file = `stage${i}.onnx`;
    o.onProgress?.({ phase: "write", done: i + 1, total, detail: file });
    const w = await write(file, encodeModel(b.model));
    const [from, to] = stageLayers[i];
    const flops = blockFlops(config, to - from, S) * S;
    stages.push({
      index: i,
      file,
      ...w,
      nodes: b.nodes,
      inputs: b.inputs,
      outputs: b.outputs,
      forward: b.forward,
      flops,
      costShare: Number((flops / allFlops).toFixed(4)),
      crossingBytes: i < hops.length ? hops[i].bytes : 0,
      cache: b.cache,
    });
  }
  const files: Array<{ path: string; sha256: string; bytes: number }> = [];
  for (const f of [...new Set(["config.json", ...DECODER_SIDE_FILES])]) {
    let bytes: Uint8Array;
    try {
      bytes = new Uint8Array(await readFile(join(dir, f)));
    } catch {
      if (f === "generation_config.json") continue;
      throw new DecoderSplitError(`${f} missing in ${dir}`);
    }
    if (join(dir, f) !== join(out, f)) await copyFile(join(dir, f), join(out, f));
    files.push({ path: f, sha256: sha(bytes), bytes: bytes.byteLength });
  }
  const first = blocks[0];
  const last = blocks[blocks.length - 1];
  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    model: {
      name: o.name ?? String(parts[0].model.graph?.name ?? "decoder").replace(/_part0$/, ""),
      sha256: sha(sourceBytes),
      bytes: sourceBytes.byteLength,
      inputs: [...first.inputs],
      outputs: [...last.outputs],
      profileInputs: Object.fromEntries(first.inputs.map((t) => [t.name, t.dtype === "float32" ? [1, S, config.hiddenSize] : [1, S]])),
      flops: allFlops,
    },
    runtime: o.exact
      ? { graphOptimizationLevel: "disabled", tolerance: 0 }
      : { graphOptimizationLevel: "all", tolerance: o.tolerance ?? 1e-4 },
    stages,
    hops,
    decoder: {
      config: { ...config },
      layers: stageLayers,
      kvBytesPerToken: stageLayers.map(([from, to]) => kvBytesPerToken(config, to - from)),
      embed,
      head,
      files,
      names: {
        inputIds: DECODER_NAMES.inputIds,
        attentionMask: DECODER_NAMES.attentionMask,
        positionIds: DECODER_NAMES.positionIds,
        logits: DECODER_NAMES.logits,
      },
    },
  };
  validateManifest(manifest);
  const path = join(out, "manifest.json");
  await writeFile(path, `${JSON.stringify(manifest, null, 2)}\n`);
  o.onProgress?.({ phase: "write", done: total, total, detail: "manifest.json" });
  return { manifest, hash: manifestHash(manifest), path };
}
