// `npm run deploy`: deploys every ShardMesh contract to RPC_URL (default http://127.0.0.1:8545)
// with DEPLOYER_PRIVATE_KEY (default: Hardhat dev account #0, local chains only), writes
// deployments/<chainId>.json and regenerates the typed ABIs.
import { spawnSync } from "node:child_process";
import { createPublicClient, http } from "viem";
import type { Hex } from "viem";
import { walletFor } from "../node/src/chain/connect.ts";
import { DEV_KEYS } from "./lib/chain.ts";
import { exitOnHelp } from "./lib/usage.ts";
import { deployAll, writeDeployment } from "./lib/deploy.ts";

const root = new URL("..", import.meta.url).pathname;
const url = process.env.RPC_URL ?? "http://127.0.0.1:8545";

const USAGE = `usage: npm run deploy    every contract, then deployments/<chainId>.json and the typed ABIs
  environment:
    RPC_URL                  the chain (default http://127.0.0.1:8545; \`npm run chain\` starts one)
    DEPLOYER_PRIVATE_KEY     the deployer (default: Hardhat dev account #0, local chains only)`;

async function main(): Promise<void> {
  exitOnHelp(USAGE);
  const publicClient = createPublicClient({ transport: http(url) });
  const chainId = await publicClient.getChainId().catch((err: Error) => {
    throw new Error(`no JSON-RPC answer at ${url} (${err.message}); start a chain with \`npm run chain\` or set RPC_URL`);
  });
  const key = process.env.DEPLOYER_PRIVATE_KEY as Hex | undefined;
  if (!key && chainId !== 31337) throw new Error(`chain ${chainId} is not local: set DEPLOYER_PRIVATE_KEY`);
  // The node's chain set-up (node/src/chain/connect.ts); the deployment file does not exist yet.
  const wallet = walletFor(url, chainId, key ?? DEV_KEYS[0]);
  console.log(`deploying to chain ${chainId} at ${url} from ${wallet.account.address}`);
  const deployment = await deployAll({ wallet, publicClient, onProgress: (m) => console.log(`  ${m}`) });
  console.log(`wrote ${writeDeployment(deployment)}`);
  const gen = spawnSync(process.execPath, [`${root}scripts/generate-abis.ts`], { stdio: "inherit", cwd: root });
  if (gen.status !== 0) process.exit(gen.status ?? 1);
}

main().catch((err: Error) => {
  console.error(`deploy failed: ${err.message}`);
  process.exit(1);
});
