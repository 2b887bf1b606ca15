// `npm run demo`: the whole marketplace on this machine (see scripts/demo/market.ts).
//   DEMO_EXIT_WHEN_READY=1   stop everything once the first request succeeded (used by tests)
//   DEMO_NO_WEB=1            skip the web app
//   DEMO_LLM=tiny            the tiny random-weight language model instead of the trained one
//   CHAIN_PORT / GATEWAY_PORT / WEB_PORT   preferred ports (default 8545 / 8600 / 3000 when free)
import { mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { DEV_KEYS, tokens } from "./lib/chain.ts";
import { localWallet, startDemoChain } from "./lib/demo.ts";
import { ShardMeshClient } from "../node/src/sdk/index.ts";
import {
  STAGE_PRICE,
  choosePort,
  firstRequest,
  publishRecogniser,
  root,
  splitRecogniser,
  startProvider,
  startWeb,
  buildWeb,
  waitForMesh,
  type ProviderSpec,
  type RunningProvider,
} from "./demo/market.ts";
import { onSignalExit, stopAll, stopChildrenOnExit } from "./lib/procs.ts";
import { buildContracts } from "./lib/build.ts";
import { exitOnHelp } from "./lib/usage.ts";
import { paidJob } from "./demo/buyer.ts";
import { demoWindows, mineEvery } from "./demo/chain.ts";
import { paidGeneration, prepareLanguageModel, publishLanguageModel, streamedGeneration } from "./demo/llm.ts";

const log = (m: string) => console.log(m);
const step = (n: number, title: string) => console.log(`\n[${n}/7] ${title}`);
const env = (k: string) => (process.env[k] ? Number(process.env[k]) : undefined);

const USAGE = `usage: npm run demo      the whole marketplace on this machine, on 127.0.0.1 (README: Quick start)
  Ctrl-C (or SIGTERM to npm) stops everything it started, as does any failure.
  environment:
    DEMO_NO_WEB=1            skip the web app
    DEMO_LLM=tiny            a random tiny language model instead of training one
    DEMO_EXIT_WHEN_READY=1   stop everything once the first request succeeded (tests)
    CHAIN_PORT, GATEWAY_PORT, WEB_PORT   preferred ports (default 8545 / 8600 / 3000 when free)`;

async function main(): Promise<void> {
  exitOnHelp(USAGE);
  const work = join(root, ".shardmesh/demo");
  mkdirSync(work, { recursive: true });
  // Ctrl-C is how the demo is meant to stop: exit 0 then. Every child (chain, providers, web
  // app) is stopped on every way out, errors included (scripts/lib/procs.ts).
  stopChildrenOnExit({ exitCode: 0 });
  onSignalExit(() => log("\nstopping providers, web app and chain …"));
  const shutdown = async (code: number) => {
    log("\nstopping providers, web app and chain …");
    await stopAll();
    process.exit(code);
  };

  try {
    step(1, "local chain and contracts");
    // The long one-off work runs side by side from the start: the language model trains (in
    // this process) and the web app builds (a child) while the contracts compile.
    const llmReady = prepareLanguageModel(work, log);
    const webBuilt = process.env.DEMO_NO_WEB === "1" ? Promise.resolve() : buildWeb(join(work, "web-build.log"), log);
    for (const p of [llmReady, webBuilt]) p.catch(() => {}); // awaited below; a failure surfaces there
    let webDone = false;
    void webBuilt.then(() => (webDone = true));
    await buildContracts(log);
    const demo = await startDemoChain(log, env("CHAIN_PORT") ?? (await choosePort(8545)));
    await demoWindows(demo, log);

    step(2, "models: split and publish (the recogniser and a language model)");
    const model = await splitRecogniser(join(work, "models/ocr-rec"), log);
    const modelId = await publishRecogniser(demo, model, log);
    const llm = await llmReady;
    const llmId = await publishLanguageModel(demo, llm, log);

    step(3, "providers: 4 nodes on 127.0.0.1, 2 per stage");
    const gatewayPort = env("GATEWAY_PORT") ?? (await choosePort(8600));
    const specs: ProviderSpec[] = [
      {
        name: "provider-1",
        keyIndex: 1,
        stage: 0,
        manifestOnly: false,
        gatewayPort,
        extraModels: [`${llmId}=${llm.manifestPath}:0:${STAGE_PRICE}`],
      },
      { name: "provider-2", keyIndex: 2, stage: 1, manifestOnly: false, extraModels: [`${llmId}=${llm.manifestPath}:1:${STAGE_PRICE}`] },
      { name: "provider-3", keyIndex: 3, stage: 0, manifestOnly: true },
      { name: "provider-4", keyIndex: 4, stage: 1, manifestOnly: true },
    ];
    const providers: RunningProvider[] = [];
    const first = await startProvider(demo, modelId, model, specs[0], join(work, "nodes"), [], log);
    providers.push(first);
    const bootstrap = first.addrs
      .filter((a) => a.includes("/127.0.0.1/"))
      .map((a) => (a.includes("/p2p/") ? a : `${a}/p2p/${first.peerId}`));
    for (const spec of specs.slice(1)) providers.push(await startProvider(demo, modelId, model, spec, join(work, "nodes"), bootstrap, log));
    const gateway = first.gateway!;
    const client = new ShardMeshClient(gateway);
    await waitForMesh(client, modelId, 2, 2, 30_000);
    await waitForMesh(client, llmId, 2, 1, 30_000);
    log(`  the gateway routes both stages to 2 providers each`);

    step(4, "a buyer's first request through the mesh");
    const r = await firstRequest(client, modelId);
    log(`  rendered "${r.expected}" → recognised "${r.text}"`);
    for (const s of r.stages) log(`  stage ${s.stage} on ${s.peerId.slice(0, 16)}… ${s.ms.toFixed(1)} ms`);
    if (r.text !== r.expected) throw new Error(`the mesh recognised "${r.text}", expected "${r.expected}"`);
    log(
      `  and a language model, streamed token by token (gateway: embed + head + sampling; provider-1 and provider-2: one block stage each):`,
    );
    await streamedGeneration(client, llmId, log);

    step(5, "a buyer's paid jobs: quotes, escrow, signed requests, receipt, spot check, settlement (per inference, then per token)");
    const job = await paidJob(
      {
        chainUrl: demo.chain.url,
        publicClient: demo.publicClient,
        deployment: demo.deployment,
        gateway: client,
        modelId,
        buyerKey: 6,
        providers: specs.map((s) => localWallet(demo.chain.url, s.keyIndex).account.address),
      },
      log,
    );
    const earned = job.credits.reduce((sum, c) => sum + c.amount, 0n);
    const owed = BigInt(job.texts.length) * 2n * STAGE_PRICE;
    if (earned !== owed)
      throw new Error(`providers earned ${tokens(earned)}, expected ${tokens(owed)} (${job.texts.length} inferences × 2 stages × price)`);
    log(`  providers earned ${tokens(earned)} in all = ${job.texts.length} inferences × 2 stages × ${tokens(STAGE_PRICE)}`);
    log("  and a paid, streamed generation: the language model's job is priced per token");
    const gen = await paidGeneration(
      {
        chainUrl: demo.chain.url,
        publicClient: demo.publicClient,
        deployment: demo.deployment,
        gateway: client,
        modelId: llmId,
        buyerKey: 7,
        providers: specs.slice(0, 2).map((s) => localWallet(demo.chain.url, s.keyIndex).account.address),
      },
      log,
    );
    const earnedLlm = gen.receipt.credits.reduce((sum, c) => sum + c.amount, 0n);
    const owedLlm = BigInt(gen.receipt.units) * 2n * STAGE_PRICE;
    if (earnedLlm !== owedLlm)
      throw new Error(
        `providers earned ${tokens(earnedLlm)} for the generation, expected ${tokens(owedLlm)} (${gen.receipt.units} tokens × 2 stages × price)`,
      );
    log(`  providers earned ${tokens(earnedLlm)} = ${gen.receipt.units} tokens × 2 stages × ${tokens(STAGE_PRICE)}`);
    // From here on chain time follows the clock, so receipts opened in the web app settle by themselves.
    const ticker = mineEvery(demo.chain.url, 2000);

    let webUrl: string | null = null;
    if (process.env.DEMO_NO_WEB !== "1") {
      step(6, "web app");
      if (!webDone) log("  waiting for the web app's build to finish …");
      await webBuilt;
      const web = await startWeb(
        { rpcUrl: demo.chain.url, deploymentsDir: dirname(demo.deploymentFile), gatewayUrl: gateway },
        env("WEB_PORT") ?? (await choosePort(3000)),
      );
      webUrl = web.url;
    } else step(6, "web app skipped (DEMO_NO_WEB=1)");

    step(7, "ready");
    const buyer = localWallet(demo.chain.url, 5).account.address;
    log(`  chain     ${demo.chain.url}  (chain id 31337, contracts in ${demo.deploymentFile})`);
    log(`  gateway   ${gateway}  (OpenAPI at ${gateway}/openapi.json; try: npx shardmesh mesh status --gateway ${gateway})`);
    if (webUrl) log(`  web app   ${webUrl}`);
    log(`  a funded buyer for your wallet: ${buyer}, private key ${DEV_KEYS[5]} (a public dev key: local chain only)`);
    log(`  providers ${providers.map((p) => `${p.spec.name}=stage ${p.spec.stage}`).join(", ")}`);
    log(
      `  language model ${llmId}: npx shardmesh chat --gateway ${gateway} --model ${llmId} 'Who is Ahab?'  (or any OpenAI client at ${gateway}/v1)`,
    );
    if (process.env.DEMO_EXIT_WHEN_READY === "1") {
      clearInterval(ticker);
      return shutdown(0);
    }
    log("\nCtrl-C stops everything.");
  } catch (err) {
    console.error(`\ndemo failed: ${(err as Error).message}`);
    await shutdown(1);
  }
}

void main();
