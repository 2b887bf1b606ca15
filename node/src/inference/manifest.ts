// The shard plan of a model: which stage files exist, what each stage reads and writes, which
// tensors cross each cut (the hop bags of PROTOCOL.md), costs and the runtime settings under
// which the stages reproduce the whole model.
//
// manifestHash(m) = keccak256(UTF-8 bytes of canonicalJson(m)), where canonicalJson is JSON with
// object keys sorted by UTF-16 code unit order (JS default sort) at every depth, no whitespace,
// array order kept, numbers as JSON.stringify prints them, and `undefined` members dropped.
// This is the hash the model registry stores.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { keccak256, stringToBytes, type Hex } from "viem";
import { ManifestError, ShardHashMismatchError } from "./errors.ts";
import { isDType, type DType } from "../tensor/index.ts";
import type { DecoderConfig } from "../llm/config.ts";
import { checkInputBounds, type DimRange } from "./bounds.ts";

export const MANIFEST_FORMAT = "shardmesh/manifest@1";

/** A dim is a fixed size or a symbolic name (e.g. the batch dim). */
export type Dim = number | string;

export interface TensorInfo {
  name: string;
  dtype: DType;
  /** Declared shape; `null` when the rank is unknown. */
  shape: Dim[] | null;
}

export interface StageInfo {
  index: number;
  /** Stage ONNX file, relative to the manifest's folder. */
  file: string;
  /** Hex sha256 of the stage file (no 0x). */
  sha256: string;
  bytes: number;
  /** Node range [start, end) of the normalised source graph. */
  nodes: [number, number];
  /** What the stage's ONNX graph reads and writes. */
  inputs: TensorInfo[];
  outputs: TensorInfo[];
  /** Tensors of the incoming hop that the stage passes on unchanged to the next hop. */
  forward: string[];
  /** Estimated FLOPs per inference at the profiling input, and share of the total. */
  flops: number;
  costShare: number;
  /** Bytes of the outgoing hop at the profiling input (0 for the last stage's response). */
  crossingBytes: number;
  /**
   * Decoder stages: the KV-cache tensors the stage keeps between steps of a session. They are
   * graph inputs and outputs of the stage file (listed here, not in inputs/outputs) and never
   * cross a hop: `past` is fed from the cache, `present` replaces it.
   */
  cache?: CacheTensorInfo[];
}

export interface CacheTensorInfo {
  past: string;
  present: string;
  /** [batch, kv_heads, positions, head_dim]; positions grow by one per token. */
  kvHeads: number;
  headDim: number;
}

/** A part of a decoder the gateway runs itself (embeddings, head): never served on the mesh. */
export interface GatewayPartInfo {
  file: string;
  sha256: string;
  bytes: number;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

/**
 * Generative decoders (docs/PROTOCOL.md, "Language models"): `stages` are the transformer-block
 * stages served on the mesh; the gateway runs `embed` (token ids → hidden state) and `head`
 * (hidden state → logits) and samples. model.inputs / model.outputs are the hidden state (plus
 * attention_mask and position_ids) entering the first and leaving the last block stage.
 */
export interface DecoderInfo {
  /** Hugging Face config.json fields, camelCased (node/src/llm/config.ts owns the type). */
  config: DecoderConfig;
  /** Per block stage, its layers [from, to). */
  layers: Array<[number, number]>;
  /** Per block stage, KV-cache bytes one position costs. */
  kvBytesPerToken: number[];
  embed: GatewayPartInfo;
  head: GatewayPartInfo;
  /** tokenizer.json, tokenizer_config.json, config.json, generation_config.json (next to the manifest). */
  files: Array<{ path: string; sha256: string; bytes: number }>;
  names: { inputIds: string; attentionMask: string; positionIds: string; logits: string };
}

export interface HopInfo {
  /** Hop s sits between stage s and s+1; cut = first node index of stage s+1. */
  index: number;
  cut: number;
  tensors: Array<TensorInfo & { bytes: number; producedBy: number }>;
  bytes: number;
}

/** Optional zk stage (PROTOCOL.md, "The int8 dense head"). */
export interface ZkStageInfo {
  stage: number;
  kind: "int8-dense";
  inputs: number;
  outputs: number;
  mult: number;
  shift: number;
  zeroPoint: number;
  /** Poseidon weights commitment as a decimal string, when known. */
  weightsCommitment?: string;
}

export interface RuntimeInfo {
  /** onnxruntime graph optimisation level the tolerance was established under. */
  graphOptimizationLevel: "disabled" | "basic" | "extended" | "all";
  /** Largest |stage output - reference| a verifier accepts. */
  tolerance: number;
}

export interface Manifest {
  format: typeof MANIFEST_FORMAT;
  model: {
    name: string;
    sha256: string;
    bytes: number;
    inputs: TensorInfo[];
    outputs: TensorInfo[];
    /** Concrete input dims the costs and crossing bytes were measured at. */
    profileInputs: Record<string, number[]>;
    /** Per input, per dim: the [min, max] a request may use (bounds.ts; derived when absent). */
    inputBounds?: Record<string, DimRange[]>;
    flops: number;
  };
  runtime: RuntimeInfo;
  stages: StageInfo[];
  hops: HopInfo[];
  zk?: ZkStageInfo;
  decoder?: DecoderInfo;
}

/** Canonical JSON (sorted keys, no whitespace): the preimage of manifestHash. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) throw new ManifestError(`non-finite number in manifest`);
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

export function manifestHash(m: Manifest): Hex {
  return keccak256(stringToBytes(canonicalJson(m)));
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function fail(msg: string): never {
  throw new ManifestError(msg);
}

function checkInfo(t: unknown, where: string): void {
  const x = t as TensorInfo;
  if (!x || typeof x.name !== "string") fail(`${where}: tensor without a name`);
  if (!isDType(x.dtype)) fail(`${where}: tensor ${x.name} has unsupported dtype ${String(x.dtype)}`);
  if (x.shape !== null && !Array.isArray(x.shape)) fail(`${where}: tensor ${x.name} has a bad shape`);
}

/** Structural checks: stages contiguous, hops consistent with stage inputs/outputs/forwards. */
export function validateManifest(m: unknown): Manifest {
  const x = m as Manifest;
  if (!x || typeof x !== "object") fail("manifest is not an object");
  if (x.format !== MANIFEST_FORMAT) fail(`unknown manifest format ${String(x.format)}`);
  if (!x.model || !/^[0-9a-f]{64}$/.test(x.model.sha256)) fail("model.sha256 must be 64 hex chars");
  if (!Array.isArray(x.stages) || x.stages.length === 0) fail("manifest has no stages");
  if (!Array.isArray(x.hops) || x.hops.length !== x.stages.length - 1) fail(`expected ${x.stages.length - 1} hops, got ${x.hops?.length}`);
  for (const t of x.model.inputs) checkInfo(t, "model.inputs");
  for (const t of x.model.outputs) checkInfo(t, "model.outputs");
  let prev = x.model.inputs.map((t) => t.name);
  x.stages.forEach((s, i) => {
    if (s.index !== i) fail(`stage ${i} has index ${s.index}`);
    if (!/^[0-9a-f]{64}$/.test(s.sha256)) fail(`stage ${i}: sha256 must be 64 hex chars`);
    if (typeof s.file !== "string" || s.file.includes("..")) fail(`stage ${i}: bad file name`);
    for (const t of s.inputs) checkInfo(t, `stage ${i} inputs`);
    for (const t of s.outputs) checkInfo(t, `stage ${i} outputs`);
    for (const t of [...s.inputs.map((t) => t.name), ...s.forward]) {
      if (!prev.includes(t)) fail(`stage ${i} reads ${t}, which its incoming hop does not carry`);
    }
    const next = i < x.hops.length ? x.hops[i].tensors.map((t) => t.name) : x.model.outputs.map((t) => t.name);
    const made = new Set([...s.outputs.map((t) => t.name), ...s.forward]);
    for (const t of next) if (!made.has(t)) fail(`hop ${i} carries ${t}, which stage ${i} neither produces nor forwards`);
    prev = next;
  });
  if (x.decoder) validateDecoder(x);
  if (x.zk && (x.zk.stage < 0 || x.zk.stage >= x.stages.length)) fail(`zk stage ${x.zk.stage} out of range`);
  checkInputBounds(x);
  return x;
}

function validateDecoder(x: Manifest): void {
  const d = x.decoder!;
  const safe = (f: unknown) => typeof f === "string" && f.length > 0 && !f.includes("..") && !f.startsWith("/");
  if (!d.config || !Number.isInteger(d.config.layers) || d.config.layers < 1) fail("decoder.config.layers must be a positive integer");
  if (!Array.isArray(d.layers) || d.layers.length !== x.stages.length)
    fail(`decoder.layers needs one range per stage (${x.stages.length})`);
  let next = 0;
  d.layers.forEach(([a, b], i) => {
    if (a !== next || !(b > a)) fail(`decoder.layers[${i}] = [${a},${b}) does not continue at layer ${next}`);
    next = b;
    const cache = x.stages[i].cache;
    if (!Array.isArray(cache) || cache.length !== 2 * (b - a)) fail(`stage ${i} must list ${2 * (b - a)} cache tensors`);
  });
  if (next !== d.config.layers) fail(`decoder.layers cover ${next} of ${d.config.layers} layers`);
  if (!Array.isArray(d.kvBytesPerToken) || d.kvBytesPerToken.length !== x.stages.length)
    fail("decoder.kvBytesPerToken needs one entry per stage");
  for (const part of [d.embed, d.head]) {
    if (!part || !safe(part.file) || !/^[0-9a-f]{64}$/.test(part.sha256)) fail("decoder.embed/head need a file and a sha256");
  }
  for (const f of d.files ?? [])
    if (!safe(f.path) || !/^[0-9a-f]{64}$/.test(f.sha256)) fail(`decoder file ${String(f.path)}: bad path or sha256`);
}

/** Names of the tensors in the bag entering stage `s` (the model inputs for s = 0). */
export function hopInNames(m: Manifest, s: number): string[] {
  return s === 0 ? m.model.inputs.map((t) => t.name) : m.hops[s - 1].tensors.map((t) => t.name);
}
/** Names of the tensors in the bag leaving stage `s` (the model outputs for the last stage). */
export function hopOutNames(m: Manifest, s: number): string[] {
  return s === m.stages.length - 1 ? m.model.outputs.map((t) => t.name) : m.hops[s].tensors.map((t) => t.name);
}

export interface LoadedManifest {
  manifest: Manifest;
  hash: Hex;
  dir: string;
}

/** Reads and validates manifest.json (does not read stage files). */
export async function loadManifest(path: string): Promise<LoadedManifest> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new ManifestError(`cannot read manifest ${path}: ${(err as Error).message}`);
  }
  const manifest = validateManifest(parsed);
  return { manifest, hash: manifestHash(manifest), dir: dirname(path) };
}

/** Reads a stage file and checks its sha256 against the manifest. */
export async function loadStageFile(m: Manifest, dir: string, s: number): Promise<Uint8Array> {
  const stage = m.stages[s];
  if (!stage) throw new ManifestError(`no stage ${s}`);
  const bytes = new Uint8Array(await readFile(join(dir, stage.file)));
  verifyStageBytes(m, s, bytes);
  return bytes;
}

/** Throws ShardHashMismatchError unless sha256(bytes) is stage `s`'s hash. */
export function verifyStageBytes(m: Manifest, s: number, bytes: Uint8Array): void {
  const got = sha256Hex(bytes);
  if (got !== m.stages[s].sha256) {
    throw new ShardHashMismatchError(`stage ${s} (${m.stages[s].file}): sha256 ${got} != manifest ${m.stages[s].sha256}`);
  }
}
