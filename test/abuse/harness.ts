// A live local market for the hostile-client suite and the abuse benchmark: a hardhat chain with
// every contract, the PP-OCRv4 recogniser split in 2 stages and published, four staked provider
// processes (two per stage; provider 1 also serves the gateway), honest buyers issuing requests
// through the gateway while an attack runs, and memory readings of the attacked process.
//
// Clients can pick their loopback source address (127.0.0.x all reach 127.0.0.1 on Linux), so a
// gateway that tells clients apart by address sees the attacker and the honest buyers as
// different clients, as it would on a real network; nothing leaves the machine.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { request } from "node:http";
import type { ProviderProc } from "../node/mesh/procs.ts";
import { startChainProvider, startEnv, stopEnv, type Env } from "../e2e/harness.ts";
import { decodeImage, renderText } from "../../node/src/ocr/image.ts";
import { recPreprocess } from "../../node/src/ocr/rec.ts";
import { tensorFromFloat32, type JsonTensor } from "../../node/src/sdk/index.ts";
import { until } from "../../scripts/lib/wait.ts";

/** Source address of the honest buyers, and of attackers (a different client to the gateway). */
export const HONEST_ADDRESS = "127.0.0.1";
export const ATTACKER_ADDRESS = "127.0.0.66";

export interface Market {
  env: Env;
  /** Provider 1: stage 0 and the gateway (the attacked node for gateway attacks). */
  gateway: ProviderProc;
  /** Every provider process, gateway first: [stage 0 + gateway, stage 1, stage 0, stage 1]. */
  providers: ProviderProc[];
  url: string;
  modelId: string;
  /** An honest request body for /v1/infer (a rendered line, pre-processed like the gateway does). */
  honestBody: string;
  honestText: string;
}

/** How long the four providers may take to be listed at the gateway (a loaded machine is slow). */
const MARKET_READY_TIMEOUT_MS = 60_000;

export interface MarketOptions {
  /** Extra `provider start` flags for the gateway's process, and for every other provider. */
  gatewayArgs?: string[];
  providerArgs?: string[];
  /** Gateway limits for the gateway's process (written to its --config file). */
  gatewayLimits?: Record<string, number>;
}

export async function startMarket(o: MarketOptions = {}): Promise<Market> {
  const env = await startEnv();
  try {
    const config = join(env.work, "gateway-config.json");
    writeFileSync(config, JSON.stringify({ gateway: { limits: o.gatewayLimits ?? {} } }));
    const gatewayArgs = ["--config", config, ...(o.gatewayArgs ?? [])];
    const gateway = await startChainProvider(env, { keyIndex: 1, stages: [0], gateway: true, args: gatewayArgs });
    const boot = [gateway.addr];
    const others = await Promise.all([
      startChainProvider(env, { keyIndex: 2, stages: [1], bootstrap: boot, args: o.providerArgs }),
      startChainProvider(env, { keyIndex: 3, stages: [0], bootstrap: boot, args: o.providerArgs }),
      startChainProvider(env, { keyIndex: 4, stages: [1], bootstrap: boot, args: o.providerArgs }),
    ]);
    const url = gateway.gateway!;
    const modelId = env.modelId.toString();
    await until(
      "the gateway lists two providers per stage",
      async () => {
        const { body } = await httpJson(`${url}/v1/models`);
        const m = (body as { models: { id: string; stages: { providers: unknown[] }[] }[] }).models.find((x) => x.id === modelId);
        return m?.stages.every((s) => s.providers.length === 2);
      },
      MARKET_READY_TIMEOUT_MS,
      100,
    );
    const honestText = "honest buyer 42";
    const x = recPreprocess(await decodeImage(await renderText([honestText], { fontSize: 40 })));
    const tensors: Record<string, JsonTensor> = { x: tensorFromFloat32([...x.dims], x.data as Float32Array) };
    const honestBody = JSON.stringify({ modelId, input: { tensors } });
    return { env, gateway, providers: [gateway, ...others], url, modelId, honestBody, honestText };
  } catch (err) {
    await stopEnv(env);
    throw err;
  }
}

export async function stopMarket(m: Market | undefined): Promise<void> {
  if (m) await stopEnv(m.env);
}

export interface HttpAnswer {
  status: number;
  body: unknown;
  ms: number;
  headers: Record<string, string | string[] | undefined>;
}

/**
 * One HTTP request from a chosen loopback source address; the answer's JSON body (or its text).
 * Resolves with status 0 and the error's name when the connection fails or times out.
 */
export function httpJson(
  url: string,
  o: { method?: string; body?: string | Buffer; headers?: Record<string, string>; localAddress?: string; timeoutMs?: number } = {},
): Promise<HttpAnswer> {
  const started = performance.now();
  return new Promise((resolve) => {
    const req = request(
      url,
      {
        method: o.method ?? (o.body === undefined ? "GET" : "POST"),
        headers: { ...(o.body === undefined ? {} : { "content-type": "application/json" }), ...o.headers },
        localAddress: o.localAddress ?? HONEST_ADDRESS,
        timeout: o.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body, ms: performance.now() - started, headers: res.headers });
        });
        res.on("error", (err) =>
          resolve({ status: 0, body: { error: { name: err.name, message: err.message } }, ms: performance.now() - started, headers: {} }),
        );
      },
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error("client timeout"), { name: "ClientTimeoutError" })));
    req.on("error", (err) =>
      resolve({ status: 0, body: { error: { name: err.name, message: err.message } }, ms: performance.now() - started, headers: {} }),
    );
    req.end(o.body);
  });
}

/** The `error.name` of a gateway answer, if it is an error. */
export function errorName(a: HttpAnswer): string | undefined {
  return (a.body as { error?: { name?: string } } | null)?.error?.name;
}

export interface LoadResult {
  /** Latency of every successful request, ms, in completion order. */
  latencies: number[];
  /** Failed requests: status and error name. */
  errors: string[];
  p50: number;
  p99: number;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)];
}

/** Loopback source address of honest buyer `i` (each is its own client to the gateway). */
export const honestAddress = (i: number): string => `127.0.0.${10 + i}`;

/**
 * Honest buyers: `clients` buyers, each from its own loopback address, sending the market's
 * honest request one at a time with `pauseMs` between them (default 700 ms: under the gateway's
 * default unpaid share of 2 per second) until stopped. A request counts as successful
 * when it answers 200 with the expected text.
 */
export function honestLoad(m: Market, o: { clients?: number; pauseMs?: number } = {}): { stop(): Promise<LoadResult> } {
  let running = true;
  const latencies: number[] = [];
  const errors: string[] = [];
  const loop = async (i: number): Promise<void> => {
    while (running) {
      const a = await httpJson(`${m.url}/v1/infer`, { body: m.honestBody, timeoutMs: 30_000, localAddress: honestAddress(i) });
      const text = (a.body as { text?: string } | null)?.text?.trim();
      if (a.status === 200 && text === m.honestText) latencies.push(a.ms);
      else
        errors.push(
          `${a.status} ${errorName(a) ?? ""} ${((a.body as { error?: { message?: string } })?.error?.message ?? (typeof a.body === "string" ? a.body : `text ${JSON.stringify(text)}`)).slice(0, 300)}`,
        );
      await new Promise((r) => setTimeout(r, o.pauseMs ?? 700));
    }
  };
  const loops = Array.from({ length: o.clients ?? 3 }, (_, i) => loop(i));
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      return { latencies, errors, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
    },
  };
}

/** Resident set size of a process now, bytes (Linux /proc). */
export function rssOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Samples a process's RSS every `everyMs` until stopped: the peak and the last reading. */
export function watchRss(pid: number, everyMs = 25): { stop(): { peak: number; last: number } } {
  let peak = rssOf(pid);
  let last = peak;
  const timer = setInterval(() => {
    try {
      last = rssOf(pid);
      peak = Math.max(peak, last);
    } catch {}
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return { peak, last };
    },
  };
}

/**
 * Waits until the process's RSS is at most `bound` bytes (memory returned after an attack), up
 * to `timeoutMs`; returns the last reading.
 */
export async function rssSettles(pid: number, bound: number, timeoutMs = 20_000): Promise<number> {
  const settled = async (): Promise<number | false> => {
    const rss = rssOf(pid);
    return rss <= bound && rss;
  };
  return until("the RSS to settle", settled, timeoutMs, 250).catch((err: Error) => {
    if (err.name !== "WaitTimeoutError") throw err;
    return rssOf(pid);
  });
}

export const MiB = 1024 * 1024;
