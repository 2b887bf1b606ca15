// Turns whatever a write or read threw into words a user understands: the contract's decoded
// custom error (name + named arguments, amounts in tokens), a wallet rejection, missing gas
// funds, or an unreachable chain. Pure; unit-tested.
import {
  BaseError,
  ContractFunctionRevertedError,
  UserRejectedRequestError,
  InsufficientFundsError,
  HttpRequestError,
  decodeErrorResult,
  type Abi,
  type AbiParameter,
  type Hex,
} from "viem";
import { abis } from "@shardmesh/node/generated/abis.ts";
import { formatAmount, formatDate, shortAddress, splitErrorName } from "./format";

export type ErrorKind = "revert" | "rejected" | "funds" | "network" | "unknown";

export interface FriendlyError {
  kind: ErrorKind;
  /** Short headline, e.g. "Not enough tokens". */
  title: string;
  /** One or two sentences in plain words. */
  message: string;
  /** The custom error's name when the contract reverted with one. */
  errorName?: string;
  args?: readonly unknown[];
}

/**
 * Every custom error any ShardMesh contract can raise, taken from the generated ABIs (the
 * contracts' own, OpenZeppelin's ERC-20/2612/AccessControl/SafeERC20 ones they inherit, libraries'),
 * one entry per selector: any revert decodes whichever contract raised it.
 */
type AbiError = Extract<Abi[number], { type: "error" }>;
export const allErrorsAbi: Abi = (() => {
  const seen = new Set<string>();
  const out: AbiError[] = [];
  for (const abi of Object.values(abis) as readonly Abi[]) {
    for (const item of abi) {
      if (item.type !== "error") continue;
      const key = `${item.name}(${item.inputs.map((p) => p.type).join(",")})`;
      if (!seen.has(key)) out.push(item);
      seen.add(key);
    }
  }
  return out;
})();

/** The OpenZeppelin errors among them (what a wallet meets most: balances, allowances, permits, roles). */
export const standardErrorsAbi: Abi = allErrorsAbi.filter(
  (e) => e.type === "error" && /^(ERC20|ERC2612|AccessControl|SafeERC20|ECDSA)/.test(e.name),
);

/** Custom errors are named <Contract><Problem> (STYLE.md): the contract names come from the ABIs, longest first. */
const contractPrefixes = Object.keys(abis).sort((a, b) => b.length - a.length);

/** Plain-words phrasing for errors users commonly hit; `{arg}` is replaced by the formatted arg. */
const phrasings: Record<string, { title: string; message: string }> = {
  ERC20InsufficientBalance: { title: "Not enough tokens", message: "Your wallet holds {balance} but this needs {needed}." },
  ERC20InsufficientAllowance: {
    title: "Spending not approved",
    message: "The contract may spend {allowance} of your tokens but needs {needed}. Approve a larger amount first.",
  },
  ERC2612ExpiredSignature: { title: "Permit expired", message: "The signed permit expired at {deadline}. Try again to sign a fresh one." },
  ERC2612InvalidSigner: { title: "Permit signed by the wrong account", message: "The permit was signed by {signer}, not by {owner}." },
  AccessControlUnauthorizedAccount: { title: "Not allowed", message: "Account {account} lacks the role this action needs." },
  EnforcedPause: { title: "Paused", message: "The contract is paused; try again later." },
};

const amountName =
  /amount|balance|escrow|stake|needed|required|available|allowance|price|value|fee|cost|budget|credit|collateral|bond|royalty|min|max|total|locked|free/i;
const timeName = /time|deadline|until|expiry|expires|readyAt|unlock|^at$|At$/;

export interface FormatOptions {
  symbol?: string;
  decimals?: number;
}

export function formatArg(param: AbiParameter | undefined, value: unknown, opts: FormatOptions = {}): string {
  const name = param?.name ?? "";
  const type = param?.type ?? "";
  if (typeof value === "bigint") {
    if (type.startsWith("uint") || type.startsWith("int")) {
      if (timeName.test(name) && value > 1_000_000_000n && value < 100_000_000_000n) return formatDate(value);
      if (amountName.test(name) && !/count|index|id$|Id$|bps|Bps|stage|nonce/.test(name)) {
        return `${formatAmount(value, opts.decimals ?? 18)} ${opts.symbol ?? "SHARD"}`;
      }
    }
    return value.toString();
  }
  if (typeof value === "string" && /^0x[0-9a-fA-F]{40}$/.test(value)) return shortAddress(value);
  if (typeof value === "string" && /^0x[0-9a-fA-F]{64}$/.test(value)) return `${value.slice(0, 10)}…`;
  if (Array.isArray(value)) return `[${value.map((v) => formatArg(undefined, v, opts)).join(", ")}]`;
  return String(value);
}

function describeRevert(name: string, args: readonly unknown[], inputs: readonly AbiParameter[], opts: FormatOptions): FriendlyError {
  const named: Record<string, string> = {};
  inputs.forEach((p, i) => {
    named[p.name ?? `arg${i}`] = formatArg(p, args[i], opts);
  });
  const known = phrasings[name];
  if (known) {
    return {
      kind: "revert",
      errorName: name,
      args,
      title: known.title,
      message: known.message.replace(/\{(\w+)\}/g, (_, k: string) => named[k] ?? k),
    };
  }
  const [contract, words] = splitErrorName(name, contractPrefixes);
  const details = inputs.map(
    (p, i) => `${(p.name ?? `arg${i}`).replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()} ${named[p.name ?? `arg${i}`]}`,
  );
  const sentence = words.charAt(0).toUpperCase() + words.slice(1);
  return {
    kind: "revert",
    errorName: name,
    args,
    title: sentence,
    message: `${contract ? `The ${contract.replace(/([a-z])([A-Z])/g, "$1 $2")} contract refused: ` : "The contract refused: "}${words}${details.length ? ` (${details.join(", ")})` : ""}.`,
  };
}

function findRevertData(err: BaseError): Hex | undefined {
  let found: Hex | undefined;
  err.walk((e) => {
    const data = (e as { data?: unknown }).data;
    if (typeof data === "string" && data.startsWith("0x") && data.length >= 10) found = data as Hex;
    else if (data && typeof data === "object" && typeof (data as { data?: unknown }).data === "string")
      found = (data as { data: Hex }).data;
    return false;
  });
  return found;
}

/** Decode anything thrown by viem/wagmi (or a wallet) into a FriendlyError. */
export function decodeError(error: unknown, abi: Abi = [], opts: FormatOptions = {}): FriendlyError {
  const fullAbi = [...abi, ...allErrorsAbi] as Abi;
  if (error instanceof BaseError) {
    const rejected = error.walk((e) => e instanceof UserRejectedRequestError || (e as { code?: unknown }).code === 4001);
    if (rejected)
      return { kind: "rejected", title: "Rejected in wallet", message: "You rejected the request in your wallet. Nothing was sent." };
    const revert = error.walk((e) => e instanceof ContractFunctionRevertedError) as ContractFunctionRevertedError | null;
    if (revert?.data?.errorName && revert.data.errorName !== "Error" && revert.data.errorName !== "Panic") {
      return describeRevert(
        revert.data.errorName,
        revert.data.args ?? [],
        revert.data.abiItem && "inputs" in revert.data.abiItem ? revert.data.abiItem.inputs : [],
        opts,
      );
    }
    const raw = revert?.raw ?? findRevertData(error);
    if (raw) {
      try {
        const decoded = decodeErrorResult({ abi: fullAbi, data: raw });
        const item = decoded.abiItem as { inputs?: readonly AbiParameter[] };
        if (decoded.errorName !== "Error" && decoded.errorName !== "Panic") {
          return describeRevert(decoded.errorName, decoded.args ?? [], item.inputs ?? [], opts);
        }
        if (decoded.errorName === "Error")
          return { kind: "revert", title: "Transaction reverted", message: String(decoded.args?.[0] ?? "reverted") };
      } catch {
        // Unknown selector: fall through to the generic message below.
      }
    }
    const texts: string[] = [];
    error.walk((e) => {
      texts.push(String((e as { details?: unknown }).details ?? ""), (e as Error).message ?? "");
      return false;
    });
    if (error.walk((e) => e instanceof InsufficientFundsError) || texts.some((t) => /insufficient funds|enough funds/i.test(t))) {
      return {
        kind: "funds",
        title: "Not enough ETH for gas",
        message: "Your wallet does not hold enough native currency to pay for gas.",
      };
    }
    if (revert?.reason) return { kind: "revert", title: "Transaction reverted", message: revert.reason };
    if (error.walk((e) => e instanceof HttpRequestError)) {
      return {
        kind: "network",
        title: "Chain unreachable",
        message: "The app could not reach the chain's RPC node. Is the local chain running?",
      };
    }
    if (revert)
      return {
        kind: "revert",
        title: "Transaction reverted",
        message: raw ? `The contract reverted with an unknown error (${raw.slice(0, 10)}).` : "The contract reverted without a reason.",
      };
    return { kind: "unknown", title: "Something went wrong", message: error.shortMessage || error.message.split("\n")[0] };
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 4001)
    return { kind: "rejected", title: "Rejected in wallet", message: "You rejected the request in your wallet. Nothing was sent." };
  const message = error instanceof Error ? error.message : String(error);
  return { kind: "unknown", title: "Something went wrong", message: message.split("\n")[0] };
}
