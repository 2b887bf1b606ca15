// The chat page in Debian's chromium against the real stack: a hardhat node with every contract,
// a language model (the tiny decoder split in 2 block stages) published on chain with task
// text-generation, two provider processes serving one block stage each (the first also runs the
// gateway: embeddings, head, sampling), staked and bound on chain, `next start` with that gateway
// behind /api/gateway, an injected test wallet. A message typed into the page streams its reply
// into the conversation; the reply equals the gateway's own answer to the same conversation.
// Paid: the buyer opens a job on the model's quotes (units = tokens) and the page holds its
// session key; chatting under the job signs each turn with that key (no wallet prompt), the
// gateway charges the job the turn's tokens, and the page shows them, the job's tokens used/left
// and the cost. Screenshots in test-results/screenshots/.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { toHex } from "viem";
import { peerIdFromString } from "@libp2p/peer-id";
import { DEV_KEYS, freePort } from "../../scripts/lib/chain.ts";
import { localWallet } from "../../scripts/lib/demo.ts";
import { openJob } from "../../scripts/demo/buyer.ts";
import { injectWallet, type TestWallet } from "./wallet.ts";
import { publishModel, STAGE_PRICE } from "../../scripts/demo/market.ts";
import { CHROMIUM, CHROMIUM_ARGS, waitForHttp } from "../../scripts/lib/browser.ts";
import { ShardMeshClient } from "../../node/src/sdk/index.ts";
import { startEnv, stopEnv, type Env } from "../e2e/harness.ts";
import { startProviderProc, until } from "../node/mesh/procs.ts";
import { tinySplit, tempDir } from "../llm/helpers.ts";

const BUYER_KEY = 7;

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
  let wallet: TestWallet;
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
    // Providers 1 and 2 stake and bind themselves (--register), so they can quote for jobs.
    const common = (stage: number) => [
      "--model",
      `${llmId}=${split.path}:${stage}:${STAGE_PRICE}`,
      "--data-dir",
      tempDir("chat-prov"),
      "--key-file",
      `${tempDir("chat-key")}/node.key`,
      "--staking-key",
      DEV_KEYS[stage + 1],
      "--rpc",
      env.chain.url,
      "--register",
      "--no-dht",
    ];
    const gw = await startProviderProc([...common(0), "--gateway-port", String(await freePort())], 120_000);
    env.procs.push(gw);
    const second = await startProviderProc([...common(1), "--no-gateway", "--bootstrap", gw.addr], 120_000);
    env.procs.push(second);
    gateway = new ShardMeshClient(gw.gateway!);
    await until("both block stages announced", async () => {
      const m = (await gateway.models()).models.find((x) => x.id === llmId.toString());
      return m?.stages.every((s) => s.providers.length === 1) ?? false;
    });
    await until(
      "providers bound on chain",
      async () => {
        for (const [i, p] of [gw, second].entries()) {
          const bound = await env.read.staking.read.providerOfPeer([toHex(peerIdFromString(p.peerId).toMultihash().bytes)]);
          if (bound !== localWallet(env.chain.url, i + 1).account.address) return false;
        }
        return true;
      },
      60_000,
      250,
    );
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
    wallet = await injectWallet(context, { rpcUrl: env.chain.url, privateKey: DEV_KEYS[BUYER_KEY] });
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
  it("chats paid under the buyer's job: each turn signed by the session key in the page (no wallet prompt), charged in tokens and shown", async () => {
    const sessionKey = generatePrivateKey();
    const buyer = localWallet(env.chain.url, BUYER_KEY).account.address;
    const setup = {
      chainUrl: env.chain.url,
      publicClient: env.publicClient,
      deployment: env.deployment,
      gateway,
      modelId: llmId,
      buyerKey: BUYER_KEY,
      providers: [],
    };
    const job = await openJob(setup, 300, "tokens", () => {}, sessionKey);
    const jobId = job.jobId.toString();
    // The page keeps the job's session key as OpenJob saves it.
    await page.goto(`${baseUrl}/models/${llmId}`);
    await page.evaluate(
      ([k, v]) => window.localStorage.setItem(k, v),
      [
        `shardmesh:session:${env.deployment.chainId}:${jobId}`,
        JSON.stringify({ address: privateKeyToAccount(sessionKey).address, privateKey: sessionKey }),
      ],
    );
    await page.reload();
    await page.getByTestId("connect").click();
    await page.getByRole("menuitem", { name: /E2E Test Wallet/ }).click();
    await page.getByTestId("wallet-address").waitFor();
    assert.equal(await page.getByTestId("wallet-address").getAttribute("title"), buyer);
    await page.getByTestId("chat-job").locator(`option[value="${jobId}"]`).waitFor({ state: "attached", timeout: 60_000 });
    await page.getByTestId("chat-job").selectOption(jobId);
    await page.waitForFunction(() => document.querySelector('[data-testid="chat-job-units"]')?.getAttribute("data-used") === "0");
    const prompts = () => wallet.requests.filter((m) => m === "eth_sendTransaction" || m.startsWith("eth_sign")).length;
    const promptsBefore = prompts();

    await page.getByTestId("chat-temperature").fill("0");
    await page.getByTestId("chat-max-tokens").fill("12");
    await page.getByTestId("chat-input").fill("Call me Ishmael.");
    await page.getByTestId("chat-send").click();
    await page.getByTestId("chat-turn-cost").waitFor({ timeout: 60_000 });
    const units = Number(await page.getByTestId("chat-turn-cost").getAttribute("data-units"));
    assert.ok(units > 0, "the turn used tokens");
    // The gateway charged the job exactly what the page shows, under the session key's signature.
    const pending = await gateway.receipt(jobId);
    assert.equal(pending.count, 1);
    assert.equal(pending.units, units);
    await page.waitForFunction(
      (u) => document.querySelector('[data-testid="chat-job-units"]')?.getAttribute("data-used") === String(u),
      units,
    );
    assert.equal(await page.getByTestId("chat-job-units").getAttribute("data-left"), String(300 - units));
    // Cost: tokens × (stage 0 + stage 1 price), in SHARD.
    assert.match(await page.getByTestId("chat-turn-cost").innerText(), new RegExp(`^Paid under job #${jobId}: ${units} tokens .* SHARD`));
    assert.equal(prompts(), promptsBefore, "no wallet prompt for a paid chat turn");
    assert.equal(await page.getByTestId("chat-error").count(), 0);
    // The turn was signed for the job's first nonce, which the page keeps beside the session key
    // (the next turn, after a reload too, signs nonce 1), and logged for the receipt check.
    const kept = (k: string) => page.evaluate((key) => window.localStorage.getItem(key), k);
    assert.equal(await kept(`shardmesh:nonce:${env.deployment.chainId}:${jobId}`), "1");
    const [leaf] = pending.leaves.leaves;
    assert.equal(leaf[0], "0", "the receipt's leaf carries the nonce the page signed");
    assert.deepEqual(JSON.parse((await kept(`shardmesh:answers:${env.deployment.chainId}:${jobId}`))!), [
      [0, { requestHash: leaf[2], responseHash: leaf[3], units, nonce: 0 }],
    ]);
    await page.screenshot({ path: join(shots, "chat-paid.png"), fullPage: true });
    assert.deepEqual(pageErrors, []);
  });
});
