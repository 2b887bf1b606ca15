// Generation on the gateway, the party the buyer trusts (as in Petals): it runs the decoder's
// embeddings and head, samples, and drives one stateful session per block stage through a
// StageLink — a local DecoderStageRunner or a remote provider answer the same calls. A step
// carries the new positions' hidden state only (attention_mask and position_ids are implied by
// the position for a batch-1 session).
//
// Failover: the gateway keeps, per cut, the hidden states it sent into each stage. When a
// stage's link fails, `replace(stage)` yields another link; the session is opened there and the
// history replayed in one prefill step (rebuilding that stage's KV cache), then the failed step
// is sent again. The replay's outputs for the earlier positions differ from what the failed
// provider returned by float rounding (one prefill against incremental steps). A free generation
// keeps the downstream caches as they are (greedy output equals an uninterrupted run up to that
// difference). A paid one cannot: each stage's record names the hidden states it received, and
// stage s+1 keeps its record only with stage s's hand-off over exactly that input (./handoff.ts),
// which the replacement signs over its own outputs. So a paid failover at stage s cascades: every
// later stage is stepped again at position 0 with the new upstream outputs (a rollback of its own
// session: its KV cache and its trace rows are rebuilt from them, ./stage-runner.ts), and the
// gateway's record of each cut follows — every stage's input is then what its upstream returned.
// No session is opened twice (a paid OPEN names the buyer's request, ./session-protocol.ts).
import { randomUUID } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { logger } from "@libp2p/logger";
import { hopInNames, hopOutNames, loadManifest, sha256Hex, type LoadedManifest } from "../inference/manifest.ts";
import { DataType, decodeModel, num } from "../onnx/model.ts";
import { StageRunner } from "../inference/runner.ts";
import { assertFinite, type Tensor } from "../tensor/index.ts";
import { LlmError, SessionLengthError } from "./errors.ts";
import { Sampler, TextStream, checkStops, type SamplingParams } from "./sampling.ts";
import type { OpenOptions, SessionEnd, StepInput, StepResult } from "./stage-runner.ts";
import { LlmTokenizer } from "./tokenizer.ts";
import { traceHash } from "./trace.ts";
import type { Hex } from "viem";
import type { SignedJobRequest } from "../pipeline/jobrequest.ts";

const log = logger("shardmesh:llm:generate");

/** A stage's provider answered with something that is not a finite hidden state of the step's shape. */
export class StageOutputError extends LlmError {
  override name = "StageOutputError";
}

/** What the gateway needs of a stage's provider (local runner or remote session). */
export interface StageLink {
  open(sessionId: string, o: OpenOptions, opts?: { signal?: AbortSignal }): Promise<unknown>;
  step(sessionId: string, input: StepInput, opts?: { signal?: AbortSignal; timeoutMs?: number }): Promise<StepResult>;
  closeSession(sessionId: string): Promise<unknown>;
  /**
   * Closes a paid session with the previous stage's hand-off and returns this stage's own
   * (./handoff.ts); a link without it closes with closeSession and hands nothing on.
   */
  endSession?(sessionId: string, o: { upstreamHandOff?: Hex }): Promise<SessionEnd>;
}

export interface GenerateOptions extends SamplingParams {
  /** Tokens to generate at most. */
  maxTokens: number;
  stop?: string[];
  signal?: AbortSignal;
  /** Text as it becomes certain (streaming). */
  onText?: (delta: string) => void;
  /** Called when a stage's link failed: return another link of that stage, or null to give up. */
  replace?: (stage: number, error: Error) => Promise<StageLink | null>;
  sessionId?: string;
  stepTimeoutMs?: number;
  /**
   * Ends the generation cleanly before the next decode step when true (a paid generation whose
   * client went away: what was computed is consistent at every stage and billed, unlike an abort
   * that may cut a step between stages).
   */
  stopWhen?: () => boolean;
  /** A paid generation: every stage traces its session under (job, trace index) (./trace.ts). */
  trace?: { jobId: string; index: number; jobRequest?: SignedJobRequest };
}

export type FinishReason = "stop" | "length";

export interface GenerateResult {
  text: string;
  tokens: number[];
  promptTokens: number;
  finishReason: FinishReason;
  /** Prompt in → first token chosen. */
  ttftMs: number;
  /** Each decode step's time (token chosen → next token chosen). */
  decodeMs: number[];
  /** Per stage: bytes of hidden state sent into it, over the whole generation. */
  hopBytes: number[];
  /**
   * Failovers that happened, with the replay's time; `cascaded`: the later stages a paid
   * generation re-ran from the replacement's outputs (see the top of this file).
   */
  failovers: Array<{ stage: number; positions: number; ms: number; cascaded: number[] }>;
  /** Positions every stage computed (P: prompt + fed-back tokens); units = P + 1 (./trace.ts). */
  positions: number;
  /** The link that served each stage to the end (after failovers). */
  links: StageLink[];
  /**
   * A paid generation's hashes per stage, as each stage's trace names them: the hidden states it
   * received and returned over positions [0, P) (stage s's output hash = stage s+1's input hash).
   */
  stageHashes?: Array<{ inputHash: Hex; outputHash: Hex }>;
  /**
   * A paid generation: every stage closed its session and kept its record — a stage > 0 only
   * with its upstream's hand-off (./handoff.ts). False: some stage kept none, so no receipt may
   * name the request (its part would be refused).
   */
  recordsKept?: boolean;
}

/** The hidden states a stage has been sent, in position order (for replay onto another provider). */
class CutHistory {
  private buf: Float32Array;
  length = 0;
  private readonly width: number;

  constructor(width: number, capacity: number) {
    this.width = width;
    this.buf = new Float32Array(width * Math.max(1, capacity));
  }

  append(position: number, t: Tensor): void {
    const rows = t.dims[1];
    const need = (position + rows) * this.width;
    if (need > this.buf.length) {
      const bigger = new Float32Array(Math.max(need, this.buf.length * 2));
      bigger.set(this.buf.subarray(0, this.length * this.width));
      this.buf = bigger;
    }
    this.buf.set(t.data as Float32Array, position * this.width);
    this.length = position + rows;
  }

  upTo(position: number): Tensor {
    return { dtype: "float32", dims: [1, position, this.width], data: this.buf.slice(0, position * this.width) };
  }
}

export interface DecoderPartsOptions {
  intraOpThreads?: number;
  /** Where a file the manifest names is (default: next to the manifest), e.g. a shard fetched from peers. */
  locate?: (file: string) => string;
}

/**
 * The embedding table when embed.onnx is one Gather of an initializer by input_ids (the
 * project's decoders, and most exports): the gateway then copies rows itself, bit-identical to
 * onnxruntime's Gather, without a worker round trip per token.
 */
function gatherTable(bytes: Uint8Array, inputIds: string, output: string): { table: Float32Array; width: number; rows: number } | null {
  const m = decodeModel(bytes);
  const nodes = m.graph?.node ?? [];
  if (nodes.length !== 1 || nodes[0].opType !== "Gather" || nodes[0].input?.[1] !== inputIds || nodes[0].output?.[0] !== output)
    return null;
  const axis = nodes[0].attribute?.find((a) => a.name === "axis");
  if (axis && num(axis.i) !== 0) return null;
  const init = m.graph?.initializer?.find((t) => t.name === nodes[0].input?.[0]);
  if (!init?.rawData || init.dataType !== DataType.FLOAT || init.dims?.length !== 2) return null;
  const [rows, width] = init.dims.map((d) => num(d));
  const table = new Float32Array(rows * width);
  new Uint8Array(table.buffer).set(init.rawData.subarray(0, rows * width * 4));
  return { table, width, rows };
}

/** The gateway's side of a split decoder: tokenizer, embeddings and head. */
export class DecoderGateway {
  readonly manifest: LoadedManifest;
  readonly tokenizer: LlmTokenizer;
  private readonly embedRunner: StageRunner | null;
  private readonly gather: { table: Float32Array; width: number; rows: number } | null;
  private readonly headRunner: StageRunner;
  /** Per block stage: the hidden-state tensor name it reads, and the one it writes. */
  readonly hiddenIn: string[];
  readonly hiddenOut: string[];

  private constructor(
    m: LoadedManifest,
    tokenizer: LlmTokenizer,
    embed: StageRunner | null,
    gather: DecoderGateway["gather"],
    head: StageRunner,
  ) {
    this.manifest = m;
    this.tokenizer = tokenizer;
    this.embedRunner = embed;
    this.gather = gather;
    this.headRunner = head;
    const float = (names: string[], where: string) => {
      const all = [...m.manifest.model.inputs, ...m.manifest.model.outputs, ...m.manifest.hops.flatMap((h) => h.tensors)];
      const n = names.find((x) => all.some((t) => t.name === x && t.dtype === "float32"));
      if (!n) throw new LlmError(`${where} carries no float32 hidden state`);
      return n;
    };
    const S = m.manifest.stages.length;
    this.hiddenIn = Array.from({ length: S }, (_, s) => float(hopInNames(m.manifest, s), `hop into stage ${s}`));
    this.hiddenOut = Array.from({ length: S }, (_, s) => float(hopOutNames(m.manifest, s), `hop out of stage ${s}`));
  }

  static async open(manifest: string | LoadedManifest, o: DecoderPartsOptions = {}): Promise<DecoderGateway> {
    const m = typeof manifest === "string" ? await loadManifest(manifest) : manifest;
    const dec = m.manifest.decoder;
    if (!dec) throw new LlmError(`${m.manifest.model.name} is not a decoder (manifest has no decoder section)`);
    const locate = o.locate ?? ((f: string) => join(m.dir, f));
    const tokenizer = await LlmTokenizer.load(m.dir, locate);
    const read = async (p: typeof dec.embed) => {
      const bytes = new Uint8Array(await readFile(locate(p.file)));
      if (sha256Hex(bytes) !== p.sha256) throw new LlmError(`${p.file}: sha256 differs from the manifest`);
      return bytes;
    };
    const runner = (bytes: Uint8Array, p: typeof dec.embed, label: string) =>
      StageRunner.create(bytes, {
        label,
        inputs: p.inputs,
        intraOpThreads: o.intraOpThreads,
        graphOptimizationLevel: m.manifest.runtime.graphOptimizationLevel,
      });
    const embedBytes = await read(dec.embed);
    const hiddenName = dec.embed.outputs.find((t) => t.dtype === "float32")?.name ?? "";
    const gather = gatherTable(embedBytes, dec.names.inputIds, hiddenName);
    const embed = gather ? null : await runner(embedBytes, dec.embed, `${m.manifest.model.name}:embed`);
    const head = await runner(await read(dec.head), dec.head, `${m.manifest.model.name}:head`);
    return new DecoderGateway(m, tokenizer, embed, gather, head);
  }

  get config() {
    return this.manifest.manifest.decoder!.config;
  }

  /** Hidden state of `ids` (the tokens at positions position…). */
  async embed(ids: readonly number[], signal?: AbortSignal): Promise<Tensor> {
    const names = this.manifest.manifest.decoder!.names;
    if (this.gather) {
      const { table, width, rows } = this.gather;
      const data = new Float32Array(ids.length * width);
      ids.forEach((id, i) => {
        if (!Number.isInteger(id) || id < 0 || id >= rows) throw new LlmError(`token id ${id} outside the vocabulary of ${rows}`);
        data.set(table.subarray(id * width, (id + 1) * width), i * width);
      });
      return { dtype: "float32", dims: [1, ids.length, width], data };
    }
    const bag = await this.embedRunner!.run(
      { [names.inputIds]: { dtype: "int64", dims: [1, ids.length], data: BigInt64Array.from(ids, (x) => BigInt(x)) } },
      { signal, trusted: true },
    );
    return bag[this.hiddenIn[0]];
  }

  /** Logits of the last position of `hidden`. */
  async head(hidden: Tensor, signal?: AbortSignal): Promise<Float32Array> {
    const names = this.manifest.manifest.decoder!.names;
    const bag = await this.headRunner.run({ [this.hiddenOut[this.hiddenOut.length - 1]]: hidden }, { signal, trusted: true });
    const logits = bag[names.logits];
    const V = logits.dims[2];
    const rows = logits.dims[1];
    return (logits.data as Float32Array).slice((rows - 1) * V, rows * V);
  }

  async close(): Promise<void> {
    await Promise.all([this.embedRunner?.close(), this.headRunner.close()]);
  }

  /**
   * Generates from `promptIds` through `links` (one per block stage). The sessions are opened
   * with maxLength = prompt + maxTokens and closed at the end, whatever happens.
   */
  async generate(links: StageLink[], promptIds: readonly number[], o: GenerateOptions): Promise<GenerateResult> {
    const S = this.manifest.manifest.stages.length;
    if (links.length !== S) throw new LlmError(`need ${S} stage links, got ${links.length}`);
    if (promptIds.length === 0) throw new LlmError("empty prompt");
    if (!Number.isInteger(o.maxTokens) || o.maxTokens < 1) throw new SessionLengthError("maxTokens must be a positive integer");
    const maxLength = promptIds.length + o.maxTokens;
    if (maxLength > this.config.maxPositions) {
      throw new SessionLengthError(
        `prompt (${promptIds.length}) + max tokens (${o.maxTokens}) exceeds the model's ${this.config.maxPositions} positions`,
      );
    }
    const sampler = new Sampler(o);
    const stream = new TextStream((ids) => this.tokenizer.decode(ids), checkStops(o.stop));
    const sessionId = o.sessionId ?? randomUUID();
    const width = this.config.hiddenSize;
    const history = links.map(() => new CutHistory(width, maxLength));
    // A paid generation also keeps what the last stage returned (its trace's output side).
    const lastOut = o.trace ? new CutHistory(width, maxLength) : undefined;
    const openOptions = { maxLength, ...(o.trace ? { trace: o.trace } : {}) };
    const hopBytes = links.map(() => 0);
    const failovers: GenerateResult["failovers"] = [];
    const current = [...links];
    let stepId = 0;
    const opened = new Set<number>();
    let closed = false;
    const t0 = performance.now();
    try {
      await Promise.all(
        current.map(async (l, s) => {
          await l.open(sessionId, openOptions, { signal: o.signal });
          opened.add(s);
        }),
      );
      /** Stage `s` on another link, its history replayed: its outputs over [0, position), if any. */
      const reopen = (s: number, err: Error, position: number) =>
        this.failover(s, err, sessionId, openOptions, position, history[s], current, opened, failovers, o, () => stepId++);
      /**
       * Stage `s` failed before position `position` ran there. A paid generation then re-runs every
       * later stage's positions [0, position) from the replacement's outputs (see the top of this
       * file), so each stage's record starts from what its upstream really returned.
       */
      const failover = async (s: number, err: Error, position: number): Promise<void> => {
        let rows = await reopen(s, err, position);
        if (!o.trace || !rows) return;
        const cascaded = failovers[failovers.length - 1].cascaded;
        for (let t = s + 1; t < S; t++) {
          history[t].append(0, rows);
          try {
            const r = await current[t].step(
              sessionId,
              { stepId: stepId++, position: 0, bag: { [this.hiddenIn[t]]: rows } },
              { signal: o.signal, timeoutMs: o.stepTimeoutMs },
            );
            rows = this.checked(t, r, position);
          } catch (e) {
            if (o.signal?.aborted) throw e;
            rows = (await reopen(t, e as Error, position))!;
          }
          cascaded.push(t);
        }
        lastOut!.append(0, rows);
      };
      /** Runs positions [position, position + n) whose hidden state is `h` through every stage. */
      const forward = async (position: number, h0: Tensor): Promise<Tensor> => {
        let h = h0;
        for (let s = 0; s < S; s++) {
          history[s].append(position, h);
          const input = (x: Tensor): StepInput => ({ stepId: stepId++, position, bag: { [this.hiddenIn[s]]: x } });
          let out: Tensor;
          try {
            out = this.checked(s, await current[s].step(sessionId, input(h), { signal: o.signal, timeoutMs: o.stepTimeoutMs }), h.dims[1]);
          } catch (err) {
            if (o.signal?.aborted || !o.replace) throw err;
            await failover(s, err as Error, position);
            out = this.checked(s, await current[s].step(sessionId, input(h), { signal: o.signal, timeoutMs: o.stepTimeoutMs }), h.dims[1]);
          }
          hopBytes[s] += h.data.byteLength;
          h = out;
        }
        lastOut?.append(position, h);
        return h;
      };
      const tokens: number[] = [];
      let position = 0;
      let next = sampler.next(await this.head(await forward(0, await this.embed(promptIds, o.signal)), o.signal));
      position = promptIds.length;
      const ttftMs = performance.now() - t0;
      const decodeMs: number[] = [];
      let finishReason: FinishReason = "length";
      for (;;) {
        if (this.tokenizer.stopIds.has(next)) {
          finishReason = "stop";
          break;
        }
        tokens.push(next);
        const delta = stream.push(next);
        if (delta) o.onText?.(delta);
        if (stream.stopped) {
          finishReason = "stop";
          break;
        }
        if (tokens.length >= o.maxTokens) break;
        if (o.stopWhen?.()) {
          finishReason = "stop";
          break;
        }
        const t = performance.now();
        const h = await forward(position, await this.embed([next], o.signal));
        next = sampler.next(await this.head(h, o.signal));
        position += 1;
        decodeMs.push(performance.now() - t);
      }
      const rest = stream.stopped ? "" : stream.flush();
      if (rest) o.onText?.(rest);
      const stageHashes = lastOut
        ? current.map((_, s) => ({
            inputHash: traceHash(this.hiddenIn[s], history[s].upTo(position)),
            outputHash: traceHash(this.hiddenOut[s], (s + 1 < S ? history[s + 1] : lastOut).upTo(position)),
          }))
        : undefined;
      // A paid generation's stages are closed before it returns: their records are kept then.
      const recordsKept = o.trace ? await this.closeInOrder(current, opened, sessionId) : undefined;
      closed = o.trace !== undefined;
      return {
        recordsKept,
        text: stream.full,
        tokens,
        promptTokens: promptIds.length,
        finishReason,
        ttftMs,
        decodeMs,
        hopBytes,
        failovers,
        positions: position,
        links: [...current],
        stageHashes,
      };
    } finally {
      if (o.trace && !closed) await this.closeInOrder(current, opened, sessionId);
      else if (!o.trace) await Promise.all([...opened].map((s) => current[s].closeSession(sessionId).catch(() => {})));
    }
  }

  /**
   * Closes a paid generation's sessions in stage order, handing each stage's hand-off to the
   * next (./handoff.ts): stage s > 0 keeps its record only with stage s−1's over its input.
   * True when every stage closed its open session without refusing its record.
   */
  private async closeInOrder(current: StageLink[], opened: ReadonlySet<number>, sessionId: string): Promise<boolean> {
    let upstreamHandOff: Hex | undefined;
    let kept = opened.size === current.length;
    for (let s = 0; s < current.length; s++) {
      const link = current[s];
      if (!opened.has(s)) {
        upstreamHandOff = undefined;
        continue;
      }
      try {
        if (link.endSession) {
          const end = await link.endSession(sessionId, upstreamHandOff ? { upstreamHandOff } : {});
          // A session no longer open (expired) was not closed by this call: its record may be gone.
          if (!end.closed) kept = false;
          upstreamHandOff = end.handOff;
        } else {
          await link.closeSession(sessionId);
          upstreamHandOff = undefined;
        }
      } catch (err) {
        log("stage %d kept no record of session %s: %s", s, sessionId, (err as Error).message);
        upstreamHandOff = undefined;
        kept = false;
      }
    }
    return kept;
  }

  private async failover(
    s: number,
    error: Error,
    sessionId: string,
    openOptions: OpenOptions,
    position: number,
    history: CutHistory,
    current: StageLink[],
    opened: Set<number>,
    failovers: GenerateResult["failovers"],
    o: GenerateOptions,
    nextStepId: () => number,
  ): Promise<Tensor | undefined> {
    log("stage %d failed at position %d (%s): failing over", s, position, error.message);
    const t = performance.now();
    await current[s].closeSession(sessionId).catch(() => {});
    const link = await o.replace!(s, error);
    if (!link) throw error;
    current[s] = link;
    await link.open(sessionId, openOptions, { signal: o.signal });
    opened.add(s);
    let out: Tensor | undefined;
    if (position > 0) {
      const res = await link.step(
        sessionId,
        { stepId: nextStepId(), position: 0, bag: { [this.hiddenIn[s]]: history.upTo(position) } },
        { signal: o.signal, timeoutMs: o.stepTimeoutMs },
      );
      out = this.checked(s, res, position);
    }
    failovers.push({ stage: s, positions: position, ms: performance.now() - t, cascaded: [] });
    return out;
  }

  /** A stage's answer must be a finite [1, rows, d] hidden state; anything else counts as the provider failing. */
  private checked(s: number, r: StepResult, rows: number): Tensor {
    const width = this.config.hiddenSize;
    const out = r.bag[this.hiddenOut[s]];
    if (!out) throw new StageOutputError(`stage ${s} returned no ${this.hiddenOut[s]}`);
    if (out.dtype !== "float32" || out.dims.length !== 3 || out.dims[0] !== 1 || out.dims[1] !== rows || out.dims[2] !== width) {
      throw new StageOutputError(`stage ${s} returned ${out.dtype}[${out.dims.join(",")}], expected float32[1,${rows},${width}]`);
    }
    try {
      assertFinite(out, this.hiddenOut[s]);
    } catch (err) {
      throw new StageOutputError(`stage ${s}: ${(err as Error).message}`);
    }
    return out;
  }
}

/** Prompt token ids for a plain completion or a chat (the model's chat template). */
export function promptIds(tok: LlmTokenizer, input: { prompt: string } | { messages: Array<{ role: string; content: string }> }): number[] {
  return "prompt" in input ? tok.encode(input.prompt) : tok.encode(tok.chatPrompt(input.messages));
}
