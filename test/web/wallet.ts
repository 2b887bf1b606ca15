// An injected EIP-1193 test wallet for headless chromium: `window.ethereum` plus an EIP-6963
// announcement in the page; every request crosses to this process, where a viem local account
// signs (transactions, EIP-712, personal_sign) and everything else is forwarded to the chain.
// Like MetaMask, it reveals no account before the dApp asks (eth_requestAccounts).
import { createWalletClient, http, numberToHex, type Hex, type TypedDataDefinition } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { hardhat } from "viem/chains";
import type { BrowserContext, Page } from "playwright-core";

export interface TestWallet {
  address: `0x${string}`;
  requests: string[];
  /** Moves the wallet to another chain, as a user would in the wallet's own UI (the page gets chainChanged). */
  setChain(page: Page, chainId: number): Promise<void>;
}

class WalletRpcError extends Error {
  code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

/** JSON typed data (numbers as strings) → viem's typed data (uint/int as bigint). */
function reviveTypedData(json: string): TypedDataDefinition {
  const data = JSON.parse(json) as {
    domain: Record<string, unknown>;
    types: Record<string, { name: string; type: string }[]>;
    primaryType: string;
    message: Record<string, unknown>;
  };
  const revive = (type: string, value: unknown): unknown => {
    if (type.endsWith("[]")) return (value as unknown[]).map((v) => revive(type.slice(0, -2), v));
    if (/^u?int\d*$/.test(type)) return BigInt(value as string);
    const struct = data.types[type];
    if (struct) return Object.fromEntries(struct.map((f) => [f.name, revive(f.type, (value as Record<string, unknown>)[f.name])]));
    return value;
  };
  const { EIP712Domain: _domain, ...types } = data.types;
  const domain = { ...data.domain, ...(data.domain.chainId !== undefined ? { chainId: Number(data.domain.chainId) } : {}) };
  return {
    domain,
    types,
    primaryType: data.primaryType,
    message: revive(data.primaryType, data.message) as Record<string, unknown>,
  } as unknown as TypedDataDefinition;
}

export async function injectWallet(
  context: BrowserContext,
  opts: { rpcUrl: string; privateKey: Hex; chainId?: number },
): Promise<TestWallet> {
  const homeChainId = opts.chainId ?? 31337;
  /** Chains the wallet knows: the dev chain (it signs there) and mainnet (only to test wrong-network handling). */
  const knownChains = new Set([homeChainId, 1]);
  let chainId = homeChainId;
  const account = privateKeyToAccount(opts.privateKey);
  let authorized = false;
  const requests: string[] = [];
  const chain = { ...hardhat, id: homeChainId, rpcUrls: { default: { http: [opts.rpcUrl] } } };
  const client = () => createWalletClient({ account, chain, transport: http(opts.rpcUrl) });

  async function forward(method: string, params: unknown[]): Promise<unknown> {
    const res = await fetch(opts.rpcUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params }),
    });
    const body = (await res.json()) as { result?: unknown; error?: { code: number; message: string; data?: unknown } };
    if (body.error) throw Object.assign(new WalletRpcError(body.error.code, body.error.message), { data: body.error.data });
    return body.result;
  }

  async function handle(method: string, params: unknown[]): Promise<unknown> {
    requests.push(method);
    switch (method) {
      case "eth_requestAccounts":
        authorized = true;
        return [account.address];
      case "eth_accounts":
        return authorized ? [account.address] : [];
      case "eth_chainId":
        return numberToHex(chainId);
      case "net_version":
        return String(chainId);
      case "wallet_requestPermissions":
        authorized = true;
        return [{ parentCapability: "eth_accounts" }];
      case "wallet_getPermissions":
        return authorized ? [{ parentCapability: "eth_accounts" }] : [];
      case "wallet_revokePermissions":
        authorized = false;
        return null;
      case "wallet_switchEthereumChain": {
        const wanted = Number((params[0] as { chainId: string }).chainId);
        if (!knownChains.has(wanted)) throw new WalletRpcError(4902, `chain ${wanted} is not added to the test wallet`);
        chainId = wanted;
        return null;
      }
      case "personal_sign":
        return account.signMessage({ message: { raw: params[0] as Hex } });
      case "eth_signTypedData_v4":
        return account.signTypedData(reviveTypedData(params[1] as string));
      case "eth_sendTransaction": {
        if (chainId !== homeChainId) throw new WalletRpcError(4901, `the test wallet only sends on chain ${homeChainId}`);
        const tx = params[0] as { to?: Hex; data?: Hex; value?: Hex; gas?: Hex };
        return client().sendTransaction({
          account,
          chain,
          to: tx.to,
          data: tx.data,
          value: tx.value ? BigInt(tx.value) : undefined,
          gas: tx.gas ? BigInt(tx.gas) : undefined,
        });
      }
      default:
        return forward(method, params);
    }
  }

  await context.exposeFunction("__e2eWalletRequest", async (method: string, params: unknown[]) => {
    try {
      return { result: await handle(method, params ?? []) };
    } catch (e) {
      const err = e as { code?: number; shortMessage?: string; details?: string; message?: string; data?: unknown };
      if (process.env.E2E_WALLET_DEBUG) console.error("wallet", method, JSON.stringify(params), e);
      return {
        error: {
          code: typeof err.code === "number" ? err.code : -32603,
          message: err.details ?? err.shortMessage ?? err.message ?? String(e),
          data: err.data,
        },
      };
    }
  });
  await context.addInitScript(() => {
    type Listener = (...args: unknown[]) => void;
    const listeners: Record<string, Set<Listener>> = {};
    const emit = (ev: string, data: unknown) => {
      for (const fn of listeners[ev] ?? []) fn(data);
    };
    (window as unknown as { __e2eWalletEmit: typeof emit }).__e2eWalletEmit = emit;
    const w = window as unknown as {
      __e2eWalletRequest: (
        m: string,
        p: unknown[],
      ) => Promise<{ result?: unknown; error?: { code: number; message: string; data?: unknown } }>;
      ethereum?: unknown;
    };
    const provider = {
      isE2E: true,
      async request({ method, params }: { method: string; params?: unknown[] }) {
        const r = await w.__e2eWalletRequest(method, params ?? []);
        if (r.error) throw Object.assign(new Error(r.error.message), { code: r.error.code, data: r.error.data });
        if (method === "wallet_switchEthereumChain") emit("chainChanged", (params?.[0] as { chainId: string } | undefined)?.chainId);
        return r.result;
      },
      on(ev: string, fn: Listener) {
        listeners[ev] ??= new Set();
        listeners[ev].add(fn);
        return provider;
      },
      removeListener(ev: string, fn: Listener) {
        listeners[ev]?.delete(fn);
        return provider;
      },
    };
    w.ethereum = provider;
    const info = {
      uuid: "00000000-0000-4000-8000-000000000e2e",
      name: "E2E Test Wallet",
      icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='8' height='8'/%3E",
      rdns: "dev.e2e.wallet",
    };
    const announce = () => window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
    window.addEventListener("eip6963:requestProvider", announce);
    announce();
  });
  return {
    get address() {
      return account.address;
    },
    requests,
    async setChain(page: Page, id: number) {
      chainId = id;
      await page.evaluate(
        (hex) => (window as unknown as { __e2eWalletEmit: (ev: string, d: unknown) => void }).__e2eWalletEmit("chainChanged", hex),
        numberToHex(id),
      );
    },
  };
}
