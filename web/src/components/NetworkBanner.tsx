"use client";
import { useSwitchChain } from "wagmi";
import { useDeployment, useDeployments } from "@/hooks/useDeployment";

/** Wrong network → a clear prompt to switch; no deployment at all → says how to deploy. */
export function NetworkBanner() {
  const deployments = useDeployments();
  const { deployment, wrongNetwork, walletChainId } = useDeployment();
  const switchChain = useSwitchChain();
  const usable = deployments.filter((d) => Object.keys(d.contracts).length > 0);
  if (wrongNetwork) {
    return (
      <div className="banner warn" role="alert" data-testid="wrong-network">
        <div className="container">
          Your wallet is on chain {walletChainId}, where ShardMesh is not deployed.
          {usable.map((d) => (
            <button type="button" key={d.chainId} className="btn small" onClick={() => switchChain.mutate({ chainId: d.chainId })}>
              Switch to {d.name} ({d.chainId})
            </button>
          ))}
          {switchChain.error && <span className="error"> {switchChain.error.message.split("\n")[0]}</span>}
        </div>
      </div>
    );
  }
  if (deployment && Object.keys(deployment.contracts).length === 0) {
    return (
      <div className="banner warn" role="alert" data-testid="no-deployment">
        <div className="container">
          No ShardMesh contracts are deployed on {deployment.name} ({deployment.chainId}) yet. Run <code>npm run deploy</code>.
        </div>
      </div>
    );
  }
  return null;
}
