// `shardmesh generate`: text from a language model, streamed as it is generated. With
// --manifest, the split decoder runs on this machine (embed and head here, each block stage in
// its own stateful runner, chained as on the mesh).
import { parseArgs } from "node:util";
import { DecoderGateway, DecoderStageRunner, promptIds, type GenerateResult } from "../llm/index.ts";
import { loadManifest } from "../inference/manifest.ts";

export const summary = "generate text with a language model, streamed (see also `shardmesh chat`)";

export const GENERATE_OPTIONS = {
  manifest: { type: "string" },
  "max-tokens": { type: "string" },
  temperature: { type: "string" },
  "top-p": { type: "string" },
  seed: { type: "string" },
  stop: { type: "string", multiple: true },
  stats: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

const USAGE = `usage:
  shardmesh generate --manifest <split decoder>/manifest.json [options] <prompt>
  shardmesh chat     --manifest <split decoder>/manifest.json [options] <message>

  --max-tokens N     tokens to generate at most (default 64)
  --temperature T    0 = greedy (default); up to 2
  --top-p P          nucleus mass in (0, 1] (default 1)
  --seed N           sampler seed: the same seed gives the same text
  --stop S           stop sequence (repeatable, up to 4)
  --stats            print time to first token, decode tokens/s and bytes per hop`;

class UsageError extends Error {
  override name = "UsageError";
}

export type GenerateValues = {
  [K in keyof typeof GENERATE_OPTIONS]?: (typeof GENERATE_OPTIONS)[K]["type"] extends "boolean"
    ? boolean
    : K extends "stop"
      ? string[]
      : string;
};

/** Runs one generation from parsed options; `chat` wraps the text in the model's chat template. */
export async function generateCli(values: GenerateValues, text: string, chat: boolean): Promise<number> {
  if (!values.manifest) throw new UsageError("give --manifest (a split decoder's manifest.json)");
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  const m = await loadManifest(values.manifest);
  const gw = await DecoderGateway.open(m);
  const stages: DecoderStageRunner[] = [];
  try {
    for (let s = 0; s < m.manifest.stages.length; s++) stages.push(await DecoderStageRunner.fromManifest(m, s));
    const ids = promptIds(gw.tokenizer, chat ? { messages: [{ role: "user", content: text }] } : { prompt: text });
    const res: GenerateResult = await gw.generate(stages, ids, {
      maxTokens: num(values["max-tokens"], 64),
      temperature: num(values.temperature, 0),
      topP: num(values["top-p"], 1),
      seed: num(values.seed, 0),
      stop: values.stop,
      onText: (d) => process.stdout.write(d),
    });
    process.stdout.write("\n");
    if (values.stats) {
      const decode = res.decodeMs.reduce((a, b) => a + b, 0);
      console.error(
        `${res.promptTokens} prompt + ${res.tokens.length} generated tokens (${res.finishReason}); time to first token ${res.ttftMs.toFixed(1)} ms; ` +
          `decode ${res.decodeMs.length ? ((1000 * res.decodeMs.length) / decode).toFixed(1) : "-"} tokens/s; ` +
          `hidden state per token per hop ${m.manifest.decoder!.config.hiddenSize * 4} B`,
      );
    }
    return 0;
  } finally {
    await Promise.all([...stages.map((s) => s.close()), gw.close()]);
  }
}

export async function runWith(argv: string[], chat: boolean): Promise<number> {
  try {
    const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: GENERATE_OPTIONS });
    if (values.help) {
      console.log(USAGE);
      return 0;
    }
    if (positionals.length === 0) throw new UsageError(chat ? "give a message" : "give a prompt");
    return await generateCli(values, positionals.join(" "), chat);
  } catch (err) {
    const e = err as Error;
    if (e.name === "UsageError" || (e as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`shardmesh ${chat ? "chat" : "generate"}: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`shardmesh ${chat ? "chat" : "generate"}: ${e.name}: ${e.message}`);
    return 1;
  }
}

export function run(argv: string[]): Promise<number> {
  return runWith(argv, false);
}
