// The dApp end to end in Debian's chromium against the real stack (test/e2e/harness.ts): a
// hardhat node with every contract, the PP-OCRv4 recogniser split in 2 stages and published, two
// provider processes with chain support that stake and bind their peer ids themselves (key 1:
// stage 0 and the HTTP gateway; key 2: stage 1), `next start` serving the production build with
// that gateway behind /api/gateway, and an injected test wallet. Quotes, "try it", receipts,
// paid requests under a job (prepared by the gateway, signed by the page's session key), reveals and
// settlement all go through the providers. Screenshots go to test-results/screenshots/.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium, type BrowserContext, type Page } from "playwright-core";
import { toHex, type Address } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { freePort } from "../../scripts/lib/chain.ts";
import { ShardMeshClient, tensorFromFloat32 } from "../../node/src/sdk/index.ts";
import { jobRequestHash } from "../../node/src/jobs/session.ts";
import { signJobDetails } from "../../node/src/jobs/details.ts";
import { decodeImage, renderText } from "../../node/src/ocr/image.ts";
import { recPreprocess } from "../../node/src/ocr/rec.ts";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey, peerIdFromString } from "@libp2p/peer-id";
import { providerStakingAbi } from "../../node/src/generated/abis.ts";
import { advance, rpc, startChainProvider, startEnv, stopEnv, type Env } from "../e2e/harness.ts";
import { stopProc, until } from "../node/mesh/procs.ts";
import { injectWallet, type TestWallet } from "./wallet.ts";
import { CHROMIUM, CHROMIUM_ARGS, waitForHttp } from "../../scripts/lib/browser.ts";

const root = new URL("../..", import.meta.url).pathname;
const shots = join(root, "test-results/screenshots");
const REQUESTS = ["ShardMesh 2026", "hello mesh", "receipt 42", "settle now"];
const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

describe("dApp in chromium against the real mesh and chain", { timeout: 300_000 }, () => {
  let env: Env;
  let modelId: bigint;
  let gatewayProc: Awaited<ReturnType<typeof startChainProvider>>;
  let gateway: ShardMeshClient;
  const providers: { address: Address; peerId: string; stage: number }[] = [];
  let next: ChildProcess;
  let baseUrl: string;
  let context: BrowserContext;
  let page: Page;
  let wallet: TestWallet;
  const pageErrors: string[] = [];
  const consoleErrors: string[] = [];

  const shot = (name: string) => page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  const goto = async (path: string) => {
    await page.goto(`${baseUrl}${path}`);
  };
  type GatewayReceipt = { receiptId: string; state: string; samples: number[] };
  const receiptState = async (jobId: string, receiptId: string) =>
    ((await gateway.job(jobId)).receipts as unknown as GatewayReceipt[]).find((r) => r.receiptId === receiptId);

  before(async () => {
    assert.ok(existsSync(join(root, "web/.next/BUILD_ID")), "web/.next is missing: scripts/pretest-web.ts builds it (npm test -- web)");
    mkdirSync(shots, { recursive: true });
    env = await startEnv();
    modelId = env.modelId;
    gatewayProc = await startChainProvider(env, {
      keyIndex: 1,
      stages: [0],
      gateway: true,
      listenPort: await freePort(),
      gatewayPort: await freePort(),
    });
    const stage1 = await startChainProvider(env, { keyIndex: 2, stages: [1], bootstrap: [gatewayProc.addr] });
    providers.push({ ...gatewayProc, stage: 0 }, { ...stage1, stage: 1 });
    gateway = new ShardMeshClient(gatewayProc.gateway!);
    await until(
      "providers staked and bound on chain",
      async () => {
        for (const p of providers) {
          if ((await env.read.staking.read.providerOfPeer([toHex(peerIdFromString(p.peerId).toMultihash().bytes)])) !== p.address)
            return false;
        }
        return true;
      },
      60_000,
      250,
    );
    await until(
      "gateway quotes from both providers",
      async () => (await gateway.quotes(modelId.toString(), 1, "0x00000000000000000000000000000000000000b2")).quotes.length === 2,
      60_000,
      500,
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
        SHARDMESH_GATEWAY_URL: gatewayProc.gateway!,
      },
    });
    await waitForHttp(`${baseUrl}/`, next, 60_000);

    context = await chromium.launchPersistentContext(join(env.work, "chromium-profile"), {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 900 },
    });
    const buyerKey = generatePrivateKey(); // a fresh buyer: some ETH for gas, no SHARD yet
    await rpc(env.chain.url, "hardhat_setBalance", [privateKeyToAccount(buyerKey).address, "0x56BC75E2D63100000"]);
    wallet = await injectWallet(context, { rpcUrl: env.chain.url, privateKey: buyerKey });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(30_000);
    page.on("pageerror", (e) => pageErrors.push(e.message));
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
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

  it("lists the published model with the providers serving it and their latency from the gateway", async () => {
    await goto("/");
    const card = page.getByTestId("model-card");
    await card.first().waitFor();
    assert.equal(await card.count(), 1);
    assert.match(await card.first().innerText(), /PP-OCRv4 text recogniser/);
    await page.getByTestId("gateway-ok").waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="providers-now"]')?.textContent === "2"); // the two provider processes
    assert.match(await card.first().innerText(), /Latency\s+\d+(\.\d+)? ms/); // announced by the providers, summed over 2 stages
    await page.getByTestId("search").fill("no such model");
    assert.equal(await page.getByTestId("model-card").count(), 0);
    await page.getByTestId("search").fill("ocr");
    assert.equal(await page.getByTestId("model-card").count(), 1);
    await shot("marketplace");
  });

  it("tries the model: an uploaded image is recognised by the providers, with each stage's timing", async () => {
    await goto(`/models/${modelId}`);
    const png = Buffer.from(await renderText(["ShardMesh 2026"]));
    await page.getByTestId("try-file").setInputFiles({ name: "line.png", mimeType: "image/png", buffer: png });
    await page.getByTestId("try-result").waitFor({ timeout: 60_000 });
    assert.equal(await page.getByTestId("try-text").innerText(), "ShardMesh 2026");
    const rows = page.getByTestId("try-result").locator("tbody tr");
    assert.equal(await rows.count(), 2);
    const table = await page.getByTestId("try-result").innerText();
    assert.match(table, /\d+(\.\d+)? ms/);
    for (const p of providers)
      assert.ok((await rows.nth(p.stage).innerText()).includes(p.peerId.slice(0, 16)), `stage ${p.stage} ran on its provider's process`);
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
    await page
      .locator('[data-testid="tx-status"]')
      .filter({ hasText: "Faucet" })
      .and(page.locator('[data-phase="confirmed"], [data-phase="failed"]'))
      .waitFor();
    await shot("provider-faucet");
    assert.equal(
      await page.getByTestId("tx-status").getAttribute("data-phase"),
      "confirmed",
      await page.getByTestId("tx-status").innerText(),
    );
    await page.getByTestId("stake-amount").fill("100");
    await page.getByTestId("stake-button").click();
    await page.locator('[data-testid="tx-status"][data-phase="confirmed"]').filter({ hasText: "Stake with permit" }).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="staked"]')?.textContent === "100");
    await page.getByTestId("unstake-amount").fill("40");
    await page.getByTestId("unstake-button").click();
    await page.locator('[data-testid="tx-status"][data-phase="confirmed"]').filter({ hasText: "Request unstake" }).waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="unbonding"]')?.textContent === "40");
    assert.match(await page.getByTestId("unbonding-countdown").innerText(), /withdrawable in (6d 23h|7d 0h)/);
    // The free stake is a separate read refreshed after the same transaction: wait for it too.
    await page.waitForFunction(() => document.querySelector('[data-testid="free-stake"]')?.textContent === "60");
    await shot("provider");
    await page.getByTestId("stake-amount").fill("15");
    await page.getByTestId("stake-approve-button").click(); // the approve path: two transactions
    await page
      .locator('[data-testid="tx-status"][data-phase="confirmed"]')
      .filter({ hasText: /^Stake: Confirmed/ })
      .waitFor();
    await page.waitForFunction(() => document.querySelector('[data-testid="staked"]')?.textContent === "75");
  });

  it("binds the node's libp2p peer id to the staking address", async () => {
    const peerId = peerIdFromPrivateKey(await generateKeyPair("Ed25519"));
    await page.getByTestId("peer-input").fill(peerId.toString());
    await page.getByTestId("bind-button").click();
    await page.locator('[data-testid="tx-status"][data-phase="confirmed"]').filter({ hasText: "Bind peer id" }).waitFor();
    await page.getByTestId("bound-peer").filter({ hasText: peerId.toString() }).waitFor();
    const onChain = await env.publicClient.readContract({
      address: env.deployment.contracts.ProviderStaking.address,
      abi: providerStakingAbi,
      functionName: "peerIdOf",
      args: [wallet.address],
    });
    assert.equal(onChain, `0x${Buffer.from(peerId.toMultihash().bytes).toString("hex")}`, "the page sent the peer id's multihash bytes");
    await page.getByTestId("peer-input").fill("not-a-peer-id");
    await page.getByTestId("bind-button").click();
    await page
      .locator('[data-testid="tx-status"][data-phase="failed"]')
      .filter({ hasText: "does not look like a libp2p peer id" })
      .waitFor();
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
    // The real providers' quotes: stage 0 by key 1's process, stage 1 by key 2's.
    assert.ok(
      (await card.first().innerText()).includes(`stage 0: ${short(providers[0].address)}, stage 1: ${short(providers[1].address)}`),
    );
    await shot("my-jobs");
  });

  it("serves paid requests made through the page (gateway-prepared, session-key signed), signs the receipt through the gateway and shows the providers' settlement on the dashboard", async () => {
    // The buyer's paid requests through the page: "Try it" under job #1 asks the gateway to
    // prepare the image, signs JobRequest with the session key the page keeps (no wallet prompt)
    // and runs the prepared tensors under the job.
    const jobId = "1";
    await goto(`/models/${modelId}`);
    const choice = page.getByTestId("try-job");
    await choice.waitFor({ timeout: 30_000 });
    await choice.selectOption(jobId);
    const signsBefore = wallet.requests.filter((m) => m === "eth_sendTransaction" || m.startsWith("eth_sign")).length;
    const lastError: string[] = [];
    for (const [i, text] of REQUESTS.entries()) {
      const png = Buffer.from(await renderText([text]));
      const paid = page.getByTestId("try-paid").filter({ hasText: `Paid request #${i} of job #${jobId} ` });
      // The gateway learns of the job from the chain (QuoteAccepted events): retry until it has.
      await until(
        `request ${i} served through the page`,
        async () => {
          await page.getByTestId("try-file").setInputFiles({ name: `request-${i}.png`, mimeType: "image/png", buffer: png });
          await paid.or(page.getByTestId("try-error")).first().waitFor({ timeout: 60_000 });
          if ((await paid.count()) === 0) {
            lastError.push(await page.getByTestId("try-error").innerText());
            return false;
          }
          return true;
        },
        60_000,
        500,
      );
      if (i === 0) assert.equal(await page.getByTestId("try-text").innerText(), "ShardMesh 2026");
      else assert.ok((await page.getByTestId("try-text").innerText()).length > 0);
      const rows = page.getByTestId("try-result").locator("tbody tr");
      for (const p of providers)
        assert.ok((await rows.nth(p.stage).innerText()).includes(p.peerId.slice(0, 16)), `stage ${p.stage} ran on its provider's process`);
      // The page signed the hash of exactly the tensors the node computes for this image.
      const x = recPreprocess(await decodeImage(png));
      // Per-request hashes are shown only to the job's session key (the one the page keeps).
      const session = JSON.parse((await page.evaluate((k) => window.localStorage.getItem(k), `shardmesh:session:31337:${jobId}`))!) as {
        privateKey: `0x${string}`;
      };
      const expires = Math.floor(Date.now() / 1000) + 300;
      const signature = await signJobDetails(privateKeyToAccount(session.privateKey), jobId, expires);
      const served = (await gateway.job(jobId, { details: { expires, signature } })).requests?.find((r) => r.index === i);
      assert.equal(served?.requestHash, jobRequestHash({ x: tensorFromFloat32([...x.dims], x.data as Float32Array) }));
      assert.equal(served?.traceIndex, i, "the page numbers its requests: the nonce it signed is the request's trace index");
      if (i === 0) await shot("model-try-it-paid");
    }
    assert.equal(
      wallet.requests.filter((m) => m === "eth_sendTransaction" || m.startsWith("eth_sign")).length,
      signsBefore,
      "no wallet prompt for a paid request",
    );
    assert.equal((await gateway.job(jobId)).served, REQUESTS.length, `served every request (retries: ${lastError.join(" | ")})`);

    await goto("/jobs");
    await page.getByTestId("job-used").first().waitFor();
    const sendsBefore = wallet.requests.filter((m) => m === "eth_sendTransaction" || m.startsWith("eth_sign")).length;
    await page.getByTestId("sign-receipt").first().click();
    await page.locator('[data-testid="sign-receipt-status"][data-state="done"]').waitFor({ timeout: 60_000 });
    assert.equal(
      wallet.requests.filter((m) => m === "eth_sendTransaction" || m.startsWith("eth_sign")).length,
      sendsBefore,
      "no wallet prompt for a receipt",
    );
    // The gateway's provider gathered every stage provider's part and submitted the receipt.
    const onChain = await env.read.market.read.receipt([BigInt(jobId), 0n]);
    assert.equal(onChain.to, REQUESTS.length);
    assert.equal(onChain.submitter, providers[0].address);
    await goto("/earnings");
    await page.getByTestId("scope-all").click();
    await page
      .getByTestId("earned-pending")
      .filter({ hasText: /^0\.008$/ })
      .waitFor(); // submitted, in its challenge window
    assert.equal(await page.getByTestId("earned-settled").innerText(), "0");

    // Two blocks later the gateway draws and reveals the samples; after the window it settles.
    await rpc(env.chain.url, "evm_mine");
    await rpc(env.chain.url, "evm_mine");
    const revealed = await until(
      "samples revealed by the gateway",
      async () => {
        const r = await receiptState(jobId, "0");
        return r?.state === "revealed" ? r : false;
      },
      60_000,
      250,
    );
    assert.ok(revealed.samples.length >= 1);
    const w = await env.read.params.read.paramsAt([BigInt((await env.read.market.read.job([BigInt(jobId)])).paramsVersion)]);
    await advance(env.chain.url, Number(w.reveal + w.challenge) + 1);
    await until("receipt settled by the gateway", async () => (await receiptState(jobId, "0"))?.state === "settled", 60_000, 250);
    await page.locator('[data-testid="earnings-ready"][data-settlements="1"]').waitFor();
    // 4 requests × 2 stages × 0.001 + 5 % royalty (no verifier runs here: the 5 % verifier fee is
    // paid only for attested samples and stays in escrow for the buyer)
    assert.equal(await page.getByTestId("earned-settled").innerText(), "0.0084");
    await shot("earnings");
    await goto("/jobs");
    await page.getByTestId("spot-checks").first().filter({ hasText: "passed" }).waitFor();
    assert.equal(await page.getByTestId("job-used").first().innerText(), "4 / 10");
    await shot("my-jobs-settled");

    // A session key that is not the job's: the gateway refuses the signature and the page says so
    // by name; nothing is served. The job's own key is put back afterwards.
    const slot = `shardmesh:session:31337:${jobId}`;
    const own = await page.evaluate((k) => window.localStorage.getItem(k), slot);
    const other = generatePrivateKey();
    await page.evaluate(
      ([k, v]) => window.localStorage.setItem(k, v),
      [slot, JSON.stringify({ privateKey: other, address: privateKeyToAccount(other).address })],
    );
    await goto(`/models/${modelId}`);
    await page.getByTestId("try-job").selectOption(jobId, { timeout: 30_000 });
    await page
      .getByTestId("try-file")
      .setInputFiles({ name: "refused.png", mimeType: "image/png", buffer: Buffer.from(await renderText(["refused"])) });
    await page
      .getByTestId("try-error")
      .filter({ hasText: /^Signature refused: the session key in this browser is not the job's/ })
      .waitFor({ timeout: 60_000 });
    assert.equal((await gateway.job(jobId)).served, REQUESTS.length);
    await shot("model-try-it-refused");
    await page.evaluate(([k, v]) => window.localStorage.setItem(k, v), [slot, own!]);
  });

  it("says so when the gateway is unreachable", async () => {
    await stopProc(gatewayProc); // the process serving the gateway (and stage 0) stops
    await goto("/");
    await page.getByTestId("gateway-unreachable").waitFor();
    assert.match(await page.getByTestId("providers-now").first().innerText(), /gateway unreachable/);
    await goto(`/models/${modelId}`);
    await page.getByTestId("try-gateway-down").waitFor();
    await page.getByTestId("quotes-error").filter({ hasText: "Gateway unreachable" }).waitFor();
    await shot("gateway-unreachable");
  });

  it("withdraws unstaked tokens once the unbonding period is over", async () => {
    await advance(env.chain.url, 7 * 24 * 3600 + 1);
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
    assert.match(await page.getByTestId("job-card").first().innerText(), /refunded 0\.0136 SHARD/); // 0.022 escrow (10 × 0.002 + 10 % fees) − 0.0084 settled
    await shot("my-jobs-closed");
    await goto("/earnings");
    await page.getByTestId("scope-mine").click();
    await page.getByTestId("credits").filter({ hasText: "0.0136 SHARD" }).waitFor();
    await page.getByTestId("withdraw-credits").click();
    await page.locator('[data-testid="tx-status"][data-phase="confirmed"]').filter({ hasText: "Withdraw earnings" }).waitFor();
    await page
      .getByTestId("credits")
      .filter({ hasText: /^0 SHARD$/ })
      .waitFor();
  });

  it("ran without uncaught page errors or hydration mismatches", () => {
    assert.deepEqual(pageErrors, []);
    // Expected console errors: failed requests while the gateway was down on purpose, and the
    // revert that the simulation caught. Hydration mismatches (React #418/#423/#425) are not.
    assert.deepEqual(
      consoleErrors.filter((t) => /#41[89]|#42[35]|hydrat/i.test(t)),
      [],
    );
  });
});
