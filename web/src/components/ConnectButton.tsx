"use client";
import { useEffect, useState } from "react";
import { useConnect, useConnection, useConnectors, useDisconnect, useBalance } from "wagmi";
import { shortAddress, formatAmount } from "@/lib/format";

/** Connect with any wallet found by EIP-6963 discovery (or the generic injected one). */
export function ConnectButton() {
  const { address, isConnected, chainId } = useConnection();
  const connectors = useConnectors();
  const connect = useConnect();
  const disconnect = useDisconnect();
  const balance = useBalance({ address, query: { enabled: Boolean(address) } });
  const [open, setOpen] = useState(false);
  const [mounted, setMounted] = useState(false);
  useEffect(() => setMounted(true), []);

  if (mounted && isConnected && address) {
    return (
      <div className="wallet" data-testid="wallet">
        <span className="mono" title={address} data-testid="wallet-address">
          {shortAddress(address)}
        </span>
        <span className="muted">chain {chainId}</span>
        {balance.data && (
          <span className="muted">
            {formatAmount(balance.data.value, balance.data.decimals, 4)} {balance.data.symbol}
          </span>
        )}
        <button type="button" className="btn ghost" onClick={() => disconnect.mutate()}>
          Disconnect
        </button>
      </div>
    );
  }
  // EIP-6963 wallets announce themselves with an rdns; list those first, then the generic one.
  const list = [...connectors].sort(
    (a, b) => Number(b.type === "injected" && b.id !== "injected") - Number(a.type === "injected" && a.id !== "injected"),
  );
  return (
    <div className="wallet">
      <button type="button" className="btn" onClick={() => setOpen((o) => !o)} data-testid="connect">
        Connect wallet
      </button>
      {open && (
        <div className="menu" role="menu">
          {list.length === 0 && <p className="muted">No wallet found. Install a browser wallet (MetaMask, Rabby…).</p>}
          {list.map((c) => (
            <button
              type="button"
              key={c.uid}
              role="menuitem"
              className="menu-item"
              onClick={() => {
                connect.mutate({ connector: c });
                setOpen(false);
              }}
            >
              {c.icon && <img src={c.icon} alt="" width={18} height={18} />} {c.name}
            </button>
          ))}
        </div>
      )}
      {connect.error && <span className="error small">{connect.error.message.split("\n")[0]}</span>}
    </div>
  );
}
