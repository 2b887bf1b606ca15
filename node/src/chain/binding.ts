// Peer bindings on chain: whether a libp2p peer id is bound to a staking address
// (ProviderStaking.providerOfPeer) and that address holds at least a minimum stake, cached so
// gossip does not read the chain per announcement. The cache is keyed by what peers announce, so
// it is bounded: least recently used entries go first.
import { peerIdFromString } from "@libp2p/peer-id";
import { getAddress, isAddressEqual, toHex, zeroAddress } from "viem";
import type { ReadOnlyContracts } from "./contracts.ts";

/** How long a failed check is remembered (the peer may bind or stake a moment later). */
export const UNBOUND_CACHE_MS = 2_000;
/** How long a passed check is trusted: a stake withdrawn (or a peer re-bound) unlists the peer within this. */
export const BOUND_CACHE_MS = 60_000;
/** Checks remembered at once. */
export const MAX_BINDING_CACHE = 4_096;
/**
 * Stake an address must hold for its peer to be listed and routed to (token base units): 1 token.
 * Collateral for paid work is locked per job on top of this; this floor only keeps an address
 * that never staked out of the directory.
 */
export const MIN_LISTED_STAKE = 10n ** 18n;

/** `checkBinding(peerId, address)` over the staking contract, for the capability directory. */
export function peerBindingCheck(
  read: Pick<ReadOnlyContracts, "staking">,
  o: { minStake?: bigint } = {},
): (peerId: string, address: string) => Promise<boolean> {
  const minStake = o.minStake ?? MIN_LISTED_STAKE;
  const cache = new Map<string, { ok: boolean; at: number }>();
  return async (peerId, address) => {
    const key = `${peerId}/${address.toLowerCase()}`;
    const hit = cache.get(key);
    if (hit && Date.now() - hit.at < (hit.ok ? BOUND_CACHE_MS : UNBOUND_CACHE_MS)) {
      cache.delete(key);
      cache.set(key, hit);
      return hit.ok;
    }
    const onChain = await read.staking.read.providerOfPeer([toHex(peerIdFromString(peerId).toMultihash().bytes)]);
    let ok = onChain !== zeroAddress && isAddressEqual(onChain, getAddress(address));
    if (ok) ok = (await read.staking.read.stakeOf([getAddress(address)])).staked >= minStake;
    cache.delete(key);
    cache.set(key, { ok, at: Date.now() });
    while (cache.size > MAX_BINDING_CACHE) cache.delete(cache.keys().next().value as string);
    return ok;
  };
}
