// Node identity: a libp2p Ed25519 key kept in a key file (protobuf, mode 0600), created on
// first start, and the binding between that peer id and the provider's staking address.
//
// Binding: the staking wallet signs (EIP-191) `bindingMessage(peerId)`. Peers check the
// signature on every capability announcement, so a node knows which staking address it talks
// to (noise authenticates the peer id itself). On chain, Staking binds the same peer id; when a
// chain client is available the directory also checks that (see `Directory`'s `checkBinding`).
import { existsSync, mkdirSync, readFileSync, writeFileSync, chmodSync } from "node:fs";
import { dirname } from "node:path";
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import type { PrivateKey } from "@libp2p/interface";
import { verifyMessage } from "viem";
import type { Account, Address, Hex } from "viem";
import { IdentityKeyFileError } from "./errors.ts";

/** Load the node key from `path`, creating it (and its folder) when absent. */
export async function loadOrCreateKey(path: string): Promise<PrivateKey> {
  if (existsSync(path)) {
    try {
      return privateKeyFromProtobuf(readFileSync(path));
    } catch (err) {
      throw new IdentityKeyFileError(`${path} is not a libp2p private key: ${(err as Error).message}`);
    }
  }
  const key = await generateKeyPair("Ed25519");
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, privateKeyToProtobuf(key), { mode: 0o600 });
  chmodSync(path, 0o600);
  return key;
}

export function peerIdOfKey(key: PrivateKey): string {
  return peerIdFromPrivateKey(key).toString();
}

/** The text a staking wallet signs to bind a peer id to itself. */
export function bindingMessage(peerId: string): string {
  return `ShardMesh peer binding\npeer id: ${peerId}`;
}

export interface PeerBinding {
  address: Address;
  signature: Hex;
}

export async function signBinding(account: Account, peerId: string): Promise<PeerBinding> {
  if (!account.signMessage) throw new IdentityKeyFileError("the staking account cannot sign messages");
  return { address: account.address, signature: await account.signMessage({ message: bindingMessage(peerId) }) };
}

export async function verifyBinding(peerId: string, binding: PeerBinding): Promise<boolean> {
  try {
    return await verifyMessage({ address: binding.address, message: bindingMessage(peerId), signature: binding.signature });
  } catch {
    return false;
  }
}
