// Tokenizers: GPT-2's byte-level BPE as tokenizer.json, read by @huggingface/tokenizers; round
// trips of any text; GPT-2's own ids (checked against gpt-3-encoder); cut vocabularies are a
// prefix of GPT-2's; the ChatML template through @huggingface/jinja.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { gpt2TokenizerFiles, LlmTokenizer, SPECIAL_TOKENS } from "../../node/src/llm/index.ts";

const require = createRequire(import.meta.url);
const gpt3 = require("gpt-3-encoder") as { encode(s: string): number[] };

const TEXTS = [
  "Call me Ishmael. Some years ago—never mind how long precisely—having little or no money in my purse,",
  "  leading spaces, trailing\ttabs\t\nand\r\nline ends  ",
  "Unicode: naïve café, 日本語のテキスト, Ελληνικά, emoji 🐳🚢 and a ZWJ 👩‍💻",
  "code: for (let i = 0; i < n; i++) { x[i] = 0x1f; } // 'quotes' \"and\" `ticks`",
  "",
];

describe("tokenizer", () => {
  const full = LlmTokenizer.fromFiles(gpt2TokenizerFiles());
  const small = LlmTokenizer.fromFiles(gpt2TokenizerFiles(500));

  it("round-trips any text with the full and a cut vocabulary", () => {
    for (const t of TEXTS) {
      assert.equal(full.decode(full.encode(t)), t);
      assert.equal(small.decode(small.encode(t)), t);
    }
    // Every byte value round-trips (byte-level BPE has no unknown token).
    const bytes = String.fromCharCode(...Array.from({ length: 0x7f }, (_, i) => i + 1));
    assert.equal(small.decode(small.encode(bytes)), bytes);
  });

  it("gives GPT-2's ids; a cut vocabulary is a prefix of GPT-2's and needs more tokens", () => {
    for (const t of TEXTS.slice(0, 4)) assert.deepEqual(full.encode(t), gpt3.encode(t));
    assert.equal(full.vocabSize, 50_257 + 2);
    assert.equal(small.vocabSize, 256 + 500 + 3);
    const t = TEXTS[0];
    const a = small.encode(t);
    assert.ok(a.every((id) => id < 756));
    assert.ok(a.length > full.encode(t).length);
  });

  it("special tokens are single ids and are skipped when decoding; the chat template renders ChatML", () => {
    const p = small.chatPrompt([
      { role: "system", content: "Be brief." },
      { role: "user", content: "Hi" },
    ]);
    assert.equal(p, "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n");
    const enc = small.encode(p);
    const im = small.tokenToId(SPECIAL_TOKENS.imStart)!;
    assert.equal(enc.filter((x) => x === im).length, 3);
    assert.equal(small.decode(enc), "system\nBe brief.\nuser\nHi\nassistant\n");
    assert.ok(small.stopIds.has(small.tokenToId(SPECIAL_TOKENS.imEnd)!));
    assert.throws(() => small.chatPrompt([{ role: "user" } as never]), { name: "TokenizerError" });
    assert.throws(() => gpt2TokenizerFiles(60_000), { name: "TokenizerError" });
  });
});
