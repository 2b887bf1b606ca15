"use client";
import Link from "next/link";
import { useState } from "react";
import { useConfig, useConnection, useReadContract } from "wagmi";
import { readContract } from "wagmi/actions";
import { parseEventLogs } from "viem";
import { useQuery } from "@tanstack/react-query";
import { useContracts } from "@/hooks/useContracts";
import { useChainNow } from "@/hooks/useChainNow";
import { useTx, type WriteRequest, writeStep } from "@/hooks/useTx";
import { gateway } from "@/lib/gateway";
import { signedQuoteFromJson, type SignedQuote } from "@shardmesh/node/receipts/eip712.ts";
import { chooseQuotes, pricePerInference } from "@/lib/quotes";
import { createSessionKey, saveSessionKey } from "@/lib/session";
import { formatAmount, shortAddress, formatDate } from "@/lib/format";
import { jobMarketAbi, tokenAbi, TOKEN_SYMBOL } from "@/lib/contracts";
import type { ModelInfo } from "@/lib/models";
import { TxStatus } from "@/components/TxStatus";
import { tokenPaymentSteps, type PayMode } from "@/lib/payment";

/** Budget → quotes → total → pay (existing allowance: 1 prompt; permit: sign + send; approve: 2 txs). */
export function OpenJob({ model }: { model: ModelInfo }) {
  // A job's units: inferences, or tokens (prompt + reply) for a language model.
  const unit = model.task === "text-generation" ? "token" : "inference";
  const config = useConfig();
  const c = useContracts();
  const { address, isConnected } = useConnection();
  const tx = useTx();
  const [maxInferences, setMaxInferences] = useState(100);
  const [hours, setHours] = useState(24);
  const [mode, setMode] = useState<PayMode>("permit");
  const [openedJob, setOpenedJob] = useState<string>();
  const chainNow = useChainNow(); // expiries are checked against block time, which can differ from this clock

  // Quotes are made out to the connected wallet (only it can open a job with them) and must allow
  // the job's expiry.
  const quotes = useQuery({
    queryKey: ["quotes", c.chainId, model.id, maxInferences, address, hours],
    enabled: maxInferences > 0 && Boolean(address),
    retry: 0,
    queryFn: async () => {
      const all = (await gateway.quotes(model.id, maxInferences, address!)).map(signedQuoteFromJson);
      return chooseQuotes(all, model.stageCount, maxInferences, chainNow, BigInt(chainNow + hours * 3600));
    },
  });
  const expiresAt = BigInt(Math.floor(chainNow / 3600) * 3600 + hours * 3600); // rounded so the escrow read stays cached
  const draftRequest = {
    modelId: BigInt(model.id),
    maxUnits: maxInferences,
    expiresAt,
    sessionKey: address ?? "0x0000000000000000000000000000000000000001",
  } as const;
  const escrow = useReadContract({
    address: c.market,
    abi: jobMarketAbi,
    functionName: "escrowFor",
    args: quotes.data ? [draftRequest, quotes.data] : undefined,
    query: { enabled: Boolean(c.market && quotes.data) },
  });
  const balance = useReadContract({
    address: c.token,
    abi: tokenAbi,
    functionName: "balanceOf",
    args: address ? [address] : undefined,
    query: { enabled: Boolean(c.token && address) },
  });

  async function open() {
    if (!c.market || !c.token || !address || !quotes.data) return;
    const chainId = c.chainId!;
    const session = createSessionKey();
    const request = { ...draftRequest, expiresAt: BigInt(chainNow + hours * 3600), sessionKey: session.address };
    const chosen: SignedQuote[] = quotes.data;
    const receipt = await tx.run(async (): Promise<WriteRequest[]> => {
      const needed = await readContract(config, {
        address: c.market!,
        abi: jobMarketAbi,
        functionName: "escrowFor",
        args: [request, chosen],
      });
      return tokenPaymentSteps(config, {
        chainId,
        token: c.token!,
        owner: address,
        spender: c.market!,
        amount: needed,
        mode,
        approveLabel: "Approve escrow",
        pay: writeStep({ address: c.market!, abi: jobMarketAbi, functionName: "openJob", args: [request, chosen], label: "Open job" }),
        payWithPermit: (permit) =>
          writeStep({
            address: c.market!,
            abi: jobMarketAbi,
            functionName: "openJobWithPermit",
            args: [request, chosen, permit],
            label: "Open job with permit",
          }),
      });
    });
    if (!receipt) return;
    const opened = parseEventLogs({ abi: jobMarketAbi, logs: receipt.logs, eventName: "JobOpened" })[0];
    if (opened) {
      const jobId = opened.args.jobId.toString();
      saveSessionKey(window.localStorage, chainId, jobId, session);
      setOpenedJob(jobId);
    }
  }

  const total = escrow.data;
  const short = total !== undefined && balance.data !== undefined && balance.data < total;
  return (
    <section className="card" data-testid="open-job">
      <h2>Open a job</h2>
      <div className="row">
        <label>
          Max {unit}s
          <input
            type="number"
            min={1}
            value={maxInferences}
            onChange={(e) => setMaxInferences(Math.max(1, Number(e.target.value) || 1))}
            data-testid="max-inferences"
          />
        </label>
        <label>
          Expires in (hours)
          <input type="number" min={1} value={hours} onChange={(e) => setHours(Math.max(1, Number(e.target.value) || 1))} />
        </label>
        <label>
          Pay with
          <select value={mode} onChange={(e) => setMode(e.target.value as PayMode)} data-testid="pay-mode">
            <option value="permit">permit (sign + 1 transaction)</option>
            <option value="approve">approve + open (2 transactions)</option>
          </select>
        </label>
      </div>
      <h3 style={{ marginTop: 16 }}>Quotes</h3>
      {quotes.isLoading && <p className="muted">Asking providers for quotes…</p>}
      {quotes.error && (
        <p className="error" data-testid="quotes-error">
          {(quotes.error as Error & { gatewayName?: string }).gatewayName === "GatewayUnreachableError"
            ? "Gateway unreachable: quotes come from providers through a gateway."
            : (quotes.error as Error).message}
        </p>
      )}
      {quotes.data && (
        <table data-testid="quotes">
          <thead>
            <tr>
              <th>Stage</th>
              <th>Provider</th>
              <th className="num">Price</th>
              <th className="num">Max</th>
              <th>Valid until</th>
            </tr>
          </thead>
          <tbody>
            {quotes.data.map((q) => (
              <tr key={`${q.quote.stage}-${q.quote.provider}-${q.quote.nonce}`}>
                <td>{q.quote.stage}</td>
                <td className="mono">{shortAddress(q.quote.provider)}</td>
                <td className="num">{formatAmount(q.quote.price)}</td>
                <td className="num">{q.quote.maxUnits}</td>
                <td className="small">{formatDate(q.quote.expiry)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {quotes.data && (
        <p>
          Per {unit} ≤ {formatAmount(pricePerInference(quotes.data))} {TOKEN_SYMBOL} + royalty and fees ·{" "}
          <strong data-testid="escrow-total">
            Total escrow: {total !== undefined ? `${formatAmount(total)} ${TOKEN_SYMBOL}` : escrow.error ? "—" : "…"}
          </strong>
          {balance.data !== undefined && (
            <span className={short ? "error" : "muted"}>
              {" "}
              (balance {formatAmount(balance.data)} {TOKEN_SYMBOL})
            </span>
          )}
        </p>
      )}
      {!isConnected && <p className="muted">Connect a wallet to open a job.</p>}
      <button
        type="button"
        className="btn"
        disabled={!isConnected || !quotes.data || tx.busy || model.deprecated}
        onClick={() => void open()}
        data-testid="open-job-button"
      >
        Open job
      </button>
      <p className="muted small">
        A session key is created in this browser for the job; it signs receipts so you are not asked for each request.
      </p>
      <TxStatus state={tx.state} />
      {openedJob && (
        <p className="ok" data-testid="job-opened">
          Job #{openedJob} is open. <Link href="/jobs">See it in My jobs →</Link>
        </p>
      )}
    </section>
  );
}
