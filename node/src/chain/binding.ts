// Peer bindings on chain: whether a libp2p peer id is bound to a staking address
// (ProviderStaking.providerOfPeer), cached so gossip does not read the chain per announcement.
import { peerIdFromString } from "@libp2p/peer-id";
import { getAddress, isAddressEqual, toHex, zeroAddress } from "viem";
import type { ReadOnlyContracts } from "./contracts.ts";

/** How long a failed binding check is remembered (the peer may bind a moment later); a bound one is kept. */
export const UNBOUND_CACHE_MS = 2_000;

/** `checkBinding(peerId, address)` over the staking contract, for the capability directory. */
export function peerBindingCheck(read: Pick<ReadOnlyContracts, "staking">): (peerId: string, address: string) => Promise<boolean> {
  const bound = new Map<string, { ok: boolean; at: number }>();
  return async (peerId, address) => {
    const key = `${peerId}/${address.toLowerCase()}`;
    const hit = bound.get(key);
    if (hit && (hit.ok || Date.now() - hit.at < UNBOUND_CACHE_MS)) return hit.ok;
    const onChain = await read.staking.read.providerOfPeer([toHex(peerIdFromString(peerId).toMultihash().bytes)]);
    const ok = onChain !== zeroAddress && isAddressEqual(onChain, getAddress(address));
    bound.set(key, { ok, at: Date.now() });
    return ok;
  };
}
