"use client";
import { useMemo, useState } from "react";
import { useConfig, useConnection, useReadContract } from "wagmi";
import { parseUnits, type Hex } from "viem";
import { useContracts } from "@/hooks/useContracts";
import { useIndex } from "@/hooks/useIndex";
import { useChainNow } from "@/hooks/useChainNow";
import { useTx, type WriteRequest, writeStep } from "@/hooks/useTx";
import { providerHistory } from "@/lib/jobs";
import { bytesToPeerId, peerIdToBytes } from "@/lib/peer";
import { formatAmount, formatDuration } from "@/lib/format";
import { stakingAbi, tokenAbi, TOKEN_SYMBOL } from "@/lib/contracts";
import { TxStatus } from "@/components/TxStatus";
import { tokenPaymentSteps, type PayMode } from "@/lib/payment";

function parseAmount(text: string): bigint | undefined {
  try {
    const v = parseUnits(text.trim(), 18);
    return v > 0n ? v : undefined;
  } catch {
    return undefined;
  }
}

export function ProviderPanel() {
  const config = useConfig();
  const c = useContracts();
  const { address, isConnected } = useConnection();
  const index = useIndex();
  const now = useChainNow();
  const tx = useTx();
  const [stakeText, setStakeText] = useState("100");
  const [unstakeText, setUnstakeText] = useState("");
  const [peerText, setPeerText] = useState("");
  const [metaText, setMetaText] = useState("");
  const enabled = Boolean(c.staking && address);
  const stake = useReadContract({
    address: c.staking,
    abi: stakingAbi,
    functionName: "stakeOf",
    args: address ? [address] : undefined,
    query: { enabled, refetchInterval: 3000 },
  });
  const free = useReadContract({
    address: c.staking,
    abi: stakingAbi,
    functionName: "freeStake",
    args: address ? [address] : undefined,
    query: { enabled, refetchInterval: 3000 },
  });
  const peer = useReadContract({
    address: c.staking,
    abi: stakingAbi,
    functionName: "peerIdOf",
    args: address ? [address] : undefined,
    query: { enabled },
  });
  const period = useReadContract({
    address: c.staking,
    abi: stakingAbi,
    functionName: "unbondingPeriod",
    query: { enabled: Boolean(c.staking) },
  });
  const balance = useReadContract({
    address: c.token,
    abi: tokenAbi,
    functionName: "balanceOf",
    args: address ? [address] : undefined,
    query: { enabled: Boolean(c.token && address) },
  });
  const history = useMemo(
    () => (address ? providerHistory(index.data?.events ?? [], address, c.staking) : undefined),
    [index.data, address, c.staking],
  );

  if (!isConnected || !address) return <p className="muted">Connect the wallet you stake with.</p>;
  if (!c.ready) return <p className="muted">The ShardMesh contracts are not deployed on this chain.</p>;

  const s = stake.data;
  const releaseAt = s ? Number(s.unbondingReleaseAt) : 0;
  const unbondingLeft = releaseAt - now;

  async function doStake(mode: PayMode) {
    const amount = parseAmount(stakeText);
    if (!amount) return tx.fail("Stake", new Error("Enter an amount above zero."));
    await tx.run(
      (): Promise<WriteRequest[]> =>
        tokenPaymentSteps(config, {
          chainId: c.chainId!,
          token: c.token!,
          owner: address!,
          spender: c.staking!,
          amount,
          mode,
          approveLabel: "Approve stake",
          pay: writeStep({ address: c.staking!, abi: stakingAbi, functionName: "stake", args: [amount], label: "Stake" }),
          payWithPermit: ({ deadline, v, r, s }) =>
            writeStep({
              address: c.staking!,
              abi: stakingAbi,
              functionName: "stakeWithPermit",
              args: [amount, deadline, v, r, s],
              label: "Stake with permit",
            }),
        }),
    );
  }

  async function bind() {
    let bytes: Hex;
    try {
      bytes = peerIdToBytes(peerText);
    } catch (e) {
      return tx.fail("Bind peer id", e);
    }
    await tx.run([
      writeStep({ address: c.staking!, abi: stakingAbi, functionName: "bindPeer", args: [bytes, metaText], label: "Bind peer id" }),
    ]);
  }

  const locked = history ? [...history.locks.entries()] : [];
  return (
    <>
      <section className="card">
        <div className="stats" data-testid="stake-stats">
          <div className="stat">
            <span className="value" data-testid="staked">
              {s ? formatAmount(s.staked) : "…"}
            </span>
            <span className="label">staked ({TOKEN_SYMBOL})</span>
          </div>
          <div className="stat">
            <span className="value" data-testid="free-stake">
              {free.data !== undefined ? formatAmount(free.data) : "…"}
            </span>
            <span className="label">free</span>
          </div>
          <div className="stat">
            <span className="value" data-testid="locked">
              {s ? formatAmount(s.locked) : "…"}
            </span>
            <span className="label">locked in open jobs</span>
          </div>
          <div className="stat">
            <span className="value" data-testid="unbonding">
              {s ? formatAmount(s.unbonding) : "…"}
            </span>
            <span className="label">unbonding</span>
          </div>
          <div className="stat">
            <span className="value">{balance.data !== undefined ? formatAmount(balance.data) : "…"}</span>
            <span className="label">wallet balance</span>
          </div>
        </div>
        {s && s.unbonding > 0n && (
          <p data-testid="unbonding-countdown">
            {unbondingLeft > 0 ? (
              <>
                Unbonding: withdrawable in <strong>{formatDuration(unbondingLeft)}</strong>
              </>
            ) : (
              <span className="ok">
                Unbonding is over: you can withdraw {formatAmount(s.unbonding)} {TOKEN_SYMBOL}.
              </span>
            )}
          </p>
        )}
        <p className="muted small">
          Unbonding period {period.data !== undefined ? formatDuration(period.data) : "…"} (longer than the longest challenge window, so
          stake cannot leave before disputes end).
        </p>
        {c.chainId === 31337 && (
          <button
            type="button"
            className="btn ghost"
            disabled={tx.busy}
            data-testid="faucet"
            onClick={() =>
              void tx.run([
                writeStep({ address: c.token!, abi: tokenAbi, functionName: "faucet", args: [parseUnits("1000", 18)], label: "Faucet" }),
              ])
            }
          >
            Get 1,000 test {TOKEN_SYMBOL} (local chain)
          </button>
        )}
      </section>
      <div className="grid-2">
        <section className="card">
          <h2>Stake</h2>
          <div className="row">
            <label>
              Amount ({TOKEN_SYMBOL})<input value={stakeText} onChange={(e) => setStakeText(e.target.value)} data-testid="stake-amount" />
            </label>
            <button type="button" className="btn" disabled={tx.busy} onClick={() => void doStake("permit")} data-testid="stake-button">
              Stake (permit)
            </button>
            <button
              type="button"
              className="btn ghost"
              disabled={tx.busy}
              onClick={() => void doStake("approve")}
              data-testid="stake-approve-button"
            >
              Approve + stake
            </button>
          </div>
          <h2 style={{ marginTop: 18 }}>Unstake</h2>
          <div className="row">
            <label>
              Amount ({TOKEN_SYMBOL})
              <input
                value={unstakeText}
                placeholder={free.data !== undefined ? formatAmount(free.data) : ""}
                onChange={(e) => setUnstakeText(e.target.value)}
                data-testid="unstake-amount"
              />
            </label>
            <button
              type="button"
              className="btn"
              disabled={tx.busy}
              data-testid="unstake-button"
              onClick={() => {
                const amount = parseAmount(
                  unstakeText || (free.data !== undefined ? formatAmount(free.data, 18, 18).replace(/,/g, "") : ""),
                );
                if (!amount) return tx.fail("Request unstake", new Error("Enter an amount above zero."));
                void tx.run([
                  writeStep({
                    address: c.staking!,
                    abi: stakingAbi,
                    functionName: "requestUnstake",
                    args: [amount],
                    label: "Request unstake",
                  }),
                ]);
              }}
            >
              Request unstake
            </button>
            <button
              type="button"
              className="btn secondary"
              disabled={tx.busy || !s || s.unbonding === 0n}
              data-testid="withdraw-button"
              onClick={() =>
                void tx.run([
                  writeStep({ address: c.staking!, abi: stakingAbi, functionName: "withdraw", args: [], label: "Withdraw unbonded stake" }),
                ])
              }
            >
              Withdraw
            </button>
          </div>
        </section>
        <section className="card">
          <h2>Node identity</h2>
          <p className="small">
            Bound peer id:{" "}
            <span className="mono" data-testid="bound-peer">
              {peer.data && peer.data !== "0x" ? bytesToPeerId(peer.data) : "none"}
            </span>
          </p>
          <label>
            <span>
              libp2p peer id (printed by <code>shardmesh provider start</code>)
            </span>
            <input value={peerText} onChange={(e) => setPeerText(e.target.value)} placeholder="12D3KooW…" data-testid="peer-input" />
          </label>
          <label style={{ marginTop: 8 }}>
            Metadata URI (optional)
            <input value={metaText} onChange={(e) => setMetaText(e.target.value)} placeholder="https://… or data:" />
          </label>
          <button
            type="button"
            className="btn"
            style={{ marginTop: 10 }}
            disabled={tx.busy || !peerText}
            onClick={() => void bind()}
            data-testid="bind-button"
          >
            Bind peer id
          </button>
        </section>
      </div>
      <TxStatus state={tx.state} />
      <section className="card">
        <h2>Collateral locked in jobs</h2>
        {locked.length === 0 ? (
          <p className="muted">No collateral locked.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Job</th>
                <th className="num">Locked</th>
              </tr>
            </thead>
            <tbody>
              {locked.map(([job, amount]) => (
                <tr key={job}>
                  <td>#{job}</td>
                  <td className="num">
                    {formatAmount(amount)} {TOKEN_SYMBOL}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <h2>Slashes</h2>
        {!history || history.slashes.length === 0 ? (
          <p className="muted" data-testid="no-slashes">
            Never slashed.
          </p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Job</th>
                <th>Reason</th>
                <th className="num">Amount</th>
                <th className="num">Block</th>
              </tr>
            </thead>
            <tbody>
              {history.slashes.map((x, i) => (
                <tr key={i}>
                  <td>#{x.jobId}</td>
                  <td>{x.reason}</td>
                  <td className="num error">−{formatAmount(x.amount)}</td>
                  <td className="num">{x.block}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </>
  );
}
