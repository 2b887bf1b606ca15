// Local-chain settings for the demo: short spot-check windows (so a receipt opened in the web
// app settles within minutes; startDemoChain deploys ProtocolParams with them, which only the
// local chain accepts) and a block every few seconds (so chain time follows the clock and
// samples, which need later blocks, get drawn).
import { DEMO_WINDOWS } from "../../node/src/chain/params.ts";
import type { DemoChain } from "../lib/demo.ts";
import type { Log } from "./market.ts";

export { DEMO_WINDOWS };

/** Reports the demo's windows (set at deployment by startDemoChain). */
export async function demoWindows(_demo: DemoChain, log: Log): Promise<void> {
  log(
    `spot-check windows for the demo: reveal ${DEMO_WINDOWS.reveal} s, challenge ${DEMO_WINDOWS.challenge} s, committee ${DEMO_WINDOWS.commit}+${DEMO_WINDOWS.voteReveal} s, appeal ${DEMO_WINDOWS.appeal} s`,
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
