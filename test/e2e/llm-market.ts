// A paid language-model market with real parts for the e2e tests: a hardhat node with every
// contract (the demo's short windows), the tiny decoder split in 2 block stages and published,
// 2 provider processes that stake and bind themselves (provider 1: stage 0 and the gateway with
// embed/head/sampling; provider 2: stage 1), libp2p over TCP, onnxruntime.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toHex } from "viem";
import { peerIdFromString } from "@libp2p/peer-id";
import { ShardMeshClient } from "../../node/src/sdk/index.ts";
import { readOnlyContracts } from "../../node/src/chain/contracts.ts";
import { DEV_KEYS, freePort } from "../../scripts/lib/chain.ts";
import { startDemoChain, localWallet, type DemoChain } from "../../scripts/lib/demo.ts";
import { STAGE_PRICE } from "../../scripts/demo/market.ts";
import { prepareLanguageModel, publishLanguageModel } from "../../scripts/demo/llm.ts";
import { startProviderProc, stopProc, until, type ProviderProc } from "../node/mesh/procs.ts";
import type { BuyerSetup } from "../../scripts/demo/buyer.ts";

const quiet = (): void => {};

export interface LlmMarket {
  work: string;
  demo: DemoChain;
  llmId: bigint;
  manifest: string;
  /** procs[k − 1] runs with dev key k (1: stage 0 + gateway, 2: stage 1). */
  procs: ProviderProc[];
  gateway: ShardMeshClient;
}

/** Starts the market (`prefix` names its temporary folder); stopLlmMarket ends it. */
export async function startLlmMarket(prefix: string): Promise<LlmMarket> {
  const work = mkdtempSync(join(tmpdir(), prefix));
  process.env.SHARDMESH_DEPLOYMENTS_DIR = join(work, "deployments");
  process.env.DEMO_LLM = "tiny";
  const m: LlmMarket = { work, procs: [] } as unknown as LlmMarket;
  try {
    m.demo = await startDemoChain(quiet, await freePort());
    const llm = await prepareLanguageModel(work, quiet);
    m.manifest = llm.manifestPath;
    m.llmId = await publishLanguageModel(m.demo, llm, quiet);
    for (const [k, stage] of [
      [1, 0],
      [2, 1],
    ]) {
      const dir = join(work, `provider-${k}`);
      m.procs.push(
        await startProviderProc(
          [
            "--key-file",
            join(dir, "node.key"),
            "--data-dir",
            join(dir, "data"),
            "--model",
            `${m.llmId}=${m.manifest}:${stage}:${STAGE_PRICE}`,
            "--staking-key",
            DEV_KEYS[k],
            "--rpc",
            m.demo.chain.url,
            "--register",
            "--no-dht",
            ...(k === 1 ? ["--gateway-port", String(await freePort())] : ["--no-gateway", "--bootstrap", m.procs[0].addr]),
          ],
          120_000,
        ),
      );
    }
    const read = readOnlyContracts(m.demo.deployment, m.demo.publicClient);
    await until(
      "providers bound on chain",
      async () => {
        for (const [i, p] of m.procs.entries()) {
          const bound = await read.staking.read.providerOfPeer([toHex(peerIdFromString(p.peerId).toMultihash().bytes)]);
          if (bound !== localWallet(m.demo.chain.url, i + 1).account.address) return false;
        }
        return true;
      },
      60_000,
      250,
    );
    m.gateway = new ShardMeshClient(m.procs[0].gateway!);
    await until(
      "quotes for both stages",
      async () => (await m.gateway.quotes(m.llmId.toString(), 10, localWallet(m.demo.chain.url, 7).account.address)).quotes.length === 2,
      60_000,
      500,
    );
    return m;
  } catch (err) {
    await stopLlmMarket(m);
    throw err;
  }
}

/** What the demo's buyer helpers (scripts/demo/buyer.ts) need: the buyer is dev key `buyerKey`. */
export function llmBuyer(m: LlmMarket, buyerKey: number): BuyerSetup {
  return {
    chainUrl: m.demo.chain.url,
    publicClient: m.demo.publicClient,
    deployment: m.demo.deployment,
    gateway: m.gateway,
    modelId: m.llmId,
    buyerKey,
    providers: [1, 2].map((k) => localWallet(m.demo.chain.url, k).account.address),
  };
}

export async function stopLlmMarket(m: LlmMarket | undefined): Promise<void> {
  if (!m) return;
  for (const p of m.procs) await stopProc(p);
  await m.demo?.chain.stop();
  rmSync(m.work, { recursive: true, force: true });
}
