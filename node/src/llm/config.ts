// The decoder's hyper-parameters: Hugging Face's LlamaConfig (config.json, snake_case) and the
// camelCase shape the code uses, with the presets the project builds. Sizes derived here (bytes
// of KV cache per token, parameter count) are the figures the runner and the router budget with.
import { LlmConfigError } from "./errors.ts";

export interface DecoderConfig {
  vocabSize: number;
  hiddenSize: number;
  /** SwiGLU inner size. */
  intermediateSize: number;
  layers: number;
  heads: number;
  /** Key/value heads (grouped-query attention: heads is a multiple of kvHeads). */
  kvHeads: number;
  headDim: number;
  /** Largest position the model serves (rotary has no table; this bounds sessions). */
  maxPositions: number;
  ropeTheta: number;
  rmsNormEps: number;
  bosTokenId: number;
  eosTokenId: number;
}

/** Shapes of the project's own models (vocabulary size comes from the tokenizer). */
export type DecoderShape = Omit<DecoderConfig, "vocabSize" | "bosTokenId" | "eosTokenId">;

export const DECODER_PRESETS = {
  /** Random weights, builds in well under a second: the mechanics tests. */
  tiny: {
    hiddenSize: 64,
    intermediateSize: 176,
    layers: 4,
    heads: 4,
    kvHeads: 2,
    headDim: 16,
    maxPositions: 512,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  },
  /** GPT-2-small-shaped (768 wide, 12 layers, 12 heads; SwiGLU 2048 keeps GPT-2's MLP size), GQA 3:1: benchmarks. */
  "gpt2-small": {
    hiddenSize: 768,
    intermediateSize: 2048,
    layers: 12,
    heads: 12,
    kvHeads: 4,
    headDim: 64,
    maxPositions: 1024,
    ropeTheta: 10000,
    rmsNormEps: 1e-5,
  },
} as const satisfies Record<string, DecoderShape>;

export type DecoderPreset = keyof typeof DECODER_PRESETS;

export function checkConfig(c: DecoderConfig): DecoderConfig {
  const ints: Array<keyof DecoderConfig> = [
    "vocabSize",
    "hiddenSize",
    "intermediateSize",
    "layers",
    "heads",
    "kvHeads",
    "headDim",
    "maxPositions",
  ];
  for (const k of ints) {
    const v = c[k];
    if (!Number.isInteger(v) || (v as number) < 1) throw new LlmConfigError(`${k} must be a positive integer, got ${String(v)}`);
  }
  if (c.heads % c.kvHeads !== 0) throw new LlmConfigError(`heads (${c.heads}) must be a multiple of kvHeads (${c.kvHeads})`);
  if (c.headDim % 2 !== 0) throw new LlmConfigError(`headDim must be even for rotary positions, got ${c.headDim}`);
  if (!(c.ropeTheta > 0) || !(c.rmsNormEps > 0)) throw new LlmConfigError("ropeTheta and rmsNormEps must be positive");
  for (const k of ["bosTokenId", "eosTokenId"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] >= c.vocabSize) throw new LlmConfigError(`${k} ${c[k]} outside the vocabulary`);
  }
  return c;
}

/** KV-cache bytes one position costs in `layers` layers (float32 keys and values). */
export function kvBytesPerToken(c: Pick<DecoderConfig, "kvHeads" | "headDim">, layers: number): number {
  return layers * 2 * c.kvHeads * c.headDim * 4;
}

export function parameterCount(c: DecoderConfig): number {
  const d = c.hiddenSize;
  const perLayer = 2 * d + d * c.heads * c.headDim * 2 + 2 * d * c.kvHeads * c.headDim + 3 * d * c.intermediateSize;
  return 2 * c.vocabSize * d + d + c.layers * perLayer;
}

/** config.json as transformers writes it for LlamaForCausalLM. */
export function toHfConfig(c: DecoderConfig): Record<string, unknown> {
  return {
    architectures: ["LlamaForCausalLM"],
    model_type: "llama",
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    intermediate_size: c.intermediateSize,
    num_hidden_layers: c.layers,
    num_attention_heads: c.heads,
    num_key_value_heads: c.kvHeads,
    head_dim: c.headDim,
    max_position_embeddings: c.maxPositions,
    rope_theta: c.ropeTheta,
    rms_norm_eps: c.rmsNormEps,
    hidden_act: "silu",
    attention_bias: false,
    mlp_bias: false,
    tie_word_embeddings: false,
    bos_token_id: c.bosTokenId,
    eos_token_id: c.eosTokenId,
    torch_dtype: "float32",
    use_cache: true,
  };
}

/** Reads a Llama-family config.json (fields transformers defaults when absent are defaulted the same way). */
export function fromHfConfig(j: Record<string, unknown>): DecoderConfig {
  const n = (k: string, dflt?: number): number => {
    const v = j[k];
    if (typeof v === "number") return v;
    if (Array.isArray(v) && typeof v[0] === "number") return v[0];
    if (dflt !== undefined) return dflt;
    throw new LlmConfigError(`config.json lacks ${k}`);
  };
  const heads = n("num_attention_heads");
  const hidden = n("hidden_size");
  return checkConfig({
    vocabSize: n("vocab_size"),
    hiddenSize: hidden,
    intermediateSize: n("intermediate_size"),
    layers: n("num_hidden_layers"),
    heads,
    kvHeads: n("num_key_value_heads", heads),
    headDim: n("head_dim", hidden / heads),
    maxPositions: n("max_position_embeddings", 2048),
    ropeTheta: n("rope_theta", 10000),
    rmsNormEps: n("rms_norm_eps", 1e-6),
    bosTokenId: n("bos_token_id", 0),
    eosTokenId: n("eos_token_id", 0),
  });
}
