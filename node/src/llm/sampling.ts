// Token choice on the gateway (providers never choose tokens): greedy, or temperature + top-p
// (nucleus) sampling from a seeded generator, so the same seed gives the same text. And the
// streaming text view: decoded deltas that never split a UTF-8 character or reveal the start
// of a stop sequence that may still complete.
import { mulberry32 } from "../tensor/index.ts";
import { SamplingError } from "./errors.ts";

/** Upper bounds on what a buyer may ask for. */
export const MAX_TEMPERATURE = 2;
export const MAX_STOP_SEQUENCES = 4;
export const MAX_STOP_LENGTH = 64;

export interface SamplingParams {
  /** 0 (default) = greedy. */
  temperature?: number;
  /** Nucleus mass in (0, 1]; default 1. */
  topP?: number;
  /** Seed of the sampler's generator (default 0). */
  seed?: number;
}

export function checkSampling(p: SamplingParams): Required<SamplingParams> {
  const temperature = p.temperature ?? 0;
  const topP = p.topP ?? 1;
  const seed = p.seed ?? 0;
  if (typeof temperature !== "number" || !(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
    throw new SamplingError(`temperature must be in [0, ${MAX_TEMPERATURE}]`);
  }
  if (typeof topP !== "number" || !(topP > 0 && topP <= 1)) throw new SamplingError("top_p must be in (0, 1]");
  if (!Number.isSafeInteger(seed)) throw new SamplingError("seed must be an integer");
  return { temperature, topP, seed };
}

export function checkStops(stop: unknown): string[] {
  if (stop === undefined || stop === null) return [];
  const list = typeof stop === "string" ? [stop] : stop;
  if (!Array.isArray(list) || list.length > MAX_STOP_SEQUENCES) throw new SamplingError(`stop takes up to ${MAX_STOP_SEQUENCES} strings`);
  for (const s of list) {
    if (typeof s !== "string" || s.length === 0 || s.length > MAX_STOP_LENGTH)
      throw new SamplingError(`each stop sequence is 1..${MAX_STOP_LENGTH} characters`);
  }
  return list as string[];
}

export function argmax(v: ArrayLike<number>, from = 0, to = v.length): number {
  let best = from;
  for (let i = from + 1; i < to; i++) if (v[i] > v[best]) best = i;
  return best - from;
}

export class Sampler {
  readonly params: Required<SamplingParams>;
  private readonly rnd: () => number;

  constructor(p: SamplingParams = {}) {
    this.params = checkSampling(p);
    this.rnd = mulberry32(this.params.seed >>> 0 || 0x9e3779b9);
  }

  /** Picks the next token from one position's logits (`vocab` values starting at `offset`). */
  next(logits: Float32Array, offset = 0, vocab = logits.length - offset): number {
    const { temperature, topP } = this.params;
    if (temperature === 0) return argmax(logits, offset, offset + vocab);
    let max = -Infinity;
    for (let i = 0; i < vocab; i++) max = Math.max(max, logits[offset + i]);
    const probs = new Float64Array(vocab);
    let sum = 0;
    for (let i = 0; i < vocab; i++) sum += probs[i] = Math.exp((logits[offset + i] - max) / temperature);
    const order = Array.from({ length: vocab }, (_, i) => i).sort((a, b) => probs[b] - probs[a] || a - b);
    let kept = 0;
    let mass = 0;
    while (kept < vocab && (kept === 0 || mass < topP * sum)) mass += probs[order[kept++]];
    let r = this.rnd() * mass;
    for (let k = 0; k < kept; k++) {
      r -= probs[order[k]];
      if (r <= 0) return order[k];
    }
    return order[kept - 1];
  }
}

/**
 * Turns the growing list of generated token ids into text deltas. `push` returns the text that
 * is now certain: a trailing U+FFFD (an unfinished UTF-8 character) and any suffix that could
 * still grow into a stop sequence are held back; when a stop sequence appears, the text ends
 * before it and `stopped` turns true.
 */
export class TextStream {
  private emitted = 0;
  private text = "";
  private readonly ids: number[] = [];
  private readonly decode: (ids: readonly number[]) => string;
  private readonly stops: readonly string[];
  stopped = false;

  constructor(decode: (ids: readonly number[]) => string, stops: readonly string[] = []) {
    this.decode = decode;
    this.stops = stops;
  }

  push(id: number): string {
    if (this.stopped) return "";
    this.ids.push(id);
    this.text = this.decode(this.ids);
    for (const s of this.stops) {
      const at = this.text.indexOf(s);
      if (at >= 0) {
        this.stopped = true;
        this.text = this.text.slice(0, at);
        return this.take(this.text.length);
      }
    }
    let safe = this.text.length;
    while (safe > 0 && this.text.charCodeAt(safe - 1) === 0xfffd) safe--;
    for (const s of this.stops) {
      for (let k = Math.min(s.length - 1, safe); k > 0; k--) {
        if (this.text.endsWith(s.slice(0, k)) && safe > this.text.length - k) {
          safe = this.text.length - k;
          break;
        }
      }
    }
    return this.take(safe);
  }

  /** Whatever is left (at the end of generation). */
  flush(): string {
    return this.take(this.text.length);
  }

  get full(): string {
    return this.text;
  }

  private take(upTo: number): string {
    if (upTo <= this.emitted) return "";
    const d = this.text.slice(this.emitted, upTo);
    this.emitted = upTo;
    return d;
  }
}
