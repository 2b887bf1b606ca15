// Request bounds of a model, from its manifest: which tensors a request may hold, their dtypes,
// and a [min, max] range for every dim (docs/PROTOCOL.md, "Request bounds"). The gateway checks a
// buyer's request against them before any hop, so a request no provider could (or should) run is
// the buyer's named 4xx, never a provider's failure; a pipeline server bounds a peer's hop bags
// with the same numbers.
//
// Declared in the manifest as `model.inputBounds: { <input>: [[min, max(, step)], …one per dim] }`
// (with a step, the dim must be a multiple of it: detectors take sides in multiples of 32),
// written by `shardmesh model split` (`--dim-range <input>:<axis>=<min>..<max>[/<step>]` overrides):
//   fixed dim d                       → [d, d]
//   dynamic leading dim (batch)       → [1, p]                  p = the profiling input's dim
//   other dynamic dim                 → [ceil(p / H), p · H]    H = DYNAMIC_DIM_HEADROOM
//   input of unknown rank             → the profiling dims, fixed
// so a request costs at most H× the compute its price was measured at (per dynamic dim), e.g.
// PP-OCRv4 rec x: [[1,1],[3,3],[48,48],[64,1600]]. `model split` runs the whole model at both
// corners of the bounds and refuses bounds it cannot run (the PP-OCRv4 detector needs
// `--dim-range x:2=32..960/32 --dim-range x:3=32..960/32`). A manifest without `inputBounds`
// (written before they existed) gets the same derivation from its profile inputs at load.
import { InputMismatchError, InputOutOfBoundsError, InputTooLargeError, ManifestError } from "./errors.ts";
import type { Manifest, TensorInfo } from "./manifest.ts";
import { DTYPE_CODE, DTYPE_SIZE, isDType, type DType } from "../tensor/index.ts";

/** A dynamic (non-batch) dim may range from 1/H to H times its profiling value. */
export const DYNAMIC_DIM_HEADROOM = 5;
/** Largest dim value the canonical tensor bytes can carry (uint32). */
const MAX_DIM = 0xffffffff;

export type DimRange = [min: number, max: number] | [min: number, max: number, step: number];

export interface InputBound {
  dtype: DType;
  dims: DimRange[];
}

export interface RequestBounds {
  /** Every model input, exactly: a request holds these tensors and no others. */
  inputs: Record<string, InputBound>;
  /** Largest request: Σ over inputs of dtype size × Π max dims. */
  maxBytes: number;
  /** Largest number of elements per input, and at the profiling input (hop scaling). */
  maxElements: Record<string, number>;
  profileElements: Record<string, number>;
}

/** An operator's declared range for one dim (`--dim-range x:3=64..1600`, `x:2=32..960/32`). */
export interface DimRangeDecl {
  input: string;
  axis: number;
  min: number;
  max: number;
  step?: number;
}

/** Parses `<input>:<axis>=<min>..<max>[/<step>]`. */
export function parseDimRange(text: string): DimRangeDecl {
  const m = /^(.+):(\d+)=(\d+)\.\.(\d+)(?:\/(\d+))?$/.exec(text);
  if (!m) throw new ManifestError(`dim range expects <input>:<axis>=<min>..<max>[/<step>]; got ${text}`);
  const [min, max] = [Number(m[3]), Number(m[4])];
  const step = m[5] === undefined ? undefined : Number(m[5]);
  const range: DimRange = step === undefined ? [min, max] : [min, max, step];
  if (!validRange(range)) throw new ManifestError(`dim range ${text}: need 0 ≤ min ≤ max ≤ ${MAX_DIM}, min and max multiples of step ≥ 1`);
  return { input: m[1], axis: Number(m[2]), min, max, ...(step === undefined ? {} : { step }) };
}

function validRange(r: unknown): r is DimRange {
  if (!Array.isArray(r) || (r.length !== 2 && r.length !== 3) || !r.every((v) => Number.isInteger(v) && v >= 0 && v <= MAX_DIM))
    return false;
  const [lo, hi, step] = r as number[];
  if (lo > hi) return false;
  return step === undefined || (step >= 1 && lo % step === 0 && hi % step === 0);
}

/** Whether `d` lies in the range (and is a multiple of its step). */
export function inRange(d: number, r: DimRange): boolean {
  return Number.isInteger(d) && d >= r[0] && d <= r[1] && (r[2] === undefined || d % r[2] === 0);
}

function showRange(r: DimRange): string {
  return r[0] === r[1] ? `${r[0]}` : `${r[0]}..${r[1]}${r[2] === undefined ? "" : ` in steps of ${r[2]}`}`;
}

/** The default range of one dim (formula in the header). */
function defaultRange(dim: number | string, axis: number, probe: number): DimRange {
  if (typeof dim === "number" && dim > 0) return [dim, dim];
  if (axis === 0) return [1, Math.max(1, probe)];
  return [Math.max(1, Math.ceil(probe / DYNAMIC_DIM_HEADROOM)), Math.max(1, probe * DYNAMIC_DIM_HEADROOM)];
}

/** `model.inputBounds` for a manifest being written: defaults from the profile, then the declared ranges. */
export function deriveInputBounds(
  inputs: readonly TensorInfo[],
  profileInputs: Readonly<Record<string, number[]>>,
  declared: readonly DimRangeDecl[] = [],
): Record<string, DimRange[]> {
  const out: Record<string, DimRange[]> = {};
  for (const t of inputs) {
    const probe = profileInputs[t.name];
    if (!probe) throw new ManifestError(`no profiling dims for input ${t.name}`);
    out[t.name] = t.shape === null ? probe.map((p) => [p, p] as DimRange) : t.shape.map((d, i) => defaultRange(d, i, probe[i] ?? 1));
  }
  for (const d of declared) {
    const dims = out[d.input];
    if (!dims) throw new ManifestError(`dim range for ${d.input}: the model has no such input (${inputs.map((t) => t.name).join(", ")})`);
    if (d.axis >= dims.length) throw new ManifestError(`dim range for ${d.input}: axis ${d.axis} ≥ rank ${dims.length}`);
    const fixed = inputs.find((t) => t.name === d.input)?.shape?.[d.axis];
    if (typeof fixed === "number" && fixed > 0 && (d.min !== fixed || d.max !== fixed))
      throw new ManifestError(`dim range for ${d.input}: axis ${d.axis} is fixed at ${fixed}`);
    dims[d.axis] = d.step === undefined ? [d.min, d.max] : [d.min, d.max, d.step];
  }
  return out;
}

/** Structural check of a manifest's `model.inputBounds` (validateManifest calls it). */
export function checkInputBounds(m: Manifest): void {
  const b = m.model.inputBounds;
  if (b === undefined) return;
  if (!b || typeof b !== "object") throw new ManifestError("model.inputBounds must be an object");
  const names = m.model.inputs.map((t) => t.name);
  const extra = Object.keys(b).filter((k) => !names.includes(k));
  if (extra.length) throw new ManifestError(`model.inputBounds names unknown inputs: ${extra.join(", ")}`);
  for (const t of m.model.inputs) {
    const dims = b[t.name];
    if (!Array.isArray(dims)) throw new ManifestError(`model.inputBounds lacks input ${t.name}`);
    if (t.shape !== null && dims.length !== t.shape.length)
      throw new ManifestError(`model.inputBounds.${t.name} has ${dims.length} dims, the input has ${t.shape.length}`);
    dims.forEach((r, i) => {
      if (!validRange(r))
        throw new ManifestError(`model.inputBounds.${t.name}[${i}] must be [min, max] or [min, max, step] with 0 ≤ min ≤ max ≤ ${MAX_DIM}`);
      const fixed = t.shape?.[i];
      if (typeof fixed === "number" && fixed > 0 && (r[0] !== fixed || r[1] !== fixed))
        throw new ManifestError(`model.inputBounds.${t.name}[${i}] is [${r.join(",")}], the dim is fixed at ${fixed}`);
    });
  }
}

/** The request bounds of a manifest (declared, or derived as `model split` would). */
export function requestBounds(m: Manifest): RequestBounds {
  const dims = m.model.inputBounds ?? deriveInputBounds(m.model.inputs, m.model.profileInputs);
  const inputs: Record<string, InputBound> = {};
  const maxElements: Record<string, number> = {};
  const profileElements: Record<string, number> = {};
  let maxBytes = 0;
  for (const t of m.model.inputs) {
    inputs[t.name] = { dtype: t.dtype, dims: dims[t.name] };
    maxElements[t.name] = dims[t.name].reduce((p, [, hi]) => p * hi, 1);
    profileElements[t.name] = (m.model.profileInputs[t.name] ?? []).reduce((p, d) => p * d, 1);
    maxBytes += maxElements[t.name] * DTYPE_SIZE[t.dtype];
  }
  return { inputs, maxBytes, maxElements, profileElements };
}

/**
 * Largest bag that may cross hop `s` (leaving stage s), scaled from its size at the profiling
 * input by the largest growth any input allows: bytes(hop at profile) · max_i(maxElements_i /
 * profileElements_i). Activations crossing a cut grow linearly with the input in the models this
 * project splits (convolutions, per-token hidden states); DYNAMIC_DIM_HEADROOM leaves no slack
 * beyond that, so a model whose hops grow faster must declare its bounds accordingly.
 */
export function hopMaxBytes(m: Manifest, bounds: RequestBounds, s: number): number {
  const hop = m.hops[s];
  if (!hop) throw new ManifestError(`no hop ${s} (a model of ${m.stages.length} stages has hops 0..${m.hops.length - 1})`);
  const scale = Math.max(1, ...Object.keys(bounds.maxElements).map((k) => bounds.maxElements[k] / Math.max(1, bounds.profileElements[k])));
  return Math.ceil(hop.bytes * scale);
}

/** The part of a tensor the check reads: dtype as ONNX code or name, dims and the data's size. */
export interface TensorLike {
  dtype: number | string;
  dims: readonly number[];
  data: { byteLength: number };
}

function dtypeName(dtype: number | string): DType | undefined {
  if (typeof dtype === "string") return isDType(dtype) ? dtype : undefined;
  return (Object.keys(DTYPE_CODE) as DType[]).find((k) => DTYPE_CODE[k] === dtype);
}

/**
 * Checks a buyer's request bag against the model's bounds, before any hop:
 * InputMismatchError (wrong tensor names or count, dtype, rank, or data size for the dims),
 * InputOutOfBoundsError (a dim outside its declared range), InputTooLargeError (over maxBytes).
 */
export function checkRequest(bounds: RequestBounds, bag: Readonly<Record<string, TensorLike>>): void {
  const want = Object.keys(bounds.inputs);
  const got = Object.keys(bag);
  if (got.length !== want.length || !got.every((n) => Object.hasOwn(bounds.inputs, n))) {
    const shown = got.length > 8 ? `${got.length} tensors` : `[${got.join(", ")}]`;
    throw new InputMismatchError(`the model takes tensors [${want.join(", ")}], the request holds ${shown}`);
  }
  let total = 0;
  for (const name of want) {
    const t = bag[name];
    const b = bounds.inputs[name];
    if (dtypeName(t.dtype) !== b.dtype)
      throw new InputMismatchError(`tensor ${name}: dtype ${String(t.dtype)}, the model takes ${b.dtype}`);
    if (!Array.isArray(t.dims) || t.dims.length !== b.dims.length)
      throw new InputMismatchError(`tensor ${name}: rank ${t.dims?.length}, the model takes rank ${b.dims.length}`);
    let n = 1;
    t.dims.forEach((d, i) => {
      if (!inRange(d, b.dims[i]))
        throw new InputOutOfBoundsError(`tensor ${name}: dim ${i} is ${d}, the model accepts ${showRange(b.dims[i])}`);
      n *= d;
    });
    const size = n * DTYPE_SIZE[b.dtype];
    if (t.data.byteLength !== size)
      throw new InputMismatchError(`tensor ${name}: [${t.dims.join(",")}] ${b.dtype} is ${size} bytes, the data has ${t.data.byteLength}`);
    total += size;
  }
  if (total > bounds.maxBytes) throw new InputTooLargeError(`request of ${total} bytes is over the model's limit of ${bounds.maxBytes}`);
}
