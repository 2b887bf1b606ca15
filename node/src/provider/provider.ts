// The provider's composition root: builds every part of a provider process from a ProviderConfig,
// in dependency order, each given its collaborators when it is constructed (as js-libp2p's
// createLibp2p({ services }) does); nothing is attached to a running part afterwards.
//   identity → libp2p node → chain connection (with --rpc) → trace store + janitor → shards →
//   pipeline and session servers → directory (binding checks from the chain) → router (job
//   filter from the chain) → stage runners → job service (quotes, receipts, watcher) → tensor
//   service for verifiers → gateway (job hooks, OCR image hooks, language models) → register.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { logger } from "@libp2p/logger";
import { zeroAddress } from "viem";
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
import { Router, type JobProviderFilter } from "../router/router.ts";
import { TraceStore } from "../trace/store.ts";
import { TraceJanitor } from "../trace/janitor.ts";
import { Gateway } from "../gateway/server.ts";
import type { GatewayHooks } from "../gateway/server.ts";
import { connectChain } from "../chain/connect.ts";
import type { ChainConnection } from "../chain/connect.ts";
import { peerBindingCheck } from "../chain/binding.ts";
import { jobFinality } from "../jobs/finality.ts";
import { QuotedProvidersCache, quotedJobFilter } from "../jobs/routing.ts";
import { JobsService } from "../jobs/service.ts";
import { JobAdmission } from "../jobs/admission.ts";
import { hopMaxBytes, requestBounds, type RequestBounds } from "../inference/bounds.ts";
import { PipelineAdmission, type JobTerms } from "../pipeline/admission.ts";
import { HandOffs } from "../pipeline/handoff.ts";
import { JobRequestCheck } from "../pipeline/jobrequest.ts";
import { shardMeshDomain } from "../receipts/eip712.ts";
import { MAX_PAYLOAD_BYTES } from "../pipeline/constants.ts";
import { imageInputSize, ocrImageHooks, ocrTaskOf } from "../ocr/gateway.ts";
import { serveTensors, traceSource } from "../verifier/tensors.ts";
import type { ProviderConfig } from "./config.ts";
import { ProviderConfigError } from "./errors.ts";
import { runnerExecutor, stageInputCheck } from "./executor.ts";
import type { WireBag } from "../tensor/index.ts";
import { DecoderGateway } from "../llm/generate.ts";
import { decoderGatewayFiles } from "../llm/split.ts";
import { MeshLlmService } from "../llm/service.ts";
import { SessionClient, SessionServer, sessionStageKey } from "../llm/session-protocol.ts";
import { keepSessionRecords, sessionSeal } from "../llm/handoff.ts";
import { DecoderStageRunner } from "../llm/stage-runner.ts";
import { Reachability } from "../nat/reach.ts";
import type { ReachState } from "../nat/reach.ts";
import { RELAY_LIMITS, relaysOf } from "../nat/relay.ts";
import type { PortMapping } from "../nat/mapping.ts";
import type { OfferedRelay, RelayReservations } from "../nat/relay.ts";

const log = logger("shardmesh:provider");

/** How long a provider waits for peers to supply a stage file it lacks. */
export const SHARD_FETCH_DEADLINE_MS = 60_000;

export type ProviderEvent =
  | { event: "listening"; peerId: string; addrs: string[] }
  | { event: "shard-progress"; progress: ShardProgress }
  | { event: "stage-ready"; modelId: string; stage: number }
  | ({ event: "reach" } & ReachState)
  /** The relays this node is dialable through changed (a reservation made or lost): its circuit addresses. */
  | { event: "relays"; relays: string[] }
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
  /** The chain connection (with --rpc) and the job lifecycle on it (null without a chain). */
  chain: ChainConnection | null;
  jobs: JobsService | null;
  /** Decoder stages this node serves (stateful sessions over /shardmesh/session/1.0.0). */
  sessions: SessionServer;
  stop(): Promise<void>;
}

export interface StartOptions {
  onEvent?: (e: ProviderEvent) => void;
  /** OCR image pre/post-processing for the gateway (default: built from the models' manifests). */
  image?: GatewayHooks["image"] & { close?(): Promise<void> };
  /** A chain connection to use instead of connecting to `config.chain` (tests, embedding). */
  chain?: ChainConnection;
  signal?: AbortSignal;
}

async function fileSha256(path: string): Promise<string> {
  return createHash("sha256")
    .update(await readFile(path))
    .digest("hex");
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

export async function startProvider(config: ProviderConfig, options: StartOptions = {}): Promise<Provider> {
  const emit = options.onEvent ?? (() => {});
  // Every part is stopped in the reverse order it was built: on stop(), and when building fails
  // half-way (nothing is left running).
  const built: (() => unknown)[] = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of built.reverse()) {
      try {
        await stop();
      } catch (err) {
        log("stopping: %s", (err as Error).message);
      }
    }
    built.length = 0;
  };
  try {
    const provider = await build(config, options, emit, (stop) => built.push(stop));
    let stopped = false;
    return {
      ...provider,
      async stop() {
        if (stopped) return;
        stopped = true;
        await stopAll();
      },
    };
  } catch (err) {
    await stopAll();
    throw err;
  }
}

async function build(
  config: ProviderConfig,
  options: StartOptions,
  emit: (e: ProviderEvent) => void,
  onStop: (stop: () => unknown) => void,
): Promise<Omit<Provider, "stop">> {
  // Who is served is decided on chain (staked, bound peers); a mesh without one says it is a dev mesh.
  if (!options.chain && !config.chain && !config.unstaked) {
    throw new ProviderConfigError("no chain to check peers' stakes: pass --rpc, or --unstaked for a development mesh");
  }
  const node = await createMeshNode({
    privateKey: await loadOrCreateKey(config.keyFile),
    listen: config.listen,
    bootstrap: config.bootstrap,
    dht: config.dht,
    relay: config.relay,
    announce: config.announce,
  });
  onStop(() => node.stop());
  const peerId = node.peerId.toString();
  emit({ event: "listening", peerId, addrs: node.getMultiaddrs().map(String) });
  // The data plane listens where libp2p does, so peers that reach one reach the other.
  const host = listenHost(config.listen);

  const chain =
    options.chain ??
    (config.chain
      ? await connectChain({ rpcUrl: config.chain.rpcUrl, deployment: config.chain.deployment, privateKey: config.stakingKey })
      : null);

  const trace = new TraceStore({ path: join(config.dataDir, "trace.sqlite"), retentionMs: config.traceRetentionMs });
  onStop(() => trace.close());
  // Tensors past retention go once no receipt can need them; without a chain (no receipts) by age alone.
  const janitor = config.keepTensors === false ? null : new TraceJanitor(trace, { isJobFinal: chain ? jobFinality(chain) : undefined });
  janitor?.start();
  onStop(() => janitor?.stop());
  const shards = new ShardService(node, config.dataDir);
  await shards.start();
  onStop(() => shards.stop());

  const stages = new Map<string, StageExecutor & { close(): Promise<void> }>();
  // Reachability: a peer outside our networks dials back our libp2p and data-plane ports. While
  // reachable we offer relaying (and say so); behind NAT we are dialled through relays and our
  // hops open their data plane by hole punching (nat/).
  const reach: Reachability = new Reachability(node, {
    libp2pPort: () => listenPort(node),
    dataPlanePort: (): number | undefined => server.dataPlanePort || undefined,
  });
  // Who is served over the pipeline: peers within a job this node is part of (on chain), or under
  // the free tier if the directory lists them (built below; nothing is admitted before it exists).
  let directory: Directory | undefined;
  const manifests = new Map<string, LoadedManifest>();
  for (const m of config.models) manifests.set(m.modelId, await loadManifest(m.manifest));
  const admission = new PipelineAdmission({
    unstaked: config.unstaked,
    listed: (peerId) => directory?.vouched(peerId) ?? false,
    jobTerms: chain ? jobTermsOf(chain) : undefined,
    stageBytes: (modelId, s) => stageBytesOf(manifests.get(modelId), s),
    freeTierPerSecond: config.freeTierPerSecond,
    retentionMs: trace.retentionMs,
  });
  // A job's quoted providers per stage (fixed when it opened): whom the router may route a job's
  // hops to, and whose hand-offs this provider accepts.
  const quoted = chain ? new QuotedProvidersCache(chain) : undefined;
  const domain = chain ? shardMeshDomain(chain.chainId, chain.deployment.contracts.JobMarket.address) : undefined;
  const handOffs =
    quoted && domain && chain?.account
      ? new HandOffs({
          domain,
          signer: chain.account,
          quoted: async (jobId, stage) => (await quoted.get(jobId)).get(stage) ?? new Set(),
          stageCount: (modelId) => manifests.get(modelId)?.manifest.stages.length,
        })
      : undefined;
  // Every stage of a paid job works only on the buyer's own request (its session key's signature).
  const jobRequests =
    chain && domain
      ? new JobRequestCheck({
          domain,
          sessionKey: async (jobId) => {
            const job = await chain.read.market.read.job([BigInt(jobId)]).catch(() => undefined);
            return !job || job.sessionKey === zeroAddress ? undefined : job.sessionKey;
          },
        })
      : undefined;
  const server: PipelineServer = new PipelineServer(node, {
    stages,
    trace,
    keepTensors: config.keepTensors,
    dataPlaneHost: host,
    dataPlanePort: config.dataPort,
    reach,
    admission,
    handOffs,
    jobRequests,
  });
  await server.start();
  onStop(() => server.stop());
  // Decoder block stages keep KV caches between steps: they are served as sessions, not requests.
  const decoderStages = new Map<string, DecoderStageRunner>();
  const sessions = new SessionServer(node, { stages: decoderStages, jobRequests });
  await sessions.start();
  onStop(() => sessions.stop());
  onStop(() => Promise.all([...stages.values(), ...decoderStages.values()].map((r) => r.close())));
  const { relay, relayReservations, portMapping } = node.services as {
    relay?: OfferedRelay;
    relayReservations?: RelayReservations;
    portMapping?: PortMapping;
  };

  const binding: PeerBinding | undefined = config.stakingKey
    ? await signBinding(privateKeyToAccount(config.stakingKey), peerId)
    : undefined;
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
  // The gateway (built last) announces its URL once it listens.
  let gatewayUrl: string | undefined;
  directory = new Directory(node, {
    checkBinding: chain ? peerBindingCheck(chain.read) : undefined,
    unstaked: config.unstaked,
    announce: () => {
      const load = server.load();
      return {
        models: offers(),
        capacity: config.capacity,
        load: load.inflight,
        latencyMs: Math.round(load.computeMs * 10) / 10,
        gateway: gatewayUrl,
        binding,
        reach: reach.state.status,
        ...(relay?.offered ? { relay: RELAY_LIMITS } : {}),
      };
    },
  });
  directory.start();
  onStop(() => directory.stop());
  reach.addEventListener("change", ({ detail }: CustomEvent<ReachState>) => {
    emit({ event: "reach", ...detail });
    // Reachable through a port forwarded by the router: announce the router's address (nat/mapping.ts).
    portMapping?.update(detail, listenPort(node));
    directory.markDirty();
    void relay?.offer(detail.status === "reachable").then(() => directory.markDirty());
    // Behind NAT (and no address pinned by the operator): be reachable through relays.
    if (detail.status === "unreachable" && !config.announce?.length) {
      relayReservations?.reserve().catch((err: Error) => log.error("relay reservations: %s", err.message));
    }
  });
  // Whether peers can dial us through relays is told from our own circuit addresses (a
  // reservation made, a relay lost), not promised with the verdict.
  let relays = "";
  const onSelfUpdate = (): void => {
    const now = relaysOf(node.getMultiaddrs());
    if (now.join() === relays) return;
    relays = now.join();
    emit({ event: "relays", relays: now });
  };
  node.addEventListener("self:peer:update", onSelfUpdate);
  onStop(() => node.removeEventListener("self:peer:update", onSelfUpdate));
  await reach.start();
  onStop(() => reach.stop());
  const client = new PipelineClient(node, { reach, localHost: host });
  onStop(() => client.close());
  // A job's requests go only to providers it accepted quotes from (others' receipt parts are refused on chain).
  const jobFilter = quoted ? quotedJobFilter(quoted) : undefined;
  const router = new Router(directory, client, { local: server, jobFilter, handOffDomain: domain });

  await loadStages(config, options, emit, { manifests, shards, directory, stages, decoderStages, trace, peerId, handOffs });

  const jobs = chain
    ? new JobsService(
        { chain, node, peerId, trace, directory, models: config.models },
        { dataDir: config.dataDir, stake: config.stake ? BigInt(config.stake) : undefined },
      )
    : null;
  await jobs?.start();
  onStop(() => jobs?.stop());
  // Verifiers fetch the tensors of sampled requests from the provider that served them.
  onStop(await serveTensors(node, traceSource(trace)));

  const gateway = config.gateway
    ? await startGateway(
        config,
        config.gateway,
        options,
        { peerId, chain, directory, router, trace, jobs, manifests, decoderStages, node, shards, jobFilter },
        onStop,
      )
    : null;
  gatewayUrl = gateway?.url || undefined;
  if (gateway) directory.markDirty();

  if (config.register) {
    if (!jobs) throw new ProviderConfigError("--register needs --rpc and --staking-key");
    await jobs.register();
  }
  emit({
    event: "ready",
    peerId,
    addrs: node.getMultiaddrs().map(String),
    gateway: gateway?.url ?? null,
    stages: [...stages.keys(), ...decoderStages.keys()],
  });
  return { node, peerId, directory, router, server, client, trace, janitor, shards, gateway, chain, jobs, sessions };
}

/** This provider's terms in a job at a stage, read from the market (undefined without a staking address). */
function jobTermsOf(chain: ChainConnection): (jobId: string, stage: number) => Promise<JobTerms | undefined> {
  const me = chain.account?.address;
  return async (jobId, stage) => {
    if (!me) return undefined;
    const t = await chain.read.market.read.stageTerms([BigInt(jobId), BigInt(stage), me]);
    return { maxUnits: Number(t.maxUnits) };
  };
}

/**
 * Largest bytes one request of stage `s` moves in and out (the per-job trace cap counts this per
 * unit): the request bound or the incoming hop's, plus the outgoing hop's (a last stage's output
 * is bounded by the frame limit only).
 */
function stageBytesOf(lm: LoadedManifest | undefined, s: number): number | undefined {
  if (!lm || lm.manifest.decoder) return undefined;
  try {
    const b = requestBounds(lm.manifest);
    const inBytes = s === 0 ? b.maxBytes : hopMaxBytes(lm.manifest, b, s - 1);
    const outBytes = s < lm.manifest.hops.length ? hopMaxBytes(lm.manifest, b, s) : MAX_PAYLOAD_BYTES;
    return inBytes + outBytes;
  } catch {
    return undefined;
  }
}

/** What stage `s` of a model checks its incoming bags against (none when the manifest has no usable bounds). */
function boundsCheck(lm: LoadedManifest, s: number): ((bag: WireBag) => void) | undefined {
  try {
    return stageInputCheck(lm.manifest, requestBounds(lm.manifest), s);
  } catch (err) {
    log.error("stage %d of %s: no request bounds (%s): inputs checked by shape only", s, lm.manifest.model.name, (err as Error).message);
    return undefined;
  }
}

/** Stage files: serve every one held here; fetch the ones this node must run but lacks; start their runners. */
async function loadStages(
  config: ProviderConfig,
  options: StartOptions,
  emit: (e: ProviderEvent) => void,
  parts: {
    manifests: Map<string, LoadedManifest>;
    shards: ShardService;
    directory: Directory;
    stages: Map<string, StageExecutor & { close(): Promise<void> }>;
    decoderStages: Map<string, DecoderStageRunner>;
    trace: TraceStore;
    peerId: string;
    handOffs: HandOffs | undefined;
  },
): Promise<void> {
  const { manifests, shards, directory, stages, decoderStages, trace, peerId, handOffs } = parts;
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
              bytes: st.bytes,
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
          // A paid session's trace (hidden states in and out per position, llm/trace.ts), owned
          // by the peer that opened it: receipts and spot checks read it.
          selfId: peerId,
          // Kept only with the upstream's hand-off over its input; signs its own (llm/handoff.ts).
          seal: handOffs ? sessionSeal(handOffs, m.modelId, s) : undefined,
          onTrace: keepSessionRecords(trace, m.modelId, s, config.keepTensors !== false),
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
        stages.set(stageKey(m.modelId, s), runnerExecutor(runner, boundsCheck(lm, s)));
      }
      directory.markDirty();
      directory.publish();
      emit({ event: "stage-ready", modelId: m.modelId, stage: s });
    }
  }
}

/** The buyer-facing HTTP gateway with its job hooks, OCR image hooks and language models. */
async function startGateway(
  config: ProviderConfig,
  http: NonNullable<ProviderConfig["gateway"]>,
  options: StartOptions,
  parts: {
    node: MeshNode;
    peerId: string;
    chain: ChainConnection | null;
    directory: Directory;
    router: Router;
    trace: TraceStore;
    jobs: JobsService | null;
    manifests: Map<string, LoadedManifest>;
    decoderStages: Map<string, DecoderStageRunner>;
    shards: ShardService;
    jobFilter: JobProviderFilter | undefined;
  },
  onStop: (stop: () => unknown) => void,
): Promise<Gateway> {
  const { node, peerId, chain, directory, router, trace, jobs, manifests, decoderStages, shards, jobFilter } = parts;
  // Buyers may post images to OCR models: the task comes from the manifest's model name, the
  // largest image it takes (and so the pixel cap) from its request bounds.
  let image = options.image;
  if (!image) {
    const own = ocrImageHooks((id) => (manifests.has(id) ? ocrTaskOf(manifests.get(id)!.manifest.model.name) : undefined), {
      inputSize: (id) => (manifests.has(id) ? imageInputSize(requestBounds(manifests.get(id)!.manifest)) : undefined),
    });
    onStop(() => own.close());
    image = own;
  }
  // The gateway runs each decoder's embeddings, head and sampling itself (files next to the manifest).
  const decoderGateways = new Map<string, DecoderGateway>();
  onStop(() => Promise.all([...decoderGateways.values()].map((g) => g.close())));
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
  const sessionClient = new SessionClient(node);
  onStop(() => sessionClient.close());
  const llm =
    decoderGateways.size > 0
      ? new MeshLlmService({ directory, client: sessionClient, selfPeerId: peerId, local, gateways: decoderGateways, jobFilter })
      : undefined;
  // Request bounds of every model whose manifest this node holds (a decoder's requests go through
  // the OpenAI routes, whose own limits apply; /v1/infer does not serve it).
  const bounds = new Map<string, RequestBounds>();
  for (const [id, lm] of manifests) {
    if (lm.manifest.decoder) continue;
    try {
      bounds.set(id, requestBounds(lm.manifest));
    } catch (err) {
      log.error("model %s has no usable request bounds, not served on /v1/infer: %s", id, (err as Error).message);
    }
  }
  const gateway = new Gateway({
    host: http.host,
    port: http.port,
    cors: http.cors,
    unsignedJobs: http.unsignedJobs,
    bounds: (id) => bounds.get(id),
    maxRequestBytes: Math.max(0, ...[...bounds.values()].map((b) => b.maxBytes)),
    limits: http.limits,
    peerId,
    chainId: chain?.chainId,
    directory,
    router,
    trace,
    // One owner of a job's count and indices; the limit is the job's maxUnits on chain.
    admission: new JobAdmission({ store: trace, maxUnits: jobs ? (id) => jobs.maxUnits(id) : undefined }),
    hooks: { ...jobs?.hooks(), image },
    llm,
  });
  await gateway.start();
  onStop(() => gateway.stop());
  return gateway;
}
