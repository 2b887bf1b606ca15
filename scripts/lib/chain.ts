// Starts and stops a local `hardhat node` on 127.0.0.1 (a port checked free first), or on another
// address of this host (the namespace test network's chain host: its 10.x address, never
// 0.0.0.0). The chain is stopped with the process that started it, on every exit path (./procs.ts).
import { createServer } from "node:net";
import { join } from "node:path";
import { spawnTracked, stopChild } from "./procs.ts";

const root = new URL("../..", import.meta.url).pathname;

export const DEFAULT_CHAIN_PORT = 8545;

/**
 * Hardhat's first 10 dev accounts' private keys (mnemonic "test … junk"; public, well-known;
 * local chains only). Regression: key #2 once had a typo and signed as a stranger account.
 */
export const DEV_KEYS = [
  "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
  "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
  "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
  "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
  "0x47e179ec197488593b187f80a00eb0da91f1b9d0b13f8733639f19c30a34926a",
  "0x8b3a350cf5c34c9194ca85829a2df0ec3153be0318b5e2d3348e872092edffba",
  "0x92db14e403b83dfe3df233f83dfa3a0d7096f21ca9b0d6d6b8d88b2b4ec1564e",
  "0x4bbbf85ce3377467afe5d46f804f221813b2bb87f24d81f60f1fcdbf7cbf4356",
  "0xdbda1821b80551c9d65939329250298aa3472ba22feea921c0cf5d620ea67b97",
  "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6",
] as const;

/** Whether `port` can be bound on `host` (default 127.0.0.1) right now. */
export function portIsFree(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, host, () => srv.close(() => resolve(true)));
  });
}

/** An ephemeral free port on `host` (default 127.0.0.1). */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Longest a JSON-RPC call to a dev chain may take. */
export const RPC_TIMEOUT_MS = 30_000;

export interface LocalChain {
  url: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** One JSON-RPC call (a dev chain's evm_mine, evm_increaseTime …); an error answer throws. */
export async function rpc(url: string, method: string, params: unknown[] = []): Promise<unknown> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    signal: AbortSignal.timeout(RPC_TIMEOUT_MS),
  });
  const body = (await res.json()) as { result?: unknown; error?: { message: string } };
  if (body.error) throw new Error(`${method}: ${body.error.message}`);
  return body.result;
}

async function rpcReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_chainId", params: [] }),
      signal: AbortSignal.timeout(1000),
    });
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * Starts `hardhat node` on `host` (default 127.0.0.1; an address of this host, never a wildcard)
 * and `port` (default 8545 when free, else an ephemeral port).
 */
export async function startLocalChain(opts: { host?: string; port?: number; timeoutMs?: number } = {}): Promise<LocalChain> {
  const host = opts.host ?? "127.0.0.1";
  if (host === "0.0.0.0" || host === "::") throw new Error("a local chain listens on one address of this host, not on every one");
  let port = opts.port;
  if (port === undefined) port = (await portIsFree(DEFAULT_CHAIN_PORT, host)) ? DEFAULT_CHAIN_PORT : await freePort(host);
  else if (!(await portIsFree(port, host))) throw new Error(`port ${port} on ${host} is in use`);
  const child = spawnTracked(
    process.execPath,
    [join(root, "node_modules/.bin/hardhat"), "node", "--hostname", host, "--port", String(port)],
    {
      cwd: root,
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let stderr = "";
  child.stderr?.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-2000)));
  const url = `http://${host}:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  while (!(await rpcReady(url))) {
    if (child.exitCode !== null) throw new Error(`hardhat node exited (${child.exitCode}): ${stderr}`);
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new Error(`hardhat node did not answer on ${url} in time`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const stop = (): Promise<void> => stopChild(child);
  return { url, port, pid: child.pid ?? -1, stop };
}

// The token's symbol, decimals and the one formatter for people live with the node.
export { TOKEN_DECIMALS, TOKEN_SYMBOL, formatTokens as tokens } from "../../node/src/util/format.ts";
