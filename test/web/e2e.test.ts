// The dApp end to end in Debian's chromium: a local hardhat chain with every contract deployed
// (scripts/lib helpers), a model published and a provider staked, the real gateway HTTP server
// answering models and EIP-712 quotes signed by that provider, `next start` serving the
// production build, and an injected test wallet. Screenshots go to test-results/screenshots/.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { createPublicClient, http, parseEther, type Hex, type PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { freePort, startLocalChain, type LocalChain } from "../../scripts/lib/chain.ts";
import { deployAll, writeDeployment } from "../../scripts/lib/deploy.ts";
import { localWallet } from "../../scripts/lib/demo.ts";
import { seedModel, seedProvider } from "../../scripts/lib/seed.ts";
import { Gateway } from "../../node/src/gateway/server.ts";
import { shardMeshDomain, signQuote, walletSigner } from "../../node/src/receipts/index.ts";
import type { Deployment } from "../../node/src/chain/deployments.ts";
import { injectWallet, type TestWallet } from "./wallet.ts";
import { renderText } from "../../node/src/ocr/index.ts";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { providerStakingAbi } from "../../node/src/generated/abis.ts";
import { ocrBackend, type OcrBackend } from "./ocr-backend.ts";
import { prepareReceipt, submitReceipt, type PreparedReceipt } from "./settle.ts";

const root = new URL("../..", import.meta.url).pathname;
const shots = join(root, "test-results/screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

async function waitForHttp(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(2000) });
      if (res.status < 500) return;
    } catch { /* not up yet */ }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in time`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe("dApp in chromium", { timeout: 240_000 }, () => {
  let chain: LocalChain;
  let publicClient: PublicClient;
  let deployment: Deployment;
  let modelId: bigint;
  let gateway: Gateway;
  let next: ChildProcess;
  let baseUrl: string;
  let context: BrowserContext;
  let page: Page;
  let wallet: TestWallet;
  let dir: string;
  let ocr: OcrBackend;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];
  let receiptForJob: PreparedReceipt | undefined;
  let signedReceipt: { count: number; outputRoot: Hex; signature: Hex } | undefined;
  const provider = localWallet("http://127.0.0.1:1", 1).account.address; // dev account #1 serves both stages

  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const goto = async (path: string) => { await page.goto(`${baseUrl}${path}`); };

  before(async () => {
    assert.ok(existsSync(join(root, "web/.next/BUILD_ID")), "web/.next is missing: scripts/pretest-web.ts builds it (npm test -- web)");
    mkdirSync(shots, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), "shardmesh-web-e2e-"));
    chain = await startLocalChain({ port: await freePort() });
    publicClient = createPublicClient({ transport: http(chain.url) }) as PublicClient;
    deployment = await deployAll({ wallet: localWallet(chain.url, 0), publicClient });
    writeDeployment(deployment, dir);
    modelId = await seedModel(localWallet(chain.url, 0), publicClient, deployment, {
      onnxSha256: `0x${"ab".repeat(32)}`,
      manifestHash: `0x${"cd".repeat(32)}`,
      metadataURI: 'data:application/json,{"name":"PP-OCRv4 recogniser","description":"Reads a line of text"}',
      priceFloors: [parseEther("0.001"), parseEther("0.001")],
      royaltyBps: 500,
      samplingRatePpm: 10_000,
    });
    await seedProvider(localWallet(chain.url, 1), publicClient, deployment, { peerId: new Uint8Array([0, 4, 1, 2, 3, 4]), metadataURI: "" });

    // The real gateway HTTP server; its mesh side is a fixed directory with the one provider.
    const providerWallet = localWallet(chain.url, 1);
    const domain = shardMeshDomain(31337, deployment.contracts.JobMarket.address);
    let nonce = 0n;
    const stageProvider = { peerId: "12D3KooWE2eProvider", stakingAddress: provider, price: parseEther("0.001"), load: 0.2, capacity: 4, latencyMs: 41 };
    ocr = await ocrBackend(join(dir, "ocr"), stageProvider.peerId);
    gateway = new Gateway({
      peerId: "12D3KooWE2eGateway",
      chainId: 31337,
      directory: {
        models: () => [{ modelId: modelId.toString(), name: "PP-OCRv4 recogniser", stageCount: 2 }],
        providers: () => [stageProvider],
        stageCount: () => 2,
        list: () => [],
      } as never,
      router: { peerStats: () => ({}), run: (id: string, input: never) => ocr.run(id, input) } as never,
      trace: {} as never,
      hooks: {
        image: { toInput: (id, image) => ocr.image.toInput(id, image), toText: (id, output) => ocr.image.toText(id, output) },
        quotes: async (id: string, maxInferences: number) => {
          const expiry = BigInt(Math.floor(Date.now() / 1000) + 3600);
          return Promise.all([0, 1].map((stage) =>
            signQuote(walletSigner(providerWallet), domain, { modelId: BigInt(id), stage, provider, price: parseEther("0.001"), maxCount: Math.max(1000, maxInferences), expiry, nonce: ++nonce })));
        },
        // The provider's side of receipts: what the buyer's session key must sign, and its signature back.
        receiptToSign: async (jobId: string) => {
          receiptForJob = prepareReceipt(BigInt(jobId), provider);
          return { count: receiptForJob.count, outputRoot: receiptForJob.outputRoot };
        },
        submitReceipt: async (_jobId: string, body: unknown) => {
          signedReceipt = body as typeof signedReceipt;
          return { accepted: true };
        },
      },
    });
    const gatewayUrl = await gateway.start();

    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    next = spawn(process.execPath, [join(root, "node_modules/next/dist/bin/next"), "start", "-H", "127.0.0.1", "-p", String(port)], {
      cwd: join(root, "web"),
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1", SHARDMESH_RPC_URL: chain.url, SHARDMESH_DEPLOYMENTS_DIR: dir, SHARDMESH_GATEWAY_URL: gatewayUrl },
    });
    await waitForHttp(`${baseUrl}/`, next, 60_000);

    context = await chromium.launchPersistentContext(join(dir, "chromium-profile"), { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 900 } });
    const buyerKey = generatePrivateKey(); // a fresh buyer: some ETH for gas, no SHARD yet
    await fetch(chain.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "hardhat_setBalance", params: [privateKeyToAccount(buyerKey).address, "0x56BC75E2D63100000"] }) });
    wallet = await injectWallet(context, { rpcUrl: chain.url, privateKey: buyerKey });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (next && next.exitCode === null) {
      const exited = new Promise((r) => next.once("exit", r));
      next.kill("SIGTERM");
      await exited;
    }
    await gateway?.stop();
    await ocr?.close();
    await chain?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("lists the registered model with its providers and latency from the gateway", async () => {
    await goto("/");
    const card = page.getByTestId("model-card");
    await card.first().waitFor();
    assert.equal(await card.count(), 1);
    assert.match(await card.first().innerText(), /PP-OCRv4 recogniser/);
    await page.getByTestId("gateway-ok").waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="providers-now"]')?.textContent === "1");
    assert.match(await card.first().innerText(), /82 ms/); // best latency per stage (41 ms) summed over 2 stages
    await page.getByTestId("search").fill("no such model");
    assert.equal(await page.getByTestId("model-card").count(), 0);
    await page.getByTestId("search").fill("ocr");
    assert.equal(await page.getByTestId("model-card").count(), 1);
    await shot("marketplace");
  });

  it("tries the model: an uploaded image comes back as text with each stage's timing", async () => {
    await goto(`/models/${modelId}`);
    const png = Buffer.from(await renderText(["ShardMesh 2026"]));
    await page.getByTestId("try-file").setInputFiles({ name: "line.png", mimeType: "image/png", buffer: png });
    await page.getByTestId("try-result").waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId("try-text").innerText(), "ShardMesh 2026");
    assert.equal(await page.getByTestId("try-result").locator("tbody tr").count(), 2);
    await shot("model-try-it");
    await goto("/");
  });

  it("connects the injected wallet found by EIP-6963", async () => {
    await page.getByTestId("connect").click();
    await page.getByRole("menuitem", { name: /E2E Test Wallet/ }).click();
    await page.getByTestId("wallet-address").waitFor();
    assert.equal(await page.getByTestId("wallet-address").getAttribute("title"), wallet.address);
    assert.ok(wallet.requests.includes("eth_requestAccounts"));
  });

  it("asks to switch when the wallet is on a chain without ShardMesh, and switches", async () => {
    await wallet.setChain(page, 1);
    await page.getByTestId("wrong-network").waitFor();
    assert.match(await page.getByTestId("wrong-network").innerText(), /chain 1, where ShardMesh is not deployed/);
    await shot("wrong-network");
    await page.getByRole("button", { name: /Switch to Local chain \(31337\)/ }).click();
    await page.getByTestId("wrong-network").waitFor({ state: "detached" });
    assert.ok(wallet.requests.includes("wallet_switchEthereumChain"));
  });

  it("shows the decoded custom error when the buyer cannot cover the escrow", async () => {
    await goto(`/models/${modelId}`);
    await page.getByTestId("quotes").waitFor();
    await page.getByTestId("escrow-total").filter({ hasText: "SHARD" }).waitFor();
    await page.getByTestId("max-inferences").fill("10");
    await page.getByTestId("escrow-total").filter({ hasText: "SHARD" }).waitFor();
    await page.getByTestId("open-job-button").click();
    const status = page.locator('[data-testid="tx-status"][data-phase="failed"]');
    await status.waitFor();
    const name = await page.getByTestId("tx-error").getAttribute("data-error-name");
    assert.ok(name && /Insufficient|ERC20/.test(name), `decoded error name, got "${name}"`);
    const text = await status.innerText();
    assert.doesNotMatch(text, /unknown error|Something went wrong/);
    assert.ok(!wallet.requests.includes("eth_sendTransaction"), "the failing open was stopped by the simulation, before any transaction");
    await shot("open-job-revert");
  });

  it("stakes with a permit and requests an unstake as a provider", async () => {
    await goto("/provider");
    await page.getByTestId("faucet").click();
    await page.locator('[data-testid="tx-status"]').filter({ hasText: "Faucet" }).and(page.locator('[data-phase="confirmed"], [data-phase="failed"]')).waitFor();
    await shot("provider-faucet");
    assert.equal(await page.getByTestId("tx-status").getAttribute("data-phase"), "confirmed", await page.getByTestId("tx-status").innerText());
    await page.getByTestId("stake-amount").fill("100");
    await page.getByTestId("stake-button").click();
    await page.locator('[data-testid="tx-status"][data-phase="confirmed"]').filter({ hasText: "Stake with permit" }).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="staked"]')?.textContent === "100");
    await page.getByTestId("unstake-amount").fill("40");
    await page.getByTestId("unstake-button").click();
    await page.locator('[data-testid="tx-status"][data-phase="confirmed"]').filter({ hasText: "Request unstake" }).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="unbonding"]')?.textContent === "40");
    assert.match(await page.getByTestId("unbonding-countdown").innerText(), /withdrawable in (6d 23h|7d 0h)/);
    assert.equal(await page.getByTestId("free-stake").innerText(), "60");
    await shot("provider");
    await page.getByTestId("stake-amount").fill("15");
    await page.getByTestId("stake-approve-button").click(); // the approve path: two transactions
    await page.locator('[data-testid="tx-status"][data-phase="confirmed"]').filter({ hasText: /^Stake: Confirmed/ }).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="staked"]')?.textContent === "75");
  });

  it("binds the node's libp2p peer id to the staking address", async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    await page.getByTestId("peer-input").fill(peerId.toString());
    await page.getByTestId("bind-button").click();
    await page.locator('[data-testid="tx-status"][data-phase="confirmed"]').filter({ hasText: "Bind peer id" }).waitFor();
    await page.getByTestId("bound-peer").filter({ hasText: peerId.toString() }).waitFor();
    const onChain = await publicClient.readContract({ address: deployment.contracts.ProviderStaking.address, abi: providerStakingAbi, functionName: "peerIdOf", args: [wallet.address] });
    assert.equal(onChain, `0x${Buffer.from(peerId.toMultihash().bytes).toString("hex")}`, "the page sent the peer id's multihash bytes");
    await page.getByTestId("peer-input").fill("not-a-peer-id");
    await page.getByTestId("bind-button").click();
    await page.locator('[data-testid="tx-status"][data-phase="failed"]').filter({ hasText: "does not look like a libp2p peer id" }).waitFor();
    await shot("provider-bound");
  });

  it("opens a job with a permit and sees it in My jobs", async () => {
    await goto(`/models/${modelId}`);
    await page.getByTestId("max-inferences").fill("10");
    await page.getByTestId("escrow-total").filter({ hasText: "SHARD" }).waitFor();
    const sendsBefore = wallet.requests.filter((m) => m === "eth_sendTransaction").length;
    await page.getByTestId("open-job-button").click();
    await page.getByTestId("job-opened").waitFor();
    assert.equal(wallet.requests.filter((m) => m === "eth_sendTransaction").length - sendsBefore, 1, "permit path: one transaction");
    assert.match(await page.getByTestId("job-opened").innerText(), /Job #1 is open/);
    await shot("model-open-job");
    await goto("/jobs");
    const card = page.getByTestId("job-card");
    await card.first().waitFor();
    assert.equal(await card.first().getAttribute("data-job-id"), "1");
    assert.equal(await page.getByTestId("job-status").first().innerText(), "open");
    assert.equal(await page.getByTestId("job-used").first().innerText(), "0 / 10");
    assert.match(await card.first().innerText(), /kept in this browser/);
    assert.match(await card.first().innerText(), /stage 0: 0x7099…79C8, stage 1: 0x7099…79C8/);
    await shot("my-jobs");
  });

  it("signs the served requests with the session key and shows the settled receipt on the dashboard", async () => {
    const sendsBefore = wallet.requests.filter((m) => m === "eth_sendTransaction" || m.startsWith("eth_sign")).length;
    await page.getByTestId("sign-receipt").first().click();
    await page.locator('[data-testid="sign-receipt-status"][data-state="done"]').waitFor();
    assert.equal(wallet.requests.filter((m) => m === "eth_sendTransaction" || m.startsWith("eth_sign")).length, sendsBefore, "no wallet prompt for a receipt");
    assert.ok(signedReceipt && receiptForJob, "the gateway received the session key's signature");
    assert.equal(signedReceipt.outputRoot, receiptForJob.outputRoot);
    const settle = await submitReceipt({ chainUrl: chain.url, publicClient, deployment, provider: 1, receipt: receiptForJob, sessionSignature: signedReceipt.signature });
    await goto("/earnings");
    await page.getByTestId("scope-all").click();
    await page.getByTestId("earned-pending").filter({ hasText: /^0\.008$/ }).waitFor(); // submitted, in its challenge window
    assert.equal(await page.getByTestId("earned-settled").innerText(), "0");
    await settle();
    await page.locator('[data-testid="earnings-ready"][data-settlements="1"]').waitFor();
    assert.equal(await page.getByTestId("earned-settled").innerText(), "0.0084"); // 4 requests × 2 stages × 0.001 + 5 % royalty
    await shot("earnings");
    await goto("/jobs");
    await page.getByTestId("spot-checks").first().filter({ hasText: "passed" }).waitFor();
    assert.equal(await page.getByTestId("job-used").first().innerText(), "4 / 10");
    await shot("my-jobs-settled");
  });

  it("says so when the gateway is unreachable", async () => {
    await gateway.stop();
    await goto("/");
    await page.getByTestId("gateway-unreachable").waitFor();
    assert.match(await page.getByTestId("providers-now").first().innerText(), /gateway unreachable/);
    await goto(`/models/${modelId}`);
    await page.getByTestId("try-gateway-down").waitFor();
    await page.getByTestId("quotes-error").filter({ hasText: "Gateway unreachable" }).waitFor();
    await shot("gateway-unreachable");
  });

  it("withdraws unstaked tokens once the unbonding period is over", async () => {
    await fetch(chain.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "evm_increaseTime", params: [7 * 24 * 3600 + 1] }) });
    await fetch(chain.url, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ jsonrpc: "2.0", id: 2, method: "evm_mine", params: [] }) });
    await goto("/provider");
    await page.getByTestId("unbonding-countdown").filter({ hasText: "Unbonding is over" }).waitFor();
    await page.getByTestId("withdraw-button").click();
    await page.locator('[data-testid="tx-status"][data-phase="confirmed"]').filter({ hasText: "Withdraw unbonded stake" }).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="unbonding"]')?.textContent === "0");
    await shot("provider-withdrawn");
  });

  it("closes the expired job, refunds the unused escrow and withdraws it", async () => {
    await goto("/jobs");
    await page.locator('[data-testid="job-status"]').filter({ hasText: "expired" }).waitFor();
    await page.getByTestId("close-job").click();
    await page.locator('[data-testid="job-status"]').filter({ hasText: "closed" }).waitFor();
    assert.match(await page.getByTestId("job-card").first().innerText(), /refunded 0\.0127 SHARD/); // 0.0212 escrow − 0.00848 settled
    await shot("my-jobs-closed");
    await goto("/earnings");
    await page.getByTestId("scope-mine").click();
    await page.getByTestId("credits").filter({ hasText: "0.0127 SHARD" }).waitFor();
    await page.getByTestId("withdraw-credits").click();
    await page.locator('[data-testid="tx-status"][data-phase="confirmed"]').filter({ hasText: "Withdraw earnings" }).waitFor();
    await page.getByTestId("credits").filter({ hasText: /^0 SHARD$/ }).waitFor();
  });

  it("ran without uncaught page errors or hydration mismatches", () => {
    assert.deepEqual(pageErrors, []);
    // Expected console errors: failed requests while the gateway was down on purpose, and the
    // revert that the simulation caught. Hydration mismatches (React #418/#423/#425) are not.
    assert.deepEqual(consoleErrors.filter((t) => /#41[89]|#42[35]|hydrat/i.test(t)), []);
  });
});
