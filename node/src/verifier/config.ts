// Verifier configuration: a JSON file plus command-line flags (flags win), in the style of the
// provider's (node/src/provider/config.ts). Paths in the file are relative to the file's folder.
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { DEFAULT_SPOT_CHECK_PPM, VERIFIER_POLL_MS } from "./constants.ts";
import { VerifierConfigError } from "./errors.ts";
import { parseFlags } from "../util/args.ts";
import type { ModelEntry } from "./models.ts";

export interface VerifierConfig {
  /** libp2p identity key file (created on first start). */
  keyFile: string;
  /** Vote salts and progress (verifier-state.json). */
  dataDir: string;
  listen: string[];
  bootstrap: string[];
  /** Run the kad-dht (finds providers' addresses by peer id). */
  dht: boolean;
  /** Models this verifier can re-execute: registry id → manifest (stage files next to it). */
  models: ModelEntry[];
  /** Staked wallet key (0x…): challenges, votes, resolutions, withdrawals. */
  stakingKey?: `0x${string}`;
  chain?: { rpcUrl: string; deployment?: string };
  /** Share of other receipts' leaves checked unasked, parts per million. */
  spotCheckPpm: number;
  pollMs: number;
  /** Withdraw credits as they appear. */
  withdraw: boolean;
}

export const DEFAULT_VERIFIER_CONFIG: VerifierConfig = {
  keyFile: "./.shardmesh/verifier.key",
  dataDir: "./.shardmesh",
  listen: ["/ip4/127.0.0.1/tcp/0"],
  bootstrap: [],
  dht: true,
  models: [],
  spotCheckPpm: DEFAULT_SPOT_CHECK_PPM,
  pollMs: VERIFIER_POLL_MS,
  withdraw: true,
};

export const VERIFIER_FLAGS = `
  --config <file>          JSON config (see node/src/verifier/config.ts)
  --model <id>=<manifest>  a model this verifier re-executes (repeatable; stage files next to the manifest)
  --staking-key <0x…>      staked wallet key (or env SHARDMESH_STAKING_KEY); stake >= ProviderStaking's minimum verifier stake
  --rpc <url>              chain JSON-RPC URL (required)
  --deployment <file>      deployment JSON (default deployments/<chainId>.json)
  --key-file <path>        libp2p identity key file (created if absent)
  --data-dir <dir>         vote salts and progress
  --listen <multiaddr>     listen address (repeatable; default /ip4/127.0.0.1/tcp/0)
  --bootstrap <multiaddr>  bootstrap peer with /p2p/<id> (repeatable): how providers are reached
  --spot-check <ppm>       also check this share of leaves of receipts drawn to others (default 0)
  --poll-ms <ms>           how often to read the SpotCheck, Disputes and JobMarket events (default ${VERIFIER_POLL_MS})
  --withdraw               withdraw credits (fees, rewards, returned bonds) as they appear (the default)
  --no-withdraw            keep credits in the job market
  --no-dht                 no kad-dht
  --json                   print machine-readable events (one JSON object per line)`;

function parseModel(v: string): ModelEntry {
  const m = /^(\d+)=(.+)$/.exec(v);
  if (!m) throw new VerifierConfigError(`--model ${v}: expected <id>=<manifest>`);
  return { modelId: m[1], manifest: resolve(m[2]) };
}

/** Parse argv (after `verifier start`) into a config; returns it with CLI-only options. */
export function loadVerifierConfig(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
): { config: VerifierConfig; json: boolean; help: boolean } {
  const { flags, bools, help } = parseFlags(
    argv,
    {
      strings: [
        "config",
        "model",
        "staking-key",
        "rpc",
        "deployment",
        "key-file",
        "data-dir",
        "listen",
        "bootstrap",
        "spot-check",
        "poll-ms",
      ],
      booleans: ["no-dht", "withdraw", "no-withdraw", "json"],
    },
    (message) => new VerifierConfigError(message),
  );
  if (help) return { config: structuredClone(DEFAULT_VERIFIER_CONFIG), json: false, help: true };
  let config: VerifierConfig = structuredClone(DEFAULT_VERIFIER_CONFIG);
  const file = flags.get("config")?.[0];
  if (file) {
    let raw: Partial<VerifierConfig>;
    try {
      raw = JSON.parse(readFileSync(file, "utf8")) as Partial<VerifierConfig>;
    } catch (err) {
      throw new VerifierConfigError(`cannot read config ${file}: ${(err as Error).message}`);
    }
    const base = dirname(resolve(file));
    config = { ...config, ...raw };
    config.keyFile = resolve(base, raw.keyFile ?? config.keyFile);
    config.dataDir = resolve(base, raw.dataDir ?? config.dataDir);
    config.models = (raw.models ?? []).map((m) => ({ modelId: String(m.modelId), manifest: resolve(base, m.manifest) }));
    if (raw.chain?.deployment) config.chain = { ...raw.chain, deployment: resolve(base, raw.chain.deployment) };
  } else {
    config.keyFile = resolve(config.keyFile);
    config.dataDir = resolve(config.dataDir);
  }
  const one = (k: string) => flags.get(k)?.at(-1);
  const int = (k: string): number | undefined => {
    const v = one(k);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new VerifierConfigError(`--${k} must be a non-negative integer`);
    return n;
  };
  if (one("key-file")) config.keyFile = resolve(one("key-file")!);
  if (one("data-dir")) config.dataDir = resolve(one("data-dir")!);
  if (flags.has("listen")) config.listen = flags.get("listen")!;
  if (flags.has("bootstrap")) config.bootstrap = [...config.bootstrap, ...flags.get("bootstrap")!];
  if (flags.has("model")) config.models = [...config.models, ...flags.get("model")!.map(parseModel)];
  config.spotCheckPpm = int("spot-check") ?? config.spotCheckPpm;
  config.pollMs = int("poll-ms") ?? config.pollMs;
  if (config.spotCheckPpm > 1_000_000) throw new VerifierConfigError("--spot-check is parts per million: at most 1000000");
  if (config.pollMs < 50) throw new VerifierConfigError("--poll-ms must be at least 50");
  if (bools.has("no-dht")) config.dht = false;
  if (bools.has("withdraw")) config.withdraw = true;
  if (bools.has("no-withdraw")) config.withdraw = false;
  const key = one("staking-key") ?? config.stakingKey ?? env.SHARDMESH_STAKING_KEY;
  if (key !== undefined) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(key)) throw new VerifierConfigError("--staking-key must be 0x + 64 hex digits");
    config.stakingKey = key as `0x${string}`;
  }
  if (one("rpc")) config.chain = { ...(config.chain ?? {}), rpcUrl: one("rpc")! };
  if (one("deployment")) config.chain = { ...(config.chain ?? { rpcUrl: "" }), deployment: resolve(one("deployment")!) };
  if (!config.chain?.rpcUrl) throw new VerifierConfigError("a verifier needs the chain: --rpc <url>");
  if (!config.stakingKey) throw new VerifierConfigError("a verifier needs its staked wallet: --staking-key or SHARDMESH_STAKING_KEY");
  if (config.models.length === 0)
    throw new VerifierConfigError("a verifier needs at least one model to re-execute: --model <id>=<manifest>");
  for (const m of config.models) {
    if (!/^\d+$/.test(m.modelId) || typeof m.manifest !== "string")
      throw new VerifierConfigError(`model entry ${JSON.stringify(m)} needs a decimal modelId and a manifest`);
  }
  return { config, json: bools.has("json"), help: false };
}
