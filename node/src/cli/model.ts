// `shardmesh model inspect|split|run`: look inside an ONNX model, cut it into pipeline stages
// (stage files + manifest.json), and run a manifest's stages chained (or a whole model).
import { parseArgs } from "node:util";
import { readFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { ModelToolkit } from "../onnx/index.ts";
import { ChainedPipeline, StageRunner, loadManifest, type PipelineResult, type Manifest, parseDimRange } from "../inference/index.ts";
import { bagHash, randomTensor, type TensorBag } from "../tensor/index.ts";
import {
  OCR_MODELS,
  clsDecode,
  clsPreprocess,
  ctcDecode,
  dbPostprocess,
  decodeImage,
  detPreprocess,
  loadCharset,
  recPreprocess,
  recognize,
  renderText,
  type InferFn,
  type OcrBackends,
} from "../ocr/index.ts";
import { formatBytes, formatCount, progressBar, table } from "../util/index.ts";
import { buildLlm, importLlm, LLM_USAGE, splitLlm } from "./llm.ts";
import { statSync } from "node:fs";

export const summary = "inspect, split and run ONNX models (inspect | split | run | ocr | build-llm | import)";

const USAGE = `usage:
  shardmesh model inspect <model.onnx> [--shape x=1,3,48,320] [--json]
  shardmesh model split <model.onnx> [--stages S | --cuts a,b,...] [--speeds 1,2,...] [--slack 0.1]
                        [--cost flops|latency] [--shape x=1,3,48,320] [--dim-range x:3=64..1600[/8]] [--exact] [--out dir]
  shardmesh model run <manifest.json | model.onnx> (--image file.png | --random) [--task rec|det|cls]
                        [--shape x=1,3,48,320] [--repeat N]
  shardmesh model ocr (<image.png> | --text "some words") [--det m] [--cls m] [--rec m] [--no-det] [--no-cls]
                        m = a manifest.json (sharded) or an .onnx file; default: the PP-OCR models;
                        --text renders the words (a literal \\n starts a new line) and reads them back
${LLM_USAGE}

  --shape   concrete dims of an input for profiling / --random (default: symbolic dims -> 1 or 64)
  --dim-range  the [min, max] a request may use for a dynamic dim (<input>:<axis>=<min>..<max>[/<step>], repeatable;
               with a step the dim must be a multiple of it);
               default: batch (axis 0) 1..profile, others profile/5..profile×5; split runs the whole
               model at both ends of the bounds and refuses bounds it cannot run
  --exact   stages run with graph optimisation disabled: chained == whole bit for bit
  --cost    balance estimated FLOPs (default) or per-node latency measured with onnxruntime's profiler
  --speeds  relative speed of each stage's provider: a faster provider gets a bigger stage
  --task    how to pre/post-process --image (default: guessed from the model name)`;

class UsageError extends Error {
  override name = "UsageError";
}

function shapes(list: string[] | undefined): Record<string, number[]> | undefined {
  if (!list?.length) return undefined;
  const out: Record<string, number[]> = {};
  for (const s of list) {
    const m = /^([^=]+)=([\d,]+)$/.exec(s);
    if (!m) throw new UsageError(`--shape expects name=d1,d2,...; got ${s}`);
    out[m[1]] = m[2].split(",").map(Number);
  }
  return out;
}

function numbers(s: string | undefined, what: string): number[] | undefined {
  if (s === undefined) return undefined;
  const v = s.split(",").map(Number);
  if (v.some((x) => !Number.isFinite(x))) throw new UsageError(`${what} expects comma-separated numbers; got ${s}`);
  return v;
}

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== undefined && (rest.includes("--help") || rest.includes("-h"))) {
    console.log(USAGE);
    return 0;
  }
  try {
    switch (cmd) {
      case "inspect":
        return await inspect(rest);
      case "split":
        return await split(rest);
      case "run":
        return await runModel(rest);
      case "ocr":
        return await ocr(rest);
      case "build-llm":
        return await buildLlm(rest);
      case "import":
        return await importLlm(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        console.log(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (err) {
    const e = err as Error;
    if (e.name === "UsageError" || (e as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")) {
      console.error(`shardmesh model: ${e.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`shardmesh model: ${e.name}: ${e.message}`);
    return 1;
  }
}

async function inspect(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { shape: { type: "string", multiple: true }, json: { type: "boolean" } },
  });
  if (positionals.length !== 1) throw new UsageError("inspect needs one model file");
  const bar = progressBar();
  const tk = await ModelToolkit.load(positionals[0], { probeInputs: shapes(values.shape), onProgress: values.json ? undefined : bar });
  bar.end();
  const info = tk.inspect();
  if (values.json) {
    console.log(JSON.stringify(info, null, 2));
    return 0;
  }
  const io = (ts: typeof info.inputs) => ts.map((t) => `${t.name}: ${t.dtype}[${fmtShape(t.shape)}]`).join("; ");
  console.log(`model     ${info.name} (${formatBytes(info.bytes)}, sha256 ${info.sha256})`);
  console.log(`opset     ${info.opset.join(", ")}`);
  console.log(`inputs    ${io(info.inputs)}`);
  console.log(`outputs   ${io(info.outputs)}`);
  console.log(`nodes     ${info.nodes} (after Constant→initializer), ${info.singleTensorCuts} cut positions carry a single tensor`);
  console.log(`params    ${formatCount(info.params)} (${formatBytes(info.weightBytes)})`);
  console.log(`FLOPs     ${formatCount(info.flops)} per inference at ${JSON.stringify(info.probeInputs)}`);
  console.log(
    `ops       ${Object.entries(info.ops)
      .map(([k, v]) => `${k}×${v}`)
      .join(" ")}`,
  );
  return 0;
}

async function split(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      stages: { type: "string" },
      cuts: { type: "string" },
      speeds: { type: "string" },
      slack: { type: "string" },
      cost: { type: "string" },
      shape: { type: "string", multiple: true },
      "dim-range": { type: "string", multiple: true },
      exact: { type: "boolean" },
      out: { type: "string" },
      layers: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("split needs one model file");
  if (statSync(positionals[0], { throwIfNoEntry: false })?.isDirectory()) return splitLlm(positionals[0], values);
  const file = positionals[0];
  const cutsArg = numbers(values.cuts, "--cuts");
  const speeds = numbers(values.speeds, "--speeds");
  const stages = values.stages !== undefined ? Number(values.stages) : cutsArg ? cutsArg.length + 1 : speeds ? speeds.length : 2;
  if (!Number.isInteger(stages) || stages < 1) throw new UsageError(`--stages expects a positive integer; got ${values.stages}`);
  if (cutsArg && cutsArg.length !== stages - 1) throw new UsageError(`--cuts gives ${cutsArg.length + 1} stages but --stages is ${stages}`);
  if (speeds && speeds.length !== stages) throw new UsageError(`--speeds needs ${stages} values`);
  const bar = progressBar();
  const tk = await ModelToolkit.load(file, { probeInputs: shapes(values.shape), onProgress: bar });
  const cost = (values.cost ?? "flops") as "flops" | "latency";
  if (cost !== "flops" && cost !== "latency") throw new UsageError(`--cost expects flops or latency; got ${values.cost}`);
  if (cost === "latency" && !cutsArg) {
    bar({ phase: "measure", done: 0, total: 1, detail: "profiling node latency" });
    await tk.measureLatency();
    bar({ phase: "measure", done: 1, total: 1 });
  }
  const plan = cutsArg
    ? tk.describe(cutsArg, speeds)
    : tk.plan({ stages, speeds, cost, slack: values.slack ? Number(values.slack) : undefined });
  const dimRanges = (values["dim-range"] ?? []).map(parseDimRange);
  const res = tk.split(plan.cuts, {
    runtime: values.exact ? { graphOptimizationLevel: "disabled", tolerance: 0 } : {},
    dimRanges,
    onProgress: bar,
  });
  bar({ phase: "bounds", done: 0, total: 1, detail: "running the model at the ends of its request bounds" });
  await tk.checkBounds(res.manifest.model.inputBounds!).catch((err: Error) => {
    throw new UsageError(`${err.message}\ndeclare the dims the model runs at with --dim-range <input>:<axis>=<min>..<max>[/<step>]`);
  });
  bar({ phase: "bounds", done: 1, total: 1 });
  const out = values.out ?? join(dirname(file), `${basename(file, ".onnx")}.${stages}stages`);
  const path = await tk.write(out, res, bar);
  bar.end();
  printManifest(res.manifest);
  console.log(`\nwrote ${path}\nmanifest hash ${res.hash}`);
  return 0;
}

function printManifest(m: Manifest): void {
  const rows: Array<Array<string | number>> = [["stage", "nodes", "FLOPs", "share", "inputs", "outputs", "forward", "out bytes", "file"]];
  for (const s of m.stages) {
    rows.push([
      s.index,
      `${s.nodes[0]}..${s.nodes[1]}`,
      formatCount(s.flops),
      `${(100 * s.costShare).toFixed(1)}%`,
      s.inputs.length,
      s.outputs.length,
      s.forward.length,
      formatBytes(s.crossingBytes),
      `${s.file} (${formatBytes(s.bytes)})`,
    ]);
  }
  console.log(table(rows));
  for (const [name, dims] of Object.entries(m.model.inputBounds ?? {}))
    console.log(
      `request ${name}: [${dims.map(([lo, hi, step]) => (lo === hi ? `${lo}` : `${lo}..${hi}${step ? `/${step}` : ""}`)).join(", ")}]`,
    );
  for (const h of m.hops)
    console.log(
      `hop ${h.index} (cut ${h.cut}): ${h.tensors.map((t) => `${t.name} ${t.dtype}[${fmtShape(t.shape)}]${t.producedBy < h.index ? " (forwarded)" : ""}`).join(", ")} = ${formatBytes(h.bytes)}`,
    );
}

function fmtShape(s: Array<number | string> | null): string {
  return s === null ? "?" : s.map((d) => (d === "" ? "?" : d)).join(",");
}

async function backend(target: string, closers: Array<() => Promise<void>>): Promise<InferFn> {
  if (target.endsWith(".json")) {
    const pipe = await ChainedPipeline.open(target);
    closers.push(() => pipe.close());
    return async (bag) => (await pipe.run(bag)).outputs;
  }
  const r = await StageRunner.create(target);
  closers.push(() => r.close());
  return (bag) => r.run(bag);
}

async function ocr(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      text: { type: "string" },
      det: { type: "string" },
      cls: { type: "string" },
      rec: { type: "string" },
      "no-det": { type: "boolean" },
      "no-cls": { type: "boolean" },
    },
  });
  if ((positionals.length === 1) === (values.text !== undefined)) throw new UsageError("ocr needs one image file or --text");
  const image = values.text !== undefined ? await renderText(values.text.split("\\n")) : new Uint8Array(await readFile(positionals[0]));
  const closers: Array<() => Promise<void>> = [];
  try {
    const t0 = performance.now();
    const b: OcrBackends = {
      rec: await backend(values.rec ?? OCR_MODELS.rec, closers),
      det: values["no-det"] ? undefined : await backend(values.det ?? OCR_MODELS.det, closers),
      cls: values["no-cls"] ? undefined : await backend(values.cls ?? OCR_MODELS.cls, closers),
    };
    const t1 = performance.now();
    const lines = await recognize(b, image);
    const t2 = performance.now();
    for (const l of lines) {
      const box = l.box
        ? ` at x=${l.box.x.toFixed(0)} y=${l.box.y.toFixed(0)} w=${l.box.width.toFixed(0)} h=${l.box.height.toFixed(0)}`
        : "";
      console.log(`${JSON.stringify(l.text)} (confidence ${l.confidence.toFixed(3)}${l.angle ? ", rotated 180°" : ""})${box}`);
    }
    console.log(`${lines.length} line(s); load ${(t1 - t0).toFixed(0)} ms, recognise ${(t2 - t1).toFixed(0)} ms`);
    return 0;
  } finally {
    await Promise.all(closers.map((c) => c()));
  }
}

type Task = "rec" | "det" | "cls" | "raw";

async function runModel(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      image: { type: "string" },
      random: { type: "boolean" },
      task: { type: "string" },
      shape: { type: "string", multiple: true },
      repeat: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("run needs a manifest.json or a model file");
  if (!values.image === !values.random) throw new UsageError("give exactly one of --image or --random");
  const target = positionals[0];
  const repeat = Math.max(1, Number(values.repeat ?? 1));
  let infer: (bag: TensorBag) => Promise<PipelineResult>;
  let close: () => Promise<void>;
  let name: string;
  let inputs: Manifest["model"]["inputs"];
  let profile: Record<string, number[]> = {};
  if (target.endsWith(".json")) {
    const m = await loadManifest(target);
    const pipe = await ChainedPipeline.open(m);
    infer = (bag) => pipe.run(bag, { hashes: true });
    close = () => pipe.close();
    name = m.manifest.model.name;
    inputs = m.manifest.model.inputs;
    profile = m.manifest.model.profileInputs;
    console.log(`manifest ${m.hash}: ${m.manifest.model.name}, ${m.manifest.stages.length} stages`);
  } else {
    const r = await StageRunner.create(new Uint8Array(await readFile(target)), { label: "model" });
    infer = async (bag) => {
      const t0 = performance.now();
      const d = await r.runDetailed(bag);
      return {
        outputs: d.bag,
        stages: [{ stage: 0, ms: d.totalMs, computeMs: d.computeMs, inputHash: bagHash(bag), outputHash: bagHash(d.bag) }],
        totalMs: performance.now() - t0,
      };
    };
    close = () => r.close();
    name = basename(target, ".onnx");
    inputs = r.inputs;
  }
  try {
    const task: Task =
      (values.task as Task | undefined) ??
      (values.random ? "raw" : /det/.test(name) ? "det" : /cls/.test(name) ? "cls" : /rec/.test(name) ? "rec" : "raw");
    let bag: TensorBag;
    let det: ReturnType<typeof detPreprocess> | undefined;
    if (values.image) {
      const img = await decodeImage(values.image);
      if (task === "det") bag = { x: (det = detPreprocess(img)).tensor };
      else if (task === "cls") bag = { x: clsPreprocess(img) };
      else if (task === "rec") bag = { x: recPreprocess(img) };
      else throw new UsageError(`--image needs --task rec|det|cls for model ${name}`);
    } else {
      const given = shapes(values.shape) ?? {};
      bag = {};
      inputs.forEach((t, i) => {
        const dims = given[t.name] ?? profile[t.name] ?? (t.shape ?? []).map((d, k) => (typeof d === "number" ? d : k === 0 ? 1 : 64));
        if (t.dtype !== "float32") throw new UsageError(`--random supports float32 inputs only (${t.name} is ${t.dtype})`);
        bag[t.name] = randomTensor(dims, i + 1);
      });
    }
    let res!: PipelineResult;
    const times: number[] = [];
    for (let i = 0; i < repeat; i++) {
      res = await infer(bag);
      times.push(res.totalMs);
    }
    const out = Object.values(res.outputs);
    if (task === "rec") console.log(`text: ${JSON.stringify(ctcDecode(out[0], loadCharset())[0].text.trim())}`);
    else if (task === "cls") console.log(`direction: ${JSON.stringify(clsDecode(out[0])[0])}`);
    else if (task === "det")
      for (const b of dbPostprocess(out[0], det!))
        console.log(
          `box x=${b.x.toFixed(0)} y=${b.y.toFixed(0)} w=${b.width.toFixed(0)} h=${b.height.toFixed(0)} score=${b.score.toFixed(3)}`,
        );
    for (const [k, t] of Object.entries(res.outputs)) console.log(`output ${k}: ${t.dtype}[${t.dims.join(",")}]`);
    console.log(
      table([
        ["stage", "ms", "compute ms", "input hash", "output hash"],
        ...res.stages.map((s) => [s.stage, s.ms.toFixed(2), s.computeMs.toFixed(2), s.inputHash ?? "", s.outputHash ?? ""]),
      ]),
    );
    const sorted = [...times].sort((a, b) => a - b);
    console.log(
      `total ${res.totalMs.toFixed(2)} ms${repeat > 1 ? ` (min ${sorted[0].toFixed(2)}, median ${sorted[Math.floor(repeat / 2)].toFixed(2)} over ${repeat})` : ""}`,
    );
    return 0;
  } finally {
    await close();
  }
}
