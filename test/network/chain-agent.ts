// Agent for the namespace network's chain host: a `hardhat node` listening on the host's own 10.x
// address (never 0.0.0.0), every contract deployed with the demo's windows (the deployment file
// is written under SHARDMESH_DEPLOYMENTS_DIR, which the provider processes read) and a 2-stage
// split of the recogniser published, all by the demo's own steps. The chain is a child of this
// agent inside the host's namespace: it stops with the agent, and the network's teardown kills
// whatever is left there.
import { publishRecogniser } from "../../scripts/demo/market.ts";
import type { SplitModel } from "../../scripts/demo/market.ts";
import { startDemoChain } from "../../scripts/lib/demo.ts";
import type { DemoChain } from "../../scripts/lib/demo.ts";
import type { Deployment } from "../../node/src/chain/deployments.ts";
import { serveAgent } from "./agent.ts";

const log = (line: string) => process.stderr.write(`${line}\n`);
let demo: DemoChain | undefined;

export interface MarketChain {
  /** The chain's JSON-RPC URL on the chain host's address. */
  url: string;
  deployment: Deployment;
  /** The published recogniser's model id (decimal). */
  modelId: string;
  /** The hardhat node's process id. */
  pid: number;
}

serveAgent({
  start: async (a: { host: string; port: number; model: SplitModel }): Promise<MarketChain> => {
    if (demo) throw new Error("the chain is already running");
    demo = await startDemoChain(log, a.port, a.host);
    const modelId = await publishRecogniser(demo, a.model, log);
    return { url: demo.chain.url, deployment: demo.deployment, modelId: modelId.toString(), pid: demo.chain.pid };
  },
  stop: async () => {
    await demo?.chain.stop();
    demo = undefined;
  },
});
