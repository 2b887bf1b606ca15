// Provider configuration: a JSON file plus command-line flags (flags win). Paths in the file
// are relative to the file's folder.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { ProviderConfigError } from "./errors.ts";
import { parseFlags } from "../util/args.ts";
import { MAX_ANNOUNCED_CAPACITY } from "../mesh/constants.ts";
import { parseUnits } from "viem";
import { TOKEN_DECIMALS, TOKEN_SYMBOL } from "../util/format.ts";
import type { GatewayLimits } from "../gateway/admission.ts";

export interface ModelConfig {
  /** Registry model id (what buyers ask for). */
  modelId: string;
  name?: string;
  /** manifest.json of the model's shard plan. */
  manifest: string;
  /** Stages served by this provider. */
  stages: number[];
  /** Price per inference per stage, token base units (decimal string). */
  price: string;
}

export interface ProviderConfig {
  /** libp2p identity key file (created on first start). */
  keyFile: string;
  /** Trace store, fetched shards, state. */
  dataDir: string;
  listen: string[];
  bootstrap: string[];
  /**
   * Public addresses the operator pins (a forwarded port): announced instead of the listen
   * addresses, no relay reservations. Reachability is still checked (dial-back on the listen
   * port) and announced. Empty: discovered (a forwarded listen port is announced at the
   * router's address: nat/mapping.ts).
   */
  announce?: string[];
  /**
   * The pipeline data plane's TCP port (default 0: any free port). Behind a router that forwards
   * it too (same port), hops to this node take a direct data plane instead of a hole punch.
   */
  dataPort?: number;
  /** Circuit relay: reserve relay slots while behind NAT, offer relaying while reachable (default true). */
  relay?: boolean;
  /** Requests run at once (announced). */
  capacity: number;
  /** onnxruntime sessions (worker threads) per stage. */
  workers: number;
  /** onnxruntime intra-op threads per session (default 1: other stages and jobs share the cores). */
  intraOpThreads?: number;
  /** KV-cache budget per decoder stage, bytes (default DEFAULT_KV_BUDGET_BYTES, 256 MiB). */
  kvCacheBytes?: number;
  models: ModelConfig[];
  gateway: { host: string; port: number; cors: string[]; unsignedJobs: boolean; limits?: Partial<GatewayLimits> } | null;
  /** Run the kad-dht (content routing of stage files). */
  dht: boolean;
  /** Keep tensors in the trace store. */
  keepTensors: boolean;
  /** Tensors are kept at least this long, ms, and then until no receipt can need them (default 24 h). */
  traceRetentionMs?: number;
  /** Staking wallet private key (0x…): signs the peer binding; with `chain`, stakes and binds on chain. */
  stakingKey?: `0x${string}`;
  chain?: { rpcUrl: string; deployment?: string };
  /** Stake and bind the peer id on chain at start. */
  register: boolean;
  /** Stake amount for --register, token base units (the `--stake` flag takes tokens). */
  stake?: string;
  /**
   * Development meshes without a chain: list and route to peers that are not staked, serve
   * pipeline requests of any job id (`--unstaked`). A node without `chain` needs it said.
   */
  unstaked?: boolean;
  /** Pipeline requests outside any job this node serves per peer and second (the free tier; 0 = none). */
  freeTierPerSecond?: number;
}

export const DEFAULT_CONFIG: ProviderConfig = {
  keyFile: "./.shardmesh/node.key",
  dataDir: "./.shardmesh",
  listen: ["/ip4/127.0.0.1/tcp/0"],
  bootstrap: [],
  announce: [],
  relay: true,
  capacity: 4,
  workers: 1,
  models: [],
  gateway: { host: "127.0.0.1", port: 0, cors: ["http://localhost:3000", "http://127.0.0.1:3000"], unsignedJobs: false },
  dht: true,
  keepTensors: true,
  register: false,
};

export const PROVIDER_FLAGS = `
  --config <file>          JSON config (see node/src/provider/config.ts)
  --key-file <path>        libp2p identity key file (created if absent)
  --data-dir <dir>         trace store and fetched shards
  --listen <multiaddr>     listen address (repeatable; default /ip4/127.0.0.1/tcp/0)
  --bootstrap <multiaddr>  bootstrap peer with /p2p/<id> (repeatable)
  --announce <multiaddr>   pin this public address (e.g. a forwarded port; repeatable); default: reachability
                           is discovered: a listen port the router forwards is announced at the router's
                           address, and a node behind NAT is otherwise reached through relays
  --data-port <port>       the data plane's TCP port (default: any free port); forward it too for direct hops
  --no-relay               neither reserve relay slots behind NAT nor offer relaying when reachable
  --model <id>=<manifest>:<stages>:<price>   serve stages at <price> token base units per unit (e.g. rec=./m/manifest.json:0,1:1000; repeatable)
  --capacity <n>           requests run at once (default 4)
  --workers <n>            onnxruntime sessions per stage (default 1)
  --kv-cache-mib <n>       KV-cache budget per language-model stage, MiB (default 256)
  --intra-op-threads <n>   onnxruntime threads per session (default 1)
  --gateway-port <port>    HTTP gateway port (default 0 = any free port)
  --gateway-host <host>    HTTP gateway host (default 127.0.0.1)
  --no-gateway             do not serve the HTTP gateway
  --cors <origin>          allowed browser origin (repeatable, "*" for any)
  --unsigned-jobs          accept job requests without a session-key signature (dev meshes only)
  --unpaid-rate <n>        unpaid gateway requests per second per client address (default 2; 0 = none)
  --unpaid-burst <n>       unpaid requests a client may send in a row after being idle (default 10;
                           at most ⌈unpaid-rate⌉ of them run at once)
  --no-dht                 no kad-dht
  --no-keep-tensors        trace hashes only, no tensors
  --trace-retention-ms <ms>  keep tensors at least this long, then until no receipt can need them (default 24 h)
  --staking-key <0x…>      staking wallet key (or env SHARDMESH_STAKING_KEY)
  --rpc <url>              chain JSON-RPC URL (enables on-chain binding checks)
  --register               stake and bind the peer id on chain at start (needs --rpc, --staking-key)
  --unstaked               development mesh: list and serve peers that are not staked (needed without --rpc)
  --free-tier <n>          pipeline requests outside any job served per listed peer and second (default 20; 0 = none)
  --stake <tokens>         stake for --register, in ${TOKEN_SYMBOL} (e.g. 5000 or 0.5)
  --json                   print machine-readable events (one JSON object per line)`;

function parseModelFlag(v: string): ModelConfig {
  const m = /^([^=]+)=(.+):([\d,]+):(\d+)$/.exec(v);
  if (!m) throw new ProviderConfigError(`--model ${v}: expected <id>=<manifest>:<stages>:<price>`);
  return { modelId: m[1], manifest: resolve(m[2]), stages: m[3].split(",").map(Number), price: m[4] };
}

/** Parse argv (after `provider start`) into a config; returns it with CLI-only options. */
export function loadProviderConfig(argv: string[]): { config: ProviderConfig; json: boolean; help: boolean } {
  const { flags, bools, help } = parseFlags(
    argv,
    {
      strings: [
        "config",
        "key-file",
        "data-dir",
        "listen",
        "bootstrap",
        "announce",
        "data-port",
        "model",
        "capacity",
        "workers",
        "kv-cache-mib",
        "intra-op-threads",
        "gateway-port",
        "gateway-host",
        "cors",
        "unpaid-rate",
        "unpaid-burst",
        "free-tier",
        "staking-key",
        "rpc",
        "stake",
        "trace-retention-ms",
      ],
      booleans: ["no-gateway", "unsigned-jobs", "no-dht", "no-relay", "no-keep-tensors", "register", "json", "unstaked"],
    },
    (message) => new ProviderConfigError(message),
  );
  if (help) return { config: structuredClone(DEFAULT_CONFIG), json: false, help: true };

  let config: ProviderConfig = structuredClone(DEFAULT_CONFIG);
  const file = flags.get("config")?.[0];
  if (file) {
    let raw: Partial<ProviderConfig>;
    try {
      raw = JSON.parse(readFileSync(file, "utf8")) as Partial<ProviderConfig>;
    } catch (err) {
      throw new ProviderConfigError(`cannot read config ${file}: ${(err as Error).message}`);
    }
    const base = dirname(resolve(file));
    const rel = (p: string) => resolve(base, p);
    config = { ...config, ...raw, gateway: raw.gateway === null ? null : { ...DEFAULT_CONFIG.gateway!, ...(raw.gateway ?? {}) } };
    if (raw.keyFile) config.keyFile = rel(raw.keyFile);
    if (raw.dataDir) config.dataDir = rel(raw.dataDir);
    config.models = (raw.models ?? []).map((m) => ({ ...m, manifest: rel(m.manifest) }));
  } else {
    config.keyFile = resolve(config.keyFile);
    config.dataDir = resolve(config.dataDir);
  }
  const one = (k: string) => flags.get(k)?.[flags.get(k)!.length - 1];
  const int = (k: string) => {
    const v = one(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new ProviderConfigError(`--${k} must be a non-negative integer`);
    return n;
  };
  if (one("key-file")) config.keyFile = resolve(one("key-file")!);
  if (one("data-dir")) config.dataDir = resolve(one("data-dir")!);
  if (flags.has("listen")) config.listen = flags.get("listen")!;
  if (flags.has("bootstrap")) config.bootstrap = [...config.bootstrap, ...flags.get("bootstrap")!];
  if (flags.has("model")) config.models = [...config.models, ...flags.get("model")!.map(parseModelFlag)];
  config.capacity = int("capacity") ?? config.capacity;
  config.workers = int("workers") ?? config.workers;
  const threads = int("intra-op-threads");
  if (threads !== undefined) config.intraOpThreads = Math.max(1, threads);
  const kvMib = int("kv-cache-mib");
  if (kvMib !== undefined) config.kvCacheBytes = kvMib * 2 ** 20;
  if (bools.has("no-gateway")) config.gateway = null;
  if (config.gateway) {
    config.gateway.port = int("gateway-port") ?? config.gateway.port;
    config.gateway.host = one("gateway-host") ?? config.gateway.host;
    if (flags.has("cors")) config.gateway.cors = flags.get("cors")!;
    if (bools.has("unsigned-jobs")) config.gateway.unsignedJobs = true;
    const rate = one("unpaid-rate");
    if (rate !== undefined) {
      const n = Number(rate);
      if (!Number.isFinite(n) || n < 0) throw new ProviderConfigError("--unpaid-rate must be a non-negative number (requests per second)");
      config.gateway.limits = { ...config.gateway.limits, unpaidPerSecond: n };
    }
    const burst = int("unpaid-burst");
    if (burst !== undefined) config.gateway.limits = { ...config.gateway.limits, unpaidBurst: burst };
  }
  if (bools.has("no-dht")) config.dht = false;
  if (bools.has("no-relay")) config.relay = false;
  if (flags.has("announce")) config.announce = flags.get("announce")!;
  for (const a of config.announce ?? []) {
    if (!/^\/ip[46]\/[^/]+\/tcp\/\d+$/.test(a)) throw new ProviderConfigError(`--announce ${a}: expected /ip4/<address>/tcp/<port>`);
  }
  const dataPort = int("data-port");
  if (dataPort !== undefined) {
    if (dataPort < 1 || dataPort > 65535) throw new ProviderConfigError("--data-port must be a TCP port, 1-65535");
    config.dataPort = dataPort;
  }
  if (bools.has("no-keep-tensors")) config.keepTensors = false;
  const retention = int("trace-retention-ms");
  if (retention !== undefined) config.traceRetentionMs = retention;
  const key = one("staking-key") ?? process.env.SHARDMESH_STAKING_KEY;
  if (key) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new ProviderConfigError("--staking-key must be 0x + 64 hex digits");
    config.stakingKey = key as `0x${string}`;
  }
  if (one("rpc")) config.chain = { ...(config.chain ?? {}), rpcUrl: one("rpc")! };
  if (bools.has("register")) config.register = true;
  const stake = one("stake");
  if (stake !== undefined) {
    if (!new RegExp(`^\\d+(\\.\\d{1,${TOKEN_DECIMALS}})?$`).test(stake))
      throw new ProviderConfigError(`--stake ${stake}: an amount in ${TOKEN_SYMBOL}, e.g. 5000 or 0.5`);
    config.stake = parseUnits(stake, TOKEN_DECIMALS).toString();
  }
  if (bools.has("unstaked")) config.unstaked = true;
  const freeTier = one("free-tier");
  if (freeTier !== undefined) {
    const n = Number(freeTier);
    if (!Number.isFinite(n) || n < 0)
      throw new ProviderConfigError("--free-tier must be a non-negative number (requests per second per peer)");
    config.freeTierPerSecond = n;
  }
  if (config.register && (!config.chain || !config.stakingKey)) throw new ProviderConfigError("--register needs --rpc and --staking-key");
  for (const m of config.models) {
    if (!m.modelId || !m.manifest || !Array.isArray(m.stages) || !/^\d+$/.test(String(m.price))) {
      throw new ProviderConfigError(`model entry ${JSON.stringify(m)} needs modelId, manifest, stages and a decimal price`);
    }
    // What peers accept in an announcement (mesh/directory.ts parseAnnouncement).
    if (!/^[A-Za-z0-9._-]{1,80}$/.test(m.modelId))
      throw new ProviderConfigError(`model id ${JSON.stringify(m.modelId)}: 1-80 of A-Z a-z 0-9 . _ -`);
  }
  if (!Number.isInteger(config.capacity) || config.capacity < 1 || config.capacity > MAX_ANNOUNCED_CAPACITY)
    throw new ProviderConfigError(`--capacity must be 1..${MAX_ANNOUNCED_CAPACITY}`);
  return { config, json: bools.has("json"), help: false };
}
