// The chat page in Debian's chromium against the real stack: a hardhat node with every contract,
// a language model (the tiny decoder split in 2 block stages) published on chain with task
// text-generation, two provider processes serving one block stage each (the first also runs the
// gateway: embeddings, head, sampling), `next start` with that gateway behind /api/gateway. A
// message typed into the page streams its reply into the conversation; the reply equals the
// gateway's own answer to the same conversation. Screenshot in test-results/screenshots/.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { freePort } from "../../scripts/lib/chain.ts";
import { publishModel, STAGE_PRICE } from "../../scripts/demo/market.ts";
import { CHROMIUM, CHROMIUM_ARGS, waitForHttp } from "../../scripts/lib/browser.ts";
import { ShardMeshClient } from "../../node/src/sdk/index.ts";
import { startEnv, stopEnv, type Env } from "../e2e/harness.ts";
import { startProviderProc, until } from "../node/mesh/procs.ts";
import { tinySplit, tempDir } from "../llm/helpers.ts";

const root = new URL("../..", import.meta.url).pathname;
const shots = join(root, "test-results/screenshots");
describe("chat page in chromium against a language model on the mesh", { timeout: 240_000 }, () => {
  let env: Env;
  let llmId: bigint;
  let gateway: ShardMeshClient;
  let next: ChildProcess;
  let context: BrowserContext;
  let page: Page;
  let baseUrl: string;
  const pageErrors: string[] = [];

  before(async () => {
    assert.ok(existsSync(join(root, "web/.next/BUILD_ID")), "web/.next is missing: scripts/pretest-web.ts builds it (npm test -- web)");
    mkdirSync(shots, { recursive: true });
    env = await startEnv();
    const split = await tinySplit([2, 2]);
    const model = {
      dir: "",
      manifestPath: split.path,
      manifestHash: split.hash,
      onnxSha256: `0x${split.manifest.model.sha256}` as const,
      stageFiles: [],
    };
    llmId = await publishModel(
      { chain: env.chain, publicClient: env.publicClient, deployment: env.deployment, deploymentFile: "" },
      model,
      {
        name: "Tiny Llama",
        task: "text-generation",
        description: "the tiny random-weight decoder",
        license: "MIT",
        input: "text",
      },
    );
    const common = (stage: number) => [
      "--model",
      `${llmId}=${split.path}:${stage}:${STAGE_PRICE}`,
      "--data-dir",
      tempDir("chat-prov"),
      "--key-file",
      `${tempDir("chat-key")}/node.key`,
      "--no-dht",
    ];
    const gw = await startProviderProc([...common(0), "--gateway-port", String(await freePort())]);
    env.procs.push(gw);
    env.procs.push(await startProviderProc([...common(1), "--no-gateway", "--bootstrap", gw.addr]));
    gateway = new ShardMeshClient(gw.gateway!);
    await until("both block stages announced", async () => {
      const m = (await gateway.models()).models.find((x) => x.id === llmId.toString());
      return m?.stages.every((s) => s.providers.length === 1) ?? false;
    });
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    next = spawn(process.execPath, [join(root, "node_modules/next/dist/bin/next"), "start", "-H", "127.0.0.1", "-p", String(port)], {
      cwd: join(root, "web"),
      stdio: ["ignore", "ignore", "inherit"],
      env: {
        ...process.env,
        NEXT_TELEMETRY_DISABLED: "1",
        SHARDMESH_RPC_URL: env.chain.url,
        SHARDMESH_DEPLOYMENTS_DIR: join(env.work, "deployments"),
        SHARDMESH_GATEWAY_URL: gw.gateway!,
      },
    });
    await waitForHttp(`${baseUrl}/`, next, 60_000);
    context = await chromium.launchPersistentContext(join(env.work, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (e) => pageErrors.push(e.message));
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (next && next.exitCode === null) {
      const exited = new Promise((r) => next.once("exit", r));
      next.kill("SIGTERM");
      await exited;
    }
    await stopEnv(env);
  });

  it("streams a reply into the conversation, and the next turn carries the history", async () => {
    await page.goto(`${baseUrl}/models/${llmId}`);
    await page.getByTestId("chat-model").waitFor();
    assert.equal(await page.getByTestId("try-model").count(), 0, "a language model gets the chat, not the image trial");
    await page.getByTestId("open-job").waitFor();
    await page.getByTestId("chat-temperature").fill("0");
    await page.getByTestId("chat-max-tokens").fill("24");
    await page.getByTestId("chat-input").fill("Tell me about the whale.");
    // The reply appears while it streams (the streaming line), then lands in the log.
    const sawStreaming = page
      .getByTestId("chat-streaming")
      .waitFor({ timeout: 60_000 })
      .then(() => true);
    await page.getByTestId("chat-send").click();
    await page.locator('[data-testid="chat-log"] [data-role="assistant"]').waitFor({ timeout: 60_000 });
    assert.equal(await sawStreaming, true);
    const shown = (await page.locator('[data-testid="chat-log"] [data-role="assistant"]').innerText()).replace(/^Model:\s*/, "");
    const expected = await gateway.chat({
      model: llmId.toString(),
      messages: [{ role: "user", content: "Tell me about the whale." }],
      max_tokens: 24,
      temperature: 0,
    });
    assert.equal(shown.trim(), expected.text.trim());
    await page.screenshot({ path: join(shots, "chat.png"), fullPage: true });
    // Second turn: the page sends the whole conversation.
    await page.getByTestId("chat-input").fill("And Ahab?");
    await page.getByTestId("chat-send").click();
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="chat-log"] [data-role="assistant"]').length === 2,
      undefined,
      {
        timeout: 60_000,
      },
    );
    assert.equal(await page.getByTestId("chat-error").count(), 0);
    assert.deepEqual(pageErrors, []);
  });
});
