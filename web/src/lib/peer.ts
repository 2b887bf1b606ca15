// libp2p peer ids: the string form ("12D3KooW…", "Qm…") is the base58btc encoding of the peer
// id's multihash bytes, which is what ProviderStaking.bindPeer stores.
import { bytesToHex, hexToBytes, type Hex } from "viem";

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const INDEX = new Map([...ALPHABET].map((ch, i) => [ch, i]));

export class PeerIdInvalidError extends Error {
  override name = "PeerIdInvalidError";
}

export function base58Decode(text: string): Uint8Array {
  const bytes: number[] = [0];
  for (const ch of text) {
    const value = INDEX.get(ch);
    if (value === undefined) throw new PeerIdInvalidError(`"${ch}" is not a base58 character`);
    let carry = value;
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i] * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  const out = bytes.reverse();
  while (out.length > 1 && out[0] === 0) out.shift();
  return new Uint8Array([...new Array<number>(zeros).fill(0), ...(text.length === zeros ? [] : out)]);
}

export function base58Encode(bytes: Uint8Array): string {
  const digits: number[] = [0];
  for (const b of bytes) {
    let carry = b;
    for (let i = 0; i < digits.length; i++) {
      carry += digits[i] << 8;
      digits[i] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = (carry / 58) | 0;
    }
  }
  let zeros = 0;
  while (zeros < bytes.length && bytes[zeros] === 0) zeros++;
  const body =
    bytes.length === zeros
      ? ""
      : digits
          .reverse()
          .map((d) => ALPHABET[d])
          .join("");
  return "1".repeat(zeros) + body;
}

/** "12D3KooW…" / "Qm…" / 0x-hex multihash → the bytes bindPeer expects. */
export function peerIdToBytes(peerId: string): Hex {
  const s = peerId.trim();
  if (/^0x[0-9a-fA-F]+$/.test(s) && s.length % 2 === 0) return s as Hex;
  if (!/^(12D3KooW|Qm|16U)/.test(s))
    throw new PeerIdInvalidError(`"${s.slice(0, 12)}…" does not look like a libp2p peer id (12D3KooW… or Qm…)`);
  const bytes = base58Decode(s);
  // multihash: <code varint><length varint><digest>; identity (0x00) for ed25519 keys, sha2-256 (0x12) for RSA.
  if (!((bytes[0] === 0x00 || bytes[0] === 0x12) && bytes[1] === bytes.length - 2)) {
    throw new PeerIdInvalidError(`peer id does not decode to a multihash (${bytes.length} bytes)`);
  }
  return bytesToHex(bytes);
}

export function bytesToPeerId(hex: Hex): string {
  return hex === "0x" ? "" : base58Encode(hexToBytes(hex));
}
