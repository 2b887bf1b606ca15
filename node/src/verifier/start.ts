// Starts a standalone verifier from a VerifierConfig: libp2p node (joins the mesh through its
// bootstrap peers), chain clients, the model catalog and the service.
import { join } from "node:path";
import type { Address } from "viem";
import { createMeshNode } from "../mesh/node.ts";
import type { MeshNode } from "../mesh/node.ts";
import { loadOrCreateKey } from "../mesh/identity.ts";
import { peerBindingCheck } from "../chain/binding.ts";
import { Directory } from "../mesh/directory.ts";
import { connectChain } from "../chain/connect.ts";
import { VerifierConfigError } from "./errors.ts";
import type { VerifierConfig } from "./config.ts";
import { ModelCatalog } from "./models.ts";
import { VerifierService } from "./service.ts";
import type { VerifierEvent } from "./service.ts";

/** Longest a stopping verifier waits for its deregistration transaction. */
export const DEREGISTER_TIMEOUT_MS = 3_000;

export type VerifierStartEvent =
  | { event: "listening"; peerId: string; addrs: string[] }
  | { event: "ready"; address: Address; chainId: number; staked: string; minVerifierStake: string; eligible: boolean; models: string[] }
  | VerifierEvent;

export interface RunningVerifier {
  node: MeshNode;
  service: VerifierService;
  models: ModelCatalog;
  stop(): Promise<void>;
}

export async function startVerifier(config: VerifierConfig, onEvent: (e: VerifierStartEvent) => void = () => {}): Promise<RunningVerifier> {
  const { chainId, deployment, publicClient, read, wallet, account } = await connectChain({
    rpcUrl: config.chain!.rpcUrl,
    deployment: config.chain?.deployment,
    privateKey: config.stakingKey!,
  });
  if (!wallet || !account) throw new VerifierConfigError("a verifier needs --staking-key");
  const staked = (await read.staking.read.stakeOf([account.address])).staked;
  const minVerifierStake = await read.staking.read.minVerifierStake();

  const models = new ModelCatalog(config.models);
  // Fail fast on a missing or invalid manifest (stage files are checked when first run).
  for (const id of models.ids()) await models.manifest(id);
  const node = await createMeshNode({
    privateKey: await loadOrCreateKey(config.keyFile),
    listen: config.listen,
    bootstrap: config.bootstrap,
    dht: config.dht,
  });
  onEvent({ event: "listening", peerId: node.peerId.toString(), addrs: node.getMultiaddrs().map(String) });
  // Listens to the providers' capability announcements (announces nothing): their addresses let
  // the verifier reach a provider it is not connected to. Only staked, bound peers are listed.
  const directory = new Directory(node, { checkBinding: peerBindingCheck(read) });
  directory.start();
  const service = new VerifierService({
    node,
    publicClient,
    wallet,
    deployment,
    models,
    spotCheckPpm: config.spotCheckPpm,
    pollMs: config.pollMs,
    stateFile: join(config.dataDir, "verifier-state.json"),
    autoWithdraw: config.withdraw,
    check: { peerAddrs: (peerId) => directory.list().find((a) => a.peerId === peerId)?.addrs ?? [] },
    onEvent,
  });
  service.start();
  onEvent({
    event: "ready",
    address: account.address,
    chainId,
    staked: staked.toString(),
    minVerifierStake: minVerifierStake.toString(),
    eligible: staked >= minVerifierStake,
    models: models.ids(),
  });
  return {
    node,
    service,
    models,
    async stop() {
      await service.stop();
      // A stopped verifier leaves the draw, so samples and seats go to running ones.
      await Promise.race([service.deregister(), new Promise((r) => setTimeout(r, DEREGISTER_TIMEOUT_MS).unref())]);
      directory.stop();
      await models.close();
      await node.stop();
    },
  };
}
