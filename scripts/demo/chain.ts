// Local-chain settings for the demo: short spot-check windows (so a receipt opened in the web
// app settles within minutes) and a block every few seconds (so chain time follows the clock
// and samples, which need later blocks, get drawn).
import { jobMarketAbi } from "../../node/src/generated/abis.ts";
import { localWallet, type DemoChain } from "../lib/demo.ts";
import type { Log } from "./market.ts";

export const DEMO_WINDOWS = { reveal: 60n, challenge: 60n, answer: 60n, commit: 30n, voteReveal: 30n } as const;

export async function demoWindows(demo: DemoChain, log: Log): Promise<void> {
  const admin = localWallet(demo.chain.url, 0);
  const hash = await admin.writeContract({
    address: demo.deployment.contracts.JobMarket.address,
    abi: jobMarketAbi,
    functionName: "setWindows",
    args: [DEMO_WINDOWS],
    account: admin.account,
    chain: admin.chain,
  });
  const receipt = await demo.publicClient.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error("setWindows reverted");
  log(
    `spot-check windows for the demo: reveal ${DEMO_WINDOWS.reveal} s, challenge ${DEMO_WINDOWS.challenge} s, committee ${DEMO_WINDOWS.commit}+${DEMO_WINDOWS.voteReveal} s`,
  );
}

/** Mines a block every `ms` (evm_mine) until the returned timer is cleared. */
export function mineEvery(url: string, ms: number): NodeJS.Timeout {
  const timer = setInterval(() => {
    fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "evm_mine", params: [] }),
    }).catch(() => {});
  }, ms);
  timer.unref();
  return timer;
}
