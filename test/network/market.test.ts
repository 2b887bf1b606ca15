// The real market on the namespace network (issue 14's "public segment with the chain"): a
// hardhat node on the chain host's 10.x address with every contract deployed and the recogniser
// split in 3 stages and published (test/network/chain-agent.ts, the demo's own steps), a
// relay-capable bootstrap provider and the gateway on the public side, home A and home B behind
// cone NATs, and a buyer on the public side. The gateway serves stage 0 itself: a receipt's
// submitter must have served a stage of it (JobsSubmitterNotPartError: it answers for the
// reveals, docs/PROTOCOL.md), so a request runs gateway (stage 0) → home A (stage 1) → home B
// (stage 2). Every provider stakes and binds its own peer id over its path to the chain
// (`--register`; the homes' through their NAT routers) and lists only staked peers: no
// `--unstaked`, no `--unsigned-jobs`; a stranger in home B serving stage 2 under a staking key it
// never staked is never listed. The buyer runs the demo's paid job (scripts/demo/buyer.ts):
// quotes signed by the three providers, a job opened on chain, session-key-signed requests, the
// receipt checked and signed, submitted by the gateway with its own and both homes' signed parts
// (fetched over their relayed connections), its samples revealed and the receipt settled.
// Skipped, with the reason, only where namespaces cannot be created (never in CI: networkSkip).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { privateKeyToAccount } from "viem/accounts";
import type { MeshPeer, MeshStatus } from "../../node/src/sdk/index.ts";
import { splitRecogniser, STAGE_PRICE } from "../../scripts/demo/market.ts";
import type { SplitModel } from "../../scripts/demo/market.ts";
import { DEFAULT_CHAIN_PORT, DEV_KEYS } from "../../scripts/lib/chain.ts";
import { startProviderProc, stopProc, until } from "../node/mesh/procs.ts";
import type { ProviderProc } from "../node/mesh/procs.ts";
import { createTestNet, namespaceExists, networkSkip, processRunning } from "./netns.ts";
import type { TestNet } from "./netns.ts";
import { startAgent } from "./agent.ts";
import type { Agent } from "./agent.ts";
import type { MarketChain } from "./chain-agent.ts";
import type { PaidJobAnswer } from "./buyer-agent.ts";
import { publicGatewayArgs } from "./gateway.ts";

const unavailable = networkSkip();
/** The whole suite's bound (about 1.5 min alone; waits inside have their own deadlines). */
const MARKET_SUITE_TIMEOUT_MS = 5 * 60_000;
/** Waits for the mesh: on this 2-core machine under load ~20 a relay reservation took over 30 s. */
const MESH_WAIT_MS = 60_000;
const CHAIN_AGENT = new URL("./chain-agent.ts", import.meta.url).pathname;
const BUYER = new URL("./buyer-agent.ts", import.meta.url).pathname;
/**
 * Dev accounts: #0 deploys and publishes (chain agent), the others stake as named here; #5 buys;
 * #6 is a stranger in home B that serves stage 2 under a staking key it never staked.
 */
const KEYS = { relay: 1, gateway: 2, a: 3, b: 4, stranger: 6 } as const;
const BUYER_KEY = 5;
const address = (key: number) => privateKeyToAccount(DEV_KEYS[key]).address;

describe("the market on the namespace network: chain on the public side, staked providers behind NAT", {
  skip: unavailable,
  timeout: MARKET_SUITE_TIMEOUT_MS,
}, () => {
  let net: TestNet;
  const dir = mkdtempSync(join(tmpdir(), "shardmesh-netmarket-"));
  const deploymentsDir = join(dir, "deployments");
  const savedDeploymentsDir = process.env.SHARDMESH_DEPLOYMENTS_DIR;
  let model: SplitModel;
  let chainAgent: Agent;
  let chain: MarketChain;
  let buyer: Agent;
  const procs: Partial<Record<keyof typeof KEYS, ProviderProc>> = {};

  /** A provider process on `name`'s host, staking and binding itself on the chain at start unless `register` is false. */
  const start = async (name: keyof typeof KEYS, args: string[], { host = net.hosts[name], register = true } = {}) => {
    procs[name] = await startProviderProc(
      [
        ...["--key-file", join(dir, name, "node.key"), "--data-dir", join(dir, name)],
        ...["--listen", `/ip4/${host.ip}/tcp/${name === "relay" ? 4001 : 0}`],
        ...["--rpc", chain.url, "--staking-key", DEV_KEYS[KEYS[name]], ...(register ? ["--register"] : [])],
        ...args,
      ],
      120_000,
      host.spawn,
    );
    return procs[name];
  };
  const serve = (stage: number) => ["--model", `${chain.modelId}=${model.manifestPath}:${stage}:${STAGE_PRICE}`];
  const home = (name: "a" | "b", stage: number) => start(name, ["--bootstrap", procs.relay!.addr, "--no-gateway", ...serve(stage)]);
  const mesh = () => buyer.call<MeshStatus>("mesh", procs.gateway!.gateway!);
  const peer = async (name: keyof typeof KEYS): Promise<MeshPeer | undefined> =>
    (await mesh()).peers.find((p) => p.peerId === procs[name]!.peerId);

  before(async () => {
    net = createTestNet({
      public: ["chain", "relay", "gateway", "buyer"],
      homes: [
        { name: "a", nat: "cone" },
        { name: "b", nat: "cone" },
      ],
    });
    model = await splitRecogniser(join(tmpdir(), "shardmesh-e2e-cache", "rec-3"), () => {}, 3);
    // The chain agent writes deployments/31337.json here; provider processes read it from here.
    process.env.SHARDMESH_DEPLOYMENTS_DIR = deploymentsDir;
    chainAgent = await startAgent(net.hosts.chain, CHAIN_AGENT);
    chain = await chainAgent.call<MarketChain>("start", { host: net.hosts.chain.ip, port: DEFAULT_CHAIN_PORT, model }, 120_000);
    await start("relay", ["--no-gateway"]);
    await start("gateway", ["--bootstrap", procs.relay!.addr, ...publicGatewayArgs(net.hosts.gateway), ...serve(0)]);
    buyer = await startAgent(net.hosts.buyer, BUYER);
  });
  after(async () => {
    await buyer?.kill();
    await Promise.all(Object.values(procs).map((p) => stopProc(p)));
    await chainAgent?.kill();
    net?.down();
    if (savedDeploymentsDir === undefined) delete process.env.SHARDMESH_DEPLOYMENTS_DIR;
    else process.env.SHARDMESH_DEPLOYMENTS_DIR = savedDeploymentsDir;
    rmSync(dir, { recursive: true, force: true });
  });

  it("the chain listens on the public segment's 10.x address only, with the contracts deployed", () => {
    assert.equal(chain.url, `http://${net.hosts.chain.ip}:${DEFAULT_CHAIN_PORT}`);
    assert.match(net.hosts.chain.ip, /^10\./);
    const listening = net.hosts.chain
      .run("ss", ["-Hltn"])
      .split("\n")
      .filter(Boolean)
      .map((l) => l.trim().split(/\s+/)[3]);
    assert.ok(listening.includes(`${net.hosts.chain.ip}:${DEFAULT_CHAIN_PORT}`), listening.join(" "));
    assert.ok(!listening.some((l) => l.endsWith(`:${DEFAULT_CHAIN_PORT}`) && !l.startsWith(net.hosts.chain.ip)), listening.join(" "));
    assert.equal(chain.deployment.chainId, 31337);
    assert.ok(chain.deployment.contracts.JobMarket.address);
    assert.ok(BigInt(chain.modelId) >= 1n);
  });

  it("providers behind NAT stake and bind themselves through their routers; the gateway lists them staked, routed through the relay", async () => {
    await Promise.all([
      home("a", 1),
      home("b", 2),
      start("stranger", ["--bootstrap", procs.relay!.addr, "--no-gateway", ...serve(2)], { host: net.hosts.b, register: false }),
    ]);
    for (const name of ["a", "b"] as const) {
      const e = await until(`${name}'s verdict`, async () => procs[name]!.events.find((x) => x.event === "reach"), MESH_WAIT_MS, 200);
      assert.equal(e.status, "unreachable", name);
      assert.equal(e.externalIp, net.hosts[name].wanIp);
    }
    await buyer.call(
      "waitForMesh",
      { url: procs.gateway!.gateway, modelId: chain.modelId, stages: 3, perStage: 1, timeoutMs: MESH_WAIT_MS },
      MESH_WAIT_MS + 5_000,
    );
    // Listed by the gateway only once their binding to a staked address was checked on chain.
    for (const name of ["relay", "gateway", "a", "b"] as const) {
      const p = await until(`${name} listed`, () => peer(name), MESH_WAIT_MS, 250);
      assert.equal(p.stakingAddress, address(KEYS[name]), `${name} bound on chain to its staking wallet`);
    }
    for (const name of ["a", "b"] as const) {
      const p = (await peer(name))!;
      assert.equal(p.reach, "unreachable");
      assert.ok(
        p.addrs.some((x) => x.includes(`/p2p/${procs.relay!.peerId}/p2p-circuit`)),
        `${name} announced through the relay: ${p.addrs.join(" ")}`,
      );
    }
  });

  it("a buyer on the public side pays for requests through gateway → home A → home B; the receipt is submitted with its own and both homes' parts and settles", async () => {
    let job: PaidJobAnswer;
    try {
      job = await buyer.call<PaidJobAnswer>(
        "paidJob",
        {
          url: procs.gateway!.gateway,
          chainUrl: chain.url,
          deployment: chain.deployment,
          modelId: chain.modelId,
          buyerKey: BUYER_KEY,
          providers: [address(KEYS.gateway), address(KEYS.a), address(KEYS.b)],
        },
        240_000,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nbuyer: ${buyer.stderr().slice(-3000)}`);
    }
    assert.ok(job.texts.length > 0);
    for (const t of job.texts)
      assert.deepEqual(t.stages, [procs.gateway!.peerId, procs.a!.peerId, procs.b!.peerId], `"${t.sent}": gateway, home A, home B`);
    assert.equal(job.texts[0].read, job.texts[0].sent, "the recogniser read the text back");
    assert.ok(job.samples >= 1, "samples revealed");
    // Settled: the gateway and each home were paid count × the stage price (credit plus what it withdrew).
    for (const c of job.credits) assert.equal(BigInt(c.amount), BigInt(job.texts.length) * STAGE_PRICE, `${c.address} earned`);
    // The tensors and the receipt parts crossed the NATs: the gateway's hops to the homes are
    // relayed or hole punched, never a plain direct connection.
    for (const name of ["a", "b"] as const) {
      const p = await until(
        `${name}'s hop`,
        async () => {
          const q = await peer(name);
          return q?.path ? q : undefined;
        },
        10_000,
        250,
      );
      assert.ok(p.path === "punched" || p.path === "relayed", `${name}'s hop: ${p.path}`);
    }
    // Staked-only listing: the stranger announced stage 2 all along (under a staking address it
    // never staked) and was neither listed nor quoted nor routed to.
    assert.ok(procs.stranger!.child.exitCode === null, "the stranger is still serving");
    assert.equal(await peer("stranger"), undefined, "an unstaked provider is not listed");
  });

  it("teardown leaves no namespace, interface or process behind (the chain included)", async () => {
    const pids = [chain.pid, buyer.child.pid!, chainAgent.child.pid!, ...Object.values(procs).map((p) => p.child.pid!)];
    assert.ok(processRunning(chain.pid), "the chain ran inside its host until now");
    await buyer.kill();
    await Promise.all(Object.values(procs).map((p) => stopProc(p)));
    await chainAgent.kill();
    net.down();
    // Every interface of the network lives in one of its namespaces (netns.ts): gone with them.
    for (const ns of net.namespaces) assert.ok(!namespaceExists(ns), `${ns} left behind`);
    for (const pid of pids) assert.ok(!processRunning(pid), `process ${pid} left behind`);
  });
});
