// Wires a provider process: identity, libp2p node, shards, stage runners, pipeline server,
// capability directory, router and (optionally) the HTTP gateway, from a ProviderConfig.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { logger } from "@libp2p/logger";
import { privateKeyToAccount } from "viem/accounts";
import { loadManifest } from "../inference/manifest.ts";
import type { LoadedManifest } from "../inference/manifest.ts";
import { StageRunner } from "../inference/runner.ts";
import { createMeshNode } from "../mesh/node.ts";
import type { MeshNode } from "../mesh/node.ts";
import { loadOrCreateKey, signBinding } from "../mesh/identity.ts";
import type { PeerBinding } from "../mesh/identity.ts";
import { Directory } from "../mesh/directory.ts";
import type { ModelOffer } from "../mesh/directory.ts";
import { ShardService } from "../mesh/shards.ts";
import type { ShardProgress } from "../mesh/shards.ts";
import { PipelineServer, stageKey } from "../pipeline/server.ts";
import type { StageExecutor } from "../pipeline/server.ts";
import { PipelineClient } from "../pipeline/client.ts";
import { Router } from "../router/router.ts";
import { TraceStore } from "../trace/store.ts";
import { TraceJanitor } from "../trace/janitor.ts";
import { Gateway } from "../gateway/server.ts";
import type { GatewayHooks } from "../gateway/server.ts";
import type { ProviderConfig } from "./config.ts";
import { runnerExecutor } from "./executor.ts";
import { DecoderGateway } from "../llm/generate.ts";
import { decoderGatewayFiles } from "../llm/split.ts";
import { MeshLlmService } from "../llm/service.ts";
import { SessionClient, SessionServer, sessionStageKey } from "../llm/session-protocol.ts";
import { DecoderStageRunner } from "../llm/stage-runner.ts";
import { Reachability } from "../nat/reach.ts";
import type { ReachState } from "../nat/reach.ts";
import { RELAY_LIMITS } from "../nat/relay.ts";
import type { OfferedRelay, RelayReservations } from "../nat/relay.ts";

const log = logger("shardmesh:provider");

/** How long a provider waits for peers to supply a stage file it lacks. */
export const SHARD_FETCH_DEADLINE_MS = 60_000;

export type ProviderEvent =
  | { event: "listening"; peerId: string; addrs: string[] }
  | ({ event: "reach" } & ReachState)
  | { event: "shard-progress"; progress: ShardProgress }
  | { event: "stage-ready"; modelId: string; stage: number }
  | { event: "ready"; peerId: string; addrs: string[]; gateway: string | null; stages: string[] };

export interface Provider {
  node: MeshNode;
  peerId: string;
  directory: Directory;
  router: Router;
  server: PipelineServer;
  client: PipelineClient;
  trace: TraceStore;
  /** Drops tensors past retention that no receipt can need (null with keepTensors false). */
  janitor: TraceJanitor | null;
  shards: ShardService;
  gateway: Gateway | null;
  /** Decoder stages this node serves (stateful sessions over /shardmesh/session/1.0.0). */
  sessions: SessionServer;
  stop(): Promise<void>;
}

export interface StartOptions {
  onEvent?: (e: ProviderEvent) => void;
  /** Extra gateway hooks (chain: quotes, receipts, session keys; OCR image handling). */
  hooks?: GatewayHooks;
  /** Check a peer's staking binding on chain. */
  checkBinding?: (peerId: string, address: string) => Promise<boolean>;
  /** Whether a job can no longer produce or resolve receipts (chain support's `isJobFinal`). */
  isJobFinal?: (jobId: string) => Promise<boolean>;
  chainId?: number;
  signal?: AbortSignal;
}

/** The IP of the first TCP listen address (where the data plane listens too); 127.0.0.1 without one. */
export function listenHost(listen: string[]): string {
  for (const a of listen) {
    const m = /^\/ip[46]\/([^/]+)\/tcp\//.exec(a);
    if (m) return m[1];
  }
  return "127.0.0.1";
}

/** The port libp2p's TCP listener got. */
function listenPort(node: MeshNode): number | undefined {
  for (const ma of node.getMultiaddrs()) {
    if (ma.toString().includes("/p2p-circuit")) continue;
    const tcp = ma.getComponents().find((c) => c.name === "tcp");
    if (tcp?.value) return Number(tcp.value);
  }
  return undefined;
}

async function fileSha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
}

export async function startProvider(config: ProviderConfig, options: StartOptions = {}): Promise<Provider> {
  const emit = options.onEvent ?? (() => {});
  const key = await loadOrCreateKey(config.keyFile);
  const node = await createMeshNode({
    privateKey: key,
    listen: config.listen,
    bootstrap: config.bootstrap,
    dht: config.dht,
    relay: config.relay,
    announce: config.announce,
  });
  const peerId = node.peerId.toString();
  emit({ event: "listening", peerId, addrs: node.getMultiaddrs().map(String) });
  // The data plane listens where libp2p does, so peers that reach one reach the other.
  const host = listenHost(config.listen);

  const trace = new TraceStore({ path: join(config.dataDir, "trace.sqlite"), retentionMs: config.traceRetentionMs });
  // Tensors past retention go once no receipt can need them; without a chain (no receipts) by age
  // alone. A provider configured with a chain but given no finality check keeps them all.
  let isJobFinal = options.isJobFinal;
  if (!isJobFinal && config.chain) {
    log.error("chain configured but no job finality check given: trace tensors are never pruned");
    isJobFinal = async () => false;
  }
  const janitor = config.keepTensors === false ? null : new TraceJanitor(trace, { isJobFinal });
  janitor?.start();
  const shards = new ShardService(node, config.dataDir);
  await shards.start();
  const stages = new Map<string, StageExecutor & { close(): Promise<void> }>();
  // Reachability: a peer outside our networks dials back our libp2p and data-plane ports. While
  // reachable we offer relaying (and say so); behind NAT we are dialled through relays and our
  // hops open their data plane by hole punching (nat/).
  const reach: Reachability = new Reachability(node, {
    libp2pPort: () => listenPort(node),
    dataPlanePort: (): number | undefined => server.dataPlanePort || undefined,
  });
  const server: PipelineServer = new PipelineServer(node, { stages, trace, keepTensors: config.keepTensors, dataPlaneHost: host, reach });
  await server.start();
  // Decoder block stages keep KV caches between steps: they are served as sessions, not requests.
  const decoderStages = new Map<string, DecoderStageRunner>();
  const sessions = new SessionServer(node, { stages: decoderStages });
  await sessions.start();
  const { relay, relayReservations } = node.services as { relay?: OfferedRelay; relayReservations?: RelayReservations };
  reach.addEventListener("change", ({ detail }: CustomEvent<ReachState>) => {
    emit({ event: "reach", ...detail });
    void relay?.offer(detail.status === "reachable").then(() => directory.markDirty());
    // Behind NAT (and no address pinned by the operator): be reachable through relays.
    if (detail.status === "unreachable" && !config.announce?.length) {
      relayReservations?.reserve().catch((err: Error) => log.error("relay reservations: %s", err.message));
    }
  });
  await reach.start();

  let binding: PeerBinding | undefined;
  if (config.stakingKey) binding = await signBinding(privateKeyToAccount(config.stakingKey), peerId);

  const manifests = new Map<string, LoadedManifest>();
  for (const m of config.models) manifests.set(m.modelId, await loadManifest(m.manifest));
  let gateway: Gateway | null = null;
  const offers = (): ModelOffer[] =>
    config.models.map((m) => {
      const lm = manifests.get(m.modelId)!;
      return {
        modelId: m.modelId,
        name: m.name ?? lm.manifest.model.name,
        stageCount: lm.manifest.stages.length,
        stages: m.stages
          .filter((s) => stages.has(stageKey(m.modelId, s)) || decoderStages.has(sessionStageKey(m.modelId, s)))
          .map((s) => {
            const dec = decoderStages.get(sessionStageKey(m.modelId, s));
            const kv = dec ? { kvFreeBytes: dec.freeKvBytes(), kvBytesPerToken: dec.kvBytesPerToken } : {};
            return { stage: s, price: String(m.price), sha256: lm.manifest.stages[s].sha256, ...kv };
          }),
      };
    });
  const directory = new Directory(node, {
    checkBinding: options.checkBinding,
    announce: () => {
      const load = server.load();
      return {
        models: offers(),
        capacity: config.capacity,
        load: load.inflight,
        latencyMs: Math.round(load.computeMs * 10) / 10,
        gateway: gateway?.url || undefined,
        binding,
        reach: reach.state.status,
        ...(relay?.offered ? { relay: RELAY_LIMITS } : {}),
      };
    },
  });
  directory.start();
  const client = new PipelineClient(node, { reach, localHost: host });
  const router = new Router(directory, client, { local: server });

  // Stage files: serve every one we hold; fetch the ones we must run but lack.
  for (const m of config.models) {
    const lm = manifests.get(m.modelId)!;
    // A decoder's gateway parts and tokenizer files travel the same way, so a gateway needs only the manifest.
    const dec = lm.manifest.decoder;
    const files = [...lm.manifest.stages.map((st) => ({ path: st.file, sha256: st.sha256 })), ...(dec ? decoderGatewayFiles(dec) : [])];
    for (const f of files) {
      const path = join(lm.dir, f.path);
      if (existsSync(path) && (await fileSha256(path)) === f.sha256) void shards.add(f.sha256, path);
    }
  }
  for (const m of config.models) {
    const lm = manifests.get(m.modelId)!;
    for (const s of m.stages) {
      const st = lm.manifest.stages[s];
      if (!st) throw new Error(`model ${m.modelId} has no stage ${s}`);
      let file = shards.local(st.sha256);
      if (!file) {
        const hints = () =>
          directory
            .list()
            .filter((a) => a.models.some((o) => o.stages.some((x) => x.sha256 === st.sha256)))
            .map((a) => a.peerId);
        const deadline = Date.now() + SHARD_FETCH_DEADLINE_MS;
        for (;;) {
          try {
            file = await shards.fetch(st.sha256, {
              hints: hints(),
              signal: options.signal,
              onProgress: (progress) => emit({ event: "shard-progress", progress }),
            });
            void shards.add(st.sha256, file);
            break;
          } catch (err) {
            if (Date.now() > deadline || options.signal?.aborted) throw err;
            log("waiting for a holder of stage %d of %s: %s", s, m.modelId, (err as Error).message);
            await new Promise((r) => setTimeout(r, 500));
          }
        }
      }
      if (lm.manifest.decoder) {
        const runner = await DecoderStageRunner.create(file, {
          cache: st.cache ?? [],
          inputs: st.inputs,
          maxPositions: lm.manifest.decoder.config.maxPositions,
          graphOptimizationLevel: lm.manifest.runtime.graphOptimizationLevel,
          kvBudgetBytes: config.kvCacheBytes,
          workers: config.workers,
          intraOpThreads: config.intraOpThreads,
          label: `${m.modelId} stage ${s}`,
        });
        decoderStages.set(sessionStageKey(m.modelId, s), runner);
      } else {
        const runner = await StageRunner.create(file, {
          graphOptimizationLevel: lm.manifest.runtime.graphOptimizationLevel,
          label: `${m.modelId} stage ${s}`,
          workers: config.workers,
          intraOpThreads: config.intraOpThreads,
          inputs: st.inputs,
          forward: st.forward,
        });
        stages.set(stageKey(m.modelId, s), runnerExecutor(runner));
      }
      directory.markDirty();
      directory.publish();
      emit({ event: "stage-ready", modelId: m.modelId, stage: s });
    }
  }

  const sessionClient = new SessionClient(node);
  const decoderGateways = new Map<string, DecoderGateway>();
  if (config.gateway) {
    // The gateway runs each decoder's embeddings, head and sampling itself (files next to the manifest).
    for (const m of config.models) {
      const lm = manifests.get(m.modelId)!;
      if (!lm.manifest.decoder) continue;
      try {
        // Files missing next to the manifest come from peers by sha256, like stage files.
        const where = new Map<string, string>();
        for (const f of decoderGatewayFiles(lm.manifest.decoder)) {
          const local = join(lm.dir, f.path);
          if (existsSync(local) && (await fileSha256(local)) === f.sha256) continue;
          const holders = () =>
            directory
              .list()
              .filter((a) => a.models.some((o) => o.modelId === m.modelId))
              .map((a) => a.peerId);
          const deadline = Date.now() + SHARD_FETCH_DEADLINE_MS;
          for (;;) {
            try {
              const file = await shards.fetch(f.sha256, { hints: holders(), signal: options.signal });
              void shards.add(f.sha256, file);
              where.set(f.path, file);
              break;
            } catch (err) {
              if (Date.now() > deadline || options.signal?.aborted) throw err;
              await new Promise((r) => setTimeout(r, 500));
            }
          }
        }
        decoderGateways.set(m.modelId, await DecoderGateway.open(lm, { locate: (f) => where.get(f) ?? join(lm.dir, f) }));
      } catch (err) {
        log.error("language model %s not offered on this gateway: %s", m.modelId, (err as Error).message);
      }
    }
    const local = new Map<string, Map<number, DecoderStageRunner>>();
    for (const m of config.models) {
      for (const s of m.stages) {
        const r = decoderStages.get(sessionStageKey(m.modelId, s));
        if (!r) continue;
        if (!local.has(m.modelId)) local.set(m.modelId, new Map());
        local.get(m.modelId)!.set(s, r);
      }
    }
    const llm =
      decoderGateways.size > 0
        ? new MeshLlmService({ directory, client: sessionClient, selfPeerId: peerId, local, gateways: decoderGateways })
        : undefined;
    gateway = new Gateway({
      host: config.gateway.host,
      port: config.gateway.port,
      cors: config.gateway.cors,
      unsignedJobs: config.gateway.unsignedJobs,
      peerId,
      chainId: options.chainId,
      directory,
      router,
      trace,
      hooks: options.hooks,
      llm,
    });
    await gateway.start();
    directory.markDirty();
  }
  emit({
    event: "ready",
    peerId,
    addrs: node.getMultiaddrs().map(String),
    gateway: gateway?.url ?? null,
    stages: [...stages.keys(), ...decoderStages.keys()],
  });

  let stopped = false;
  return {
    node,
    peerId,
    directory,
    router,
    server,
    client,
    trace,
    janitor,
    shards,
    gateway,
    sessions,
    async stop() {
      if (stopped) return;
      stopped = true;
      janitor?.stop();
      await gateway?.stop();
      directory.stop();
      await reach.stop();
      client.close();
      sessionClient.close();
      await sessions.stop().catch(() => {});
      await server.stop().catch(() => {});
      await shards.stop().catch(() => {});
      await node.stop();
      await Promise.all([...stages.values(), ...decoderStages.values(), ...decoderGateways.values()].map((s) => s.close()));
      trace.close();
    },
  };
}
