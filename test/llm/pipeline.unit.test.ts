// Split decoders: chained block stages (embed and head on the gateway) equal the whole with-past
// model token by token, bit for bit with graph optimisation off, for the prefill and 32 decode
// steps; only the hidden state crosses a cut; generation, sampling and failover.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  argmax,
  DecoderGateway,
  DecoderStageRunner,
  splitDecoder,
  type DecoderSplitResult,
  type StageLink,
} from "../../node/src/llm/index.ts";
import type { Tensor } from "../../node/src/tensor/index.ts";
import { ids, tempDir, tinyModel, tinySplit, wholeRunner, type TinyModel } from "./helpers.ts";

const PROMPT = "Call me Ishmael. Some years ago";
const DECODE_STEPS = 32;

describe("decoder split", () => {
  it("cuts between blocks: stages own their layers' KV cache, hops carry the hidden state only", async () => {
    const m = await tinyModel();
    const r = await tinySplit([1, 3]);
    const { manifest } = r;
    assert.equal(manifest.stages.length, 2);
    assert.deepEqual(manifest.decoder?.layers, [
      [0, 1],
      [1, 4],
    ]);
    assert.deepEqual(
      manifest.stages.map((s) => s.cache?.map((c) => c.past)),
      [
        ["past_key_values.0.key", "past_key_values.0.value"],
        [
          "past_key_values.1.key",
          "past_key_values.1.value",
          "past_key_values.2.key",
          "past_key_values.2.value",
          "past_key_values.3.key",
          "past_key_values.3.value",
        ],
      ],
    );
    // The only activation across the cut is the hidden state; attention_mask and position_ids ride along.
    const hop = manifest.hops[0].tensors;
    assert.deepEqual(hop.filter((t) => t.dtype === "float32").length, 1);
    assert.deepEqual(
      hop
        .filter((t) => t.dtype !== "float32")
        .map((t) => t.name)
        .sort(),
      ["attention_mask", "position_ids"],
    );
    for (const s of manifest.stages) {
      for (const t of [...s.inputs, ...s.outputs]) assert.ok(!/past_key_values|present/.test(t.name), `${t.name} on a hop`);
    }
    assert.deepEqual(
      manifest.decoder?.kvBytesPerToken,
      [1, 3].map((l) => l * 2 * m.config.kvHeads * m.config.headDim * 4),
    );
    assert.equal(manifest.runtime.graphOptimizationLevel, "disabled");
    // The gateway's parts and the tokenizer files are next to the manifest, hashed.
    for (const f of manifest.decoder!.files) assert.ok(readFileSync(join(r.path, "..", f.path)).byteLength === f.bytes);
    assert.deepEqual(
      manifest.decoder!.embed.inputs.map((t) => t.name),
      ["input_ids"],
    );
    assert.deepEqual(
      manifest.decoder!.head.outputs.map((t) => t.name),
      ["logits"],
    );
  });

  it("refuses a layer plan that does not cover the model, by name", async () => {
    const m = await tinyModel();
    await assert.rejects(splitDecoder(m.dir, tempDir("bad"), { layers: [2, 1] }), { name: "DecoderSplitError" });
    await assert.rejects(splitDecoder(m.dir, tempDir("bad"), { stages: 5 }), { name: "DecoderSplitError" });
  });
});

describe("chained stages equal the whole model", () => {
  let m: TinyModel;
  let split: DecoderSplitResult;
  let gw: DecoderGateway;
  let stages: DecoderStageRunner[];
  let whole: DecoderStageRunner;

  before(async () => {
    m = await tinyModel();
    split = await tinySplit([2, 2]);
    gw = await DecoderGateway.open(split.path);
    stages = await Promise.all(split.manifest.stages.map((_, s) => DecoderStageRunner.fromManifest(gw.manifest, s)));
    whole = await wholeRunner(m);
  });
  after(async () => {
    await Promise.all([...stages.map((s) => s.close()), whole.close(), gw.close()]);
  });

  it(`prefill and ${DECODE_STEPS} decode steps, logits bit for bit`, async () => {
    const prompt = gw.tokenizer.encode(PROMPT);
    const maxLength = prompt.length + DECODE_STEPS + 1;
    await whole.open("w", { maxLength });
    for (const s of stages) await s.open("c", { maxLength });
    let tokens = prompt;
    let position = 0;
    for (let step = 0; step <= DECODE_STEPS; step++) {
      const w = await whole.step("w", { stepId: step, position, bag: { input_ids: ids(tokens) } });
      let h: Tensor = await gw.embed(tokens);
      for (const [s, runner] of stages.entries()) {
        const r = await runner.step("c", { stepId: step, position, bag: { [gw.hiddenIn[s]]: h } });
        h = r.bag[gw.hiddenOut[s]];
      }
      const chained = await gw.head(h);
      const V = m.config.vocabSize;
      const wl = w.bag.logits.data as Float32Array;
      const last = wl.slice(wl.length - V);
      assert.deepEqual(chained, last, `logits differ at step ${step}`);
      position += tokens.length;
      tokens = [argmax(last)];
    }
    assert.equal(whole.sessionLength("w"), prompt.length + DECODE_STEPS);
    assert.equal(stages[1].sessionLength("c"), prompt.length + DECODE_STEPS);
    for (const s of stages) assert.equal(await s.closeSession("c"), true);
    await whole.closeSession("w");
  });

  it("generate() through the stages gives the whole model's greedy tokens", async () => {
    const prompt = gw.tokenizer.encode(PROMPT);
    const res = await gw.generate(stages, prompt, { maxTokens: 12 });
    await whole.open("g", { maxLength: prompt.length + 12 });
    const expected: number[] = [];
    let tokens = prompt;
    let position = 0;
    while (expected.length < res.tokens.length) {
      const w = await whole.step("g", { stepId: expected.length, position, bag: { input_ids: ids(tokens) } });
      const l = w.bag.logits.data as Float32Array;
      const next = argmax(l.subarray(l.length - m.config.vocabSize));
      position += tokens.length;
      expected.push(next);
      tokens = [next];
    }
    assert.deepEqual(res.tokens, expected);
    assert.equal(res.promptTokens, prompt.length);
    // One hidden state per position per hop: prompt + (generated − 1) positions of 4·d bytes each.
    const perToken = m.config.hiddenSize * 4;
    assert.deepEqual(
      res.hopBytes,
      [1, 2].map(() => perToken * (prompt.length + res.tokens.length - 1)),
    );
    // Sessions are closed at the end.
    for (const s of stages) assert.equal(s.stats().sessions, 0);
  });

  it("seeded sampling: same seed → same text, another seed → another; max tokens and stop sequences", async () => {
    const prompt = gw.tokenizer.encode(PROMPT);
    const a = await gw.generate(stages, prompt, { maxTokens: 16, temperature: 1, topP: 0.9, seed: 7 });
    const b = await gw.generate(stages, prompt, { maxTokens: 16, temperature: 1, topP: 0.9, seed: 7 });
    const c = await gw.generate(stages, prompt, { maxTokens: 16, temperature: 1, topP: 0.9, seed: 8 });
    assert.deepEqual(a.tokens, b.tokens);
    assert.equal(a.text, b.text);
    assert.notDeepEqual(a.tokens, c.tokens);
    assert.equal(a.tokens.length, 16);
    assert.equal(a.finishReason, "length");
    // A stop sequence taken from the middle of the seeded text ends it there.
    const stop = a.text.slice(4, 7);
    assert.ok(stop.length === 3 && !stop.includes("\ufffd"));
    let streamed = "";
    const s = await gw.generate(stages, prompt, {
      maxTokens: 16,
      temperature: 1,
      topP: 0.9,
      seed: 7,
      stop: [stop],
      onText: (d) => (streamed += d),
    });
    assert.equal(s.finishReason, "stop");
    assert.equal(s.text, a.text.slice(0, a.text.indexOf(stop)));
    assert.equal(streamed, s.text);
    await assert.rejects(gw.generate(stages, prompt, { maxTokens: 4, temperature: 3 }), { name: "SamplingError" });
    await assert.rejects(gw.generate(stages, prompt, { maxTokens: m.config.maxPositions }), { name: "SessionLengthError" });
  });

  it("failover mid-generation: a new provider of a stage gets the history replayed; greedy output unchanged", async () => {
    const prompt = gw.tokenizer.encode(PROMPT);
    const reference = await gw.generate(stages, prompt, { maxTokens: 20 });
    // Stage 1's provider dies after 8 decode steps; a fresh one takes over.
    const dying = await DecoderStageRunner.fromManifest(gw.manifest, 1);
    let steps = 0;
    const flaky: StageLink = {
      open: (id, o) => dying.open(id, o),
      closeSession: (id) => dying.closeSession(id),
      step: async (id, input, opts) => {
        if (++steps === 9) await dying.close();
        return dying.step(id, input, opts);
      },
    };
    const fresh = await DecoderStageRunner.fromManifest(gw.manifest, 1);
    try {
      const res = await gw.generate([stages[0], flaky], prompt, { maxTokens: 20, replace: async () => fresh });
      assert.equal(res.failovers.length, 1);
      assert.equal(res.failovers[0].stage, 1);
      assert.equal(res.failovers[0].positions, prompt.length + 7);
      assert.deepEqual(res.tokens, reference.tokens);
      assert.equal(res.text, reference.text);
    } finally {
      await fresh.close();
    }
  });

  it("a provider answering NaN or a wrong shape counts as failed: replaced, same greedy text; without a spare, a named error", async () => {
    const prompt = gw.tokenizer.encode(PROMPT);
    const reference = await gw.generate(stages, prompt, { maxTokens: 12 });
    const liar = (corrupt: (t: Tensor) => Tensor): StageLink => {
      let steps = 0;
      return {
        open: (id, o) => stages[1].open(id, o),
        closeSession: (id) => stages[1].closeSession(id),
        step: async (id, input, opts) => {
          const r = await stages[1].step(id, input, opts);
          if (++steps < 5) return r;
          const name = gw.hiddenOut[1];
          return { ...r, bag: { [name]: corrupt(r.bag[name]) } };
        },
      };
    };
    const nan = (t: Tensor): Tensor => {
      const data = (t.data as Float32Array).slice();
      data[1] = Number.NaN;
      return { ...t, data };
    };
    const short = (t: Tensor): Tensor => ({
      dtype: "float32",
      dims: [1, t.dims[1], t.dims[2] - 1],
      data: (t.data as Float32Array).slice(0, t.dims[1] * (t.dims[2] - 1)),
    });
    for (const corrupt of [nan, short]) {
      const fresh = await DecoderStageRunner.fromManifest(gw.manifest, 1);
      try {
        const res = await gw.generate([stages[0], liar(corrupt)], prompt, { maxTokens: 12, replace: async () => fresh });
        assert.equal(res.failovers.length, 1);
        assert.deepEqual(res.tokens, reference.tokens);
      } finally {
        await fresh.close();
      }
    }
    await assert.rejects(gw.generate([stages[0], liar(nan)], prompt, { maxTokens: 12 }), { name: "StageOutputError" });
  });
});
