// `shardmesh generate`: text from a language model, streamed as it is generated. With
// --gateway, through a gateway's OpenAI-compatible API (the mesh); with --manifest, the split
// decoder runs on this machine (embed and head here, each block stage in its own stateful
// runner, chained as on the mesh).
import { parseArgs } from "node:util";
import { DecoderGateway, DecoderStageRunner, promptIds, type GenerateResult } from "../llm/index.ts";
import { loadManifest } from "../inference/manifest.ts";
import { ShardMeshClient, type GenerationOptions } from "../sdk/index.ts";
import { privateKeyToAccount } from "viem/accounts";
import { defaultDeploymentsDir, readDeployment } from "../chain/deployments.ts";
import { shardMeshDomain } from "../receipts/eip712.ts";
import { parseJobId } from "../jobs/admission.ts";
import { signGenerationRequest } from "../jobs/session.ts";

export const summary = "generate text with a language model, streamed (see also `shardmesh chat`)";

export const GENERATE_OPTIONS = {
  gateway: { type: "string" },
  model: { type: "string" },
  manifest: { type: "string" },
  "max-tokens": { type: "string" },
  temperature: { type: "string" },
  "top-p": { type: "string" },
  seed: { type: "string" },
  stop: { type: "string", multiple: true },
  stats: { type: "boolean" },
  job: { type: "string" },
  "session-key": { type: "string" },
  nonce: { type: "string" },
  deployments: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

const USAGE = `usage:
  shardmesh generate (--gateway <url> --model <id> | --manifest <split decoder>/manifest.json) [options] <prompt>
  shardmesh chat     (--gateway <url> --model <id> | --manifest <split decoder>/manifest.json) [options] <message>

  --gateway URL      a gateway serving the model on the mesh (OpenAI-compatible API)
  --model ID         the model id on that gateway (see GET /v1/models)
  --manifest FILE    run a split decoder on this machine instead

  --max-tokens N     tokens to generate at most (default 64)
  --temperature T    0 = greedy (default); up to 2
  --top-p P          nucleus mass in (0, 1] (default 1)
  --seed N           sampler seed: the same seed gives the same text
  --stop S           stop sequence (repeatable, up to 4)
  --stats            print time to first token, decode tokens/s and bytes per hop

  paid, under a job opened on the model's quotes (units are tokens: prompt + max tokens reserved,
  prompt + generated tokens charged):
  --job ID           the job's id (with --gateway)
  --session-key HEX  the job's session key (or SHARDMESH_SESSION_KEY); signs each request
  --nonce N          the request's number in the job, signed with it and answered once (default:
                     the number of requests the gateway answered in the job)
  --deployments DIR  where the chain's deployment files are (default ./deployments); the chain is
                     the gateway's (GET /v1/health)`;

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

/** The SDK's job option from --job/--session-key: requests signed for the gateway's chain. */
async function jobOption(sm: ShardMeshClient, values: GenerateValues): Promise<GenerationOptions["job"]> {
  if (!values.job) return undefined;
  const jobId = parseJobId(values.job);
  const key = values["session-key"] ?? process.env.SHARDMESH_SESSION_KEY;
  if (!key || !/^0x[0-9a-fA-F]{64}$/.test(key)) throw new UsageError("--job needs --session-key 0x<64 hex> (or SHARDMESH_SESSION_KEY)");
  const { chainId } = await sm.health();
  if (chainId === null) throw new UsageError("the gateway has no chain: paid requests need one");
  const deployment = readDeployment(chainId, values.deployments ?? defaultDeploymentsDir());
  const domain = shardMeshDomain(chainId, deployment.contracts.JobMarket.address);
  const account = privateKeyToAccount(key as `0x${string}`);
  // The request's number in the job: by default the count the gateway answered (requests numbered 0, 1, 2, …).
  const nonce = values.nonce !== undefined ? Number(values.nonce) : (await sm.job(jobId.toString())).served;
  if (!Number.isSafeInteger(nonce) || nonce < 0) throw new UsageError("--nonce must be a non-negative integer");
  return { jobId: jobId.toString(), nonce, sign: (body, n) => signGenerationRequest(account, domain, jobId, n, body) };
}

/** Runs one generation from parsed options; `chat` wraps the text in the model's chat template. */
export async function generateCli(values: GenerateValues, text: string, chat: boolean): Promise<number> {
  const num = (v: string | undefined, d: number) => (v === undefined ? d : Number(v));
  if (values.gateway) {
    if (!values.model) throw new UsageError("--gateway needs --model");
    const sm = new ShardMeshClient(values.gateway);
    const params = {
      model: values.model,
      max_tokens: num(values["max-tokens"], 64),
      temperature: num(values.temperature, 0),
      top_p: num(values["top-p"], 1),
      ...(values.seed !== undefined ? { seed: num(values.seed, 0) } : {}),
      ...(values.stop ? { stop: values.stop } : {}),
    };
    const t0 = performance.now();
    let first = 0;
    const onText = (d: string) => {
      first ||= performance.now();
      process.stdout.write(d);
    };
    const job = await jobOption(sm, values);
    const r = chat
      ? await sm.chat({ ...params, messages: [{ role: "user", content: text }] }, { onText, job })
      : await sm.complete({ ...params, prompt: text }, { onText, job });
    process.stdout.write("\n");
    if (r.paid)
      console.error(`job ${r.paid.jobId} request ${r.paid.index}: ${r.paid.units} units (tokens) charged of ${r.paid.reserved} reserved`);
    if (values.stats) {
      const t1 = performance.now();
      console.error(
        `${r.usage.prompt_tokens} prompt + ${r.usage.completion_tokens} generated tokens (${r.finishReason}); first text after ${(first - t0).toFixed(0)} ms; ` +
          `${r.usage.completion_tokens > 1 ? (((r.usage.completion_tokens - 1) * 1000) / (t1 - first)).toFixed(1) : "-"} tokens/s after it`,
      );
    }
    return 0;
  }
  if (!values.manifest) throw new UsageError("give --gateway and --model, or --manifest (a split decoder's manifest.json)");
  if (values.job) throw new UsageError("--job pays a gateway: it needs --gateway");
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
