// The language-model commands of `shardmesh model`: build the project's decoder, import a
// Hugging Face-layout decoder, and split one between its transformer blocks.
import { parseArgs } from "node:util";
import { join } from "node:path";
import { buildDemoDecoder, buildRandomDecoder, DECODER_PRESETS, importModel, splitDecoder, type DecoderPreset } from "../llm/index.ts";
import { formatBytes, progressBar, table } from "../util/index.ts";

export const LLM_USAGE = `  shardmesh model build-llm [--preset tiny|gpt2-small|demo] [--seed N] [--merges M] [--external-data] --out dir
                        the project's Llama-architecture decoder as a Hugging Face folder: random weights,
                        or (demo) trained on Moby-Dick for a few minutes of CPU
  shardmesh model import <folder | http(s)://base/url> --out dir
                        fetch a decoder folder (config.json, tokenizer files, onnx/model.onnx + external data);
                        resumes an interrupted download, records every file's sha256 in dir/import.json
  shardmesh model split <decoder folder> [--stages S | --layers a,b,...] [--exact] [--out dir]
                        cut a decoder between transformer blocks: embed.onnx and head.onnx for the gateway,
                        stage<k>.onnx per block stage (each owns its layers' KV cache), manifest.json`;

export class LlmUsageError extends Error {
  override name = "UsageError";
}

export async function buildLlm(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      preset: { type: "string" },
      seed: { type: "string" },
      merges: { type: "string" },
      "external-data": { type: "boolean" },
      out: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) {
    console.log(LLM_USAGE);
    return 0;
  }
  if (values.preset === "demo") {
    if (!values.out) throw new LlmUsageError("build-llm needs --out dir");
    const bar = progressBar();
    const m = await buildDemoDecoder(values.out, { onProgress: bar });
    bar.end();
    console.log(`demo model in ${m.dir}${m.trained ? ` (trained, final loss ${m.finalLoss?.toFixed(3)})` : " (already built)"}`);
    return 0;
  }
  const preset = (values.preset ?? "tiny") as DecoderPreset;
  if (!Object.hasOwn(DECODER_PRESETS, preset)) throw new LlmUsageError(`--preset is one of ${Object.keys(DECODER_PRESETS).join(", ")}`);
  if (!values.out) throw new LlmUsageError("build-llm needs --out dir");
  const bar = progressBar();
  const t0 = performance.now();
  const { config, files } = await buildRandomDecoder(values.out, preset, {
    seed: values.seed ? Number(values.seed) : undefined,
    merges: values.merges ? Number(values.merges) : undefined,
    externalData: values["external-data"] ? true : "auto",
    onProgress: bar,
  });
  bar.end();
  console.log(
    `${preset}: ${config.layers} layers, d=${config.hiddenSize}, heads ${config.heads}/${config.kvHeads}, vocab ${config.vocabSize} (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
  );
  console.log(table([["file", "bytes", "sha256"], ...files.map((f) => [f.path, formatBytes(f.bytes), f.sha256])]));
  return 0;
}

export async function importLlm(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { out: { type: "string" }, help: { type: "boolean", short: "h" } },
  });
  if (values.help) {
    console.log(LLM_USAGE);
    return 0;
  }
  if (positionals.length !== 1 || !values.out) throw new LlmUsageError("import needs a source folder or URL and --out dir");
  const bar = progressBar();
  const rec = await importModel(positionals[0], values.out, { onProgress: bar });
  bar.end();
  console.log(table([["file", "bytes", "sha256"], ...rec.files.map((f) => [f.path, formatBytes(f.bytes), f.sha256])]));
  console.log(`imported into ${values.out} (record: ${join(values.out, "import.json")})`);
  return 0;
}

/** `model split <folder>` (the generic split's parsed options; a decoder takes --stages or --layers). */
export async function splitLlm(
  folder: string,
  values: { stages?: string; layers?: string; exact?: boolean; out?: string },
): Promise<number> {
  const layers = values.layers?.split(",").map(Number);
  if (layers?.some((x) => !Number.isInteger(x))) throw new LlmUsageError(`--layers expects integers, got ${values.layers}`);
  const stages = values.stages !== undefined ? Number(values.stages) : undefined;
  const out = values.out ?? `${folder.replace(/\/+$/, "")}.${layers?.length ?? stages ?? 2}stages`;
  const bar = progressBar();
  const r = await splitDecoder(folder, out, { stages, layers, exact: values.exact, onProgress: bar });
  bar.end();
  const d = r.manifest.decoder!;
  console.log(
    table([
      ["part", "layers", "file", "KV bytes/token", "inputs → outputs"],
      ["gateway", "embed", `${d.embed.file} (${formatBytes(d.embed.bytes)})`, "-", "input_ids → hidden"],
      ...r.manifest.stages.map((s, i) => [
        `stage ${i}`,
        `${d.layers[i][0]}..${d.layers[i][1] - 1}`,
        `${s.file} (${formatBytes(s.bytes)})`,
        formatBytes(d.kvBytesPerToken[i]),
        `${s.inputs.map((t) => t.name).join(", ")} → ${s.outputs.map((t) => t.name).join(", ")}`,
      ]),
      ["gateway", "head", `${d.head.file} (${formatBytes(d.head.bytes)})`, "-", "hidden → logits"],
    ]),
  );
  console.log(`\nwrote ${r.path}\nmanifest hash ${r.hash}`);
  return 0;
}
