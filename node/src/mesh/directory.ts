// Capability gossip and the live provider directory.
//
// Every provider publishes a JSON announcement on CAPABILITY_TOPIC every ANNOUNCE_INTERVAL_MS
// (and at once when a peer joins the topic): models and stages served, price, capacity, load,
// measured compute latency, staking address with its signed peer binding. gossipsub signs each
// message with the sender's peer key (StrictSign), and the directory only accepts an
// announcement whose `peerId` is the message's signer, and whose binding (when present) is a
// valid signature of the staking address over that peer id. Entries expire after
// DIRECTORY_TTL_MS without a fresh announcement and are dropped at once when the peer
// disconnects, so a killed provider leaves within tens of milliseconds.
import { logger } from "@libp2p/logger";
import { TypedEventEmitter } from "@libp2p/interface";
import type { PeerId } from "@libp2p/interface";
import { multiaddr } from "@multiformats/multiaddr";
import type { Message } from "@libp2p/gossipsub";
import {
  ANNOUNCE_INTERVAL_MS,
  CAPABILITY_TOPIC,
  DIRECTORY_TTL_MS,
  MAX_ANNOUNCED_CAPACITY,
  MAX_ANNOUNCED_LATENCY_MS,
  MAX_ANNOUNCED_LOAD,
  MAX_ANNOUNCED_MODELS,
  MAX_ANNOUNCED_STAGES,
  MAX_ANNOUNCEMENT_ADDRS,
  MAX_ANNOUNCEMENT_BYTES,
  MAX_CLOCK_SKEW_MS,
  MAX_DIRECTORY_ENTRIES,
} from "./constants.ts";
import { DirectoryInvalidAnnouncementError } from "./errors.ts";
import { verifyBinding } from "./identity.ts";
import type { PeerBinding } from "./identity.ts";
import type { MeshNode } from "./node.ts";

const log = logger("shardmesh:mesh:directory");

/** Addresses taken from one announcement into the peer store. */
export const MAX_LEARNED_ADDRS = 16;

export interface StageOffer {
  stage: number;
  /** Price per inference in token base units (decimal string). */
  price: string;
  /** Hex sha256 of the stage file. */
  sha256?: string;
  /** Decoder stages: KV-cache bytes free for new sessions, and what one position costs. */
  kvFreeBytes?: number;
  kvBytesPerToken?: number;
}

export interface ModelOffer {
  modelId: string;
  name?: string;
  stageCount: number;
  stages: StageOffer[];
}

export interface Announcement {
  v: 1;
  peerId: string;
  addrs: string[];
  models: ModelOffer[];
  /** Requests the provider runs at once. */
  capacity: number;
  /** Requests in flight now. */
  load: number;
  /** Recent mean stage compute time, ms (0 = unknown). */
  latencyMs: number;
  /** Gateway URL when the node serves one. */
  gateway?: string;
  binding?: PeerBinding;
  /**
   * Whether peers outside reach this node directly (nat/reach.ts). "unreachable": it is behind
   * NAT and dialled through the relay addresses among `addrs` (…/p2p-circuit/p2p/<id>).
   */
  reach?: "unknown" | "reachable" | "unreachable";
  /** Present when the node offers circuit relaying, with its limits per relayed connection. */
  relay?: { dataLimitBytes: string; durationLimitMs: number };
  seq: number;
  ts: number;
}

export interface DirectoryEntry {
  announcement: Announcement;
  receivedAt: number;
  expiresAt: number;
}

export interface StageProvider {
  peerId: string;
  stakingAddress?: string;
  price: bigint;
  load: number;
  capacity: number;
  latencyMs: number;
  /** Decoder stages: free KV-cache bytes as last announced. */
  kvFreeBytes?: number;
  /** As announced (nat/reach.ts): "unreachable" providers are reached through relays. */
  reach?: "unknown" | "reachable" | "unreachable";
}

export interface DirectoryEvents {
  change: CustomEvent<{ peerId: string; kind: "added" | "updated" | "removed" }>;
}

export interface DirectoryInit {
  ttlMs?: number;
  announceIntervalMs?: number;
  /**
   * Whether a peer is bound on chain to `address` and that address is staked (chain/binding.ts).
   * Without it, no remote peer is listed unless `unstaked` is set.
   */
  checkBinding?: (peerId: string, address: string) => Promise<boolean>;
  /**
   * Development meshes without a chain: list peers with no binding and no stake (`--unstaked`).
   * Never on a market where money moves: any key could then announce itself a provider.
   */
  unstaked?: boolean;
  /** Largest difference between an announcement's timestamp and this node's clock (default MAX_CLOCK_SKEW_MS). */
  maxSkewMs?: number;
  /** Builds this node's announcement; absent for a node that serves nothing. */
  announce?: () => Omit<Announcement, "v" | "peerId" | "addrs" | "seq" | "ts">;
}

/** How long a peer stays vouched for after it was last listed (the chain binding check's own cache is 60 s). */
export const VOUCHED_MS = 60_000;

/** How often the directory drops expired entries and republishes (at most every announce interval). */
const SWEEP_INTERVAL_MS = Math.min(ANNOUNCE_INTERVAL_MS, 500);

const decoder = new TextDecoder();
const encoder = new TextEncoder();

export class Directory extends TypedEventEmitter<DirectoryEvents> {
  private readonly node: MeshNode;
  private readonly init: DirectoryInit;
  private readonly entries = new Map<string, DirectoryEntry>();
  /** Peers whose announcement passed the stake check, and when last (bounded, oldest first). */
  private readonly vouchedAt = new Map<string, number>();
  /** Addresses (joined) last taken into the peer store, per provider with an entry. */
  private readonly learned = new Map<string, string>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private seq = 0;
  private readonly onMessage = (evt: CustomEvent<Message>): void => {
    if (evt.detail.topic !== CAPABILITY_TOPIC) return;
    this.accept(evt.detail).catch((err: Error) => {
      this.rejected++;
      log("rejected announcement: %s", err.message);
    });
  };
  /** Announcements refused (schema, caps, clock skew, binding, stake, directory full). */
  rejected = 0;
  /** When the last sweep ran: a sweep that runs late was held up by this process, not by the peers. */
  private lastSweep = Date.now();
  private readonly onDisconnect = (evt: CustomEvent<{ toString(): string }>): void => {
    const peerId = evt.detail.toString();
    // A provider behind NAT is reached through relays: losing one relayed connection (a relay
    // went away) says nothing about the provider, whose announcements keep it alive (TTL).
    if (this.entries.get(peerId)?.announcement.reach === "unreachable") return;
    this.remove(peerId, "disconnected");
  };
  private readonly onSubscription = (): void => {
    this.dirty = true;
    this.publish();
  };

  constructor(node: MeshNode, init: DirectoryInit = {}) {
    super();
    this.node = node;
    this.init = init;
  }

  start(): void {
    const pubsub = this.node.services.pubsub;
    pubsub.subscribe(CAPABILITY_TOPIC);
    pubsub.addEventListener("message", this.onMessage);
    pubsub.addEventListener("subscription-change", this.onSubscription);
    this.node.addEventListener("peer:disconnect", this.onDisconnect);
    this.lastSweep = Date.now();
    this.timer = setInterval(() => {
      this.sweep();
      this.publish();
    }, SWEEP_INTERVAL_MS);
    this.publish();
  }

  stop(): void {
    clearInterval(this.timer);
    const pubsub = this.node.services.pubsub;
    pubsub.removeEventListener("message", this.onMessage);
    pubsub.removeEventListener("subscription-change", this.onSubscription);
    this.node.removeEventListener("peer:disconnect", this.onDisconnect);
  }

  private lastPublish = 0;

  /** Publish this node's announcement now (rate-limited to one per 100 ms). */
  publish(): void {
    if (!this.init.announce) return;
    const now = Date.now();
    if (now - this.lastPublish < 100) return;
    if (now - this.lastPublish < (this.init.announceIntervalMs ?? ANNOUNCE_INTERVAL_MS) - 250 && this.lastPublish !== 0 && !this.dirty)
      return;
    this.dirty = false;
    this.lastPublish = now;
    const ann: Announcement = {
      v: 1,
      peerId: this.node.peerId.toString(),
      addrs: this.node.getMultiaddrs().map((a) => a.toString()),
      seq: ++this.seq,
      ts: now,
      ...this.init.announce(),
    };
    this.node.services.pubsub.publish(CAPABILITY_TOPIC, encoder.encode(JSON.stringify(ann))).catch((err: Error) => {
      log("publish failed: %s", err.message);
    });
  }

  private dirty = true;

  /** Ask for an announcement on the next tick (e.g. after a change of stages). */
  markDirty(): void {
    this.dirty = true;
  }

  private async accept(msg: Message): Promise<void> {
    if (msg.type !== "signed") throw new DirectoryInvalidAnnouncementError("unsigned announcement");
    if (msg.data.byteLength > MAX_ANNOUNCEMENT_BYTES) {
      throw new DirectoryInvalidAnnouncementError(`announcement of ${msg.data.byteLength} bytes`);
    }
    const ann = parseAnnouncement(decoder.decode(msg.data));
    if (ann.peerId !== msg.from.toString()) {
      throw new DirectoryInvalidAnnouncementError(`announcement for ${ann.peerId} signed by ${msg.from}`);
    }
    const prev = this.entries.get(ann.peerId);
    if (prev && prev.announcement.seq >= ann.seq && prev.announcement.ts >= ann.ts) return;
    const skew = Math.abs(ann.ts - Date.now());
    if (skew > (this.init.maxSkewMs ?? MAX_CLOCK_SKEW_MS)) {
      throw new DirectoryInvalidAnnouncementError(`announcement from ${ann.peerId} is ${skew} ms off this node's clock`);
    }
    if (!prev && this.entries.size >= MAX_DIRECTORY_ENTRIES) {
      throw new DirectoryInvalidAnnouncementError(`directory full (${MAX_DIRECTORY_ENTRIES} providers): ${ann.peerId} not listed`);
    }
    // Who is served: a peer bound on chain to a staked address (unless this is an unstaked dev mesh).
    if (ann.binding) {
      if (prev?.announcement.binding?.signature !== ann.binding.signature && !(await verifyBinding(ann.peerId, ann.binding))) {
        throw new DirectoryInvalidAnnouncementError(`bad staking binding for ${ann.peerId}`);
      }
      // Cached by the check (chain/binding.ts): a stake withdrawn later unlists the peer within the cache's lifetime.
      if (this.init.checkBinding && !(await this.init.checkBinding(ann.peerId, ann.binding.address))) {
        throw new DirectoryInvalidAnnouncementError(`${ann.peerId} is not bound on chain to ${ann.binding.address}, or it is not staked`);
      }
      if (!this.init.checkBinding && !this.init.unstaked) {
        throw new DirectoryInvalidAnnouncementError(
          `${ann.peerId}'s stake cannot be checked without a chain (run with --rpc, or --unstaked)`,
        );
      }
    } else if (!this.init.unstaked) {
      throw new DirectoryInvalidAnnouncementError(`${ann.peerId} announces no staking binding`);
    }
    // A provider's addresses, relay addresses included, so that one behind NAT can be dialled
    // without a DHT lookup (gossip reaches us through other peers). Signed by the peer itself.
    const serves = ann.models.some((m) => m.stages.length > 0);
    if (serves && this.learned.get(ann.peerId) !== ann.addrs.join()) {
      this.learned.set(ann.peerId, ann.addrs.join());
      await this.learnAddrs(msg.from, ann.addrs);
    }
    const now = Date.now();
    this.entries.set(ann.peerId, { announcement: ann, receivedAt: now, expiresAt: now + (this.init.ttlMs ?? DIRECTORY_TTL_MS) });
    this.vouchedAt.delete(ann.peerId);
    this.vouchedAt.set(ann.peerId, now);
    while (this.vouchedAt.size > 4 * MAX_DIRECTORY_ENTRIES) this.vouchedAt.delete(this.vouchedAt.keys().next().value as string);
    this.dispatchEvent(new CustomEvent("change", { detail: { peerId: ann.peerId, kind: prev ? "updated" : "added" } }));
  }

  private async learnAddrs(peer: PeerId, addrs: string[]): Promise<void> {
    const multiaddrs = [];
    for (const a of addrs.slice(0, MAX_LEARNED_ADDRS)) {
      try {
        const ma = multiaddr(a);
        // Only its own addresses: a circuit address must end in its own id.
        if (ma.getComponents().findLast((c) => c.name === "p2p")?.value === peer.toString()) multiaddrs.push(ma);
      } catch {
        // not a multiaddr: ignored
      }
    }
    if (multiaddrs.length) await this.node.peerStore.merge(peer, { multiaddrs }).catch((err: Error) => log("peer store: %s", err.message));
  }

  private remove(peerId: string, why: string): void {
    this.learned.delete(peerId);
    if (!this.entries.delete(peerId)) return;
    log("dropped %s (%s)", peerId, why);
    this.dispatchEvent(new CustomEvent("change", { detail: { peerId, kind: "removed" } }));
  }

  /** Drop a peer now (the router calls this when a hop's stream died). */
  evict(peerId: string): void {
    this.remove(peerId, "evicted");
  }

  private sweep(): void {
    const now = Date.now();
    // Liveness must not depend on this process's event loop: if the sweep itself ran late (a long
    // task held the loop), announcements could not be taken in meanwhile, so the entries get the
    // time back instead of all expiring at once.
    const late = now - this.lastSweep - SWEEP_INTERVAL_MS;
    this.lastSweep = now;
    if (late > SWEEP_INTERVAL_MS) for (const e of this.entries.values()) e.expiresAt += late;
    for (const [peerId, e] of this.entries) if (e.expiresAt <= now) this.remove(peerId, "expired");
  }

  /** Live announcements (this node's own is included when it serves anything). */
  list(): Announcement[] {
    this.sweep();
    const all = [...this.entries.values()].map((e) => e.announcement);
    if (this.init.announce) {
      all.unshift({
        v: 1,
        peerId: this.node.peerId.toString(),
        addrs: this.node.getMultiaddrs().map((a) => a.toString()),
        seq: this.seq,
        ts: Date.now(),
        ...this.init.announce(),
      });
    }
    return all;
  }

  /**
   * Whether `peerId` is listed, or was within VOUCHED_MS (its stake checked then): who may use a
   * provider's free tier. A peer whose connection dropped a moment ago (and so left the listing)
   * is still the staked peer it was.
   */
  vouched(peerId: string, now = Date.now()): boolean {
    if (this.entries.has(peerId)) return true;
    const at = this.vouchedAt.get(peerId);
    return at !== undefined && now - at < VOUCHED_MS;
  }

  has(peerId: string): boolean {
    return this.entries.has(peerId);
  }

  /** Live providers of one stage of a model. */
  providers(modelId: string, stage: number): StageProvider[] {
    const out: StageProvider[] = [];
    for (const ann of this.list()) {
      for (const m of ann.models) {
        if (m.modelId !== modelId) continue;
        const offer = m.stages.find((s) => s.stage === stage);
        if (!offer) continue;
        out.push({
          peerId: ann.peerId,
          stakingAddress: ann.binding?.address,
          price: BigInt(offer.price),
          load: ann.load,
          capacity: ann.capacity,
          latencyMs: ann.latencyMs,
          ...(typeof offer.kvFreeBytes === "number" ? { kvFreeBytes: offer.kvFreeBytes } : {}),
          reach: ann.reach,
        });
      }
    }
    return out;
  }

  /** Stage count of a model as announced (0 when nobody serves it). */
  stageCount(modelId: string): number {
    for (const ann of this.list()) for (const m of ann.models) if (m.modelId === modelId) return m.stageCount;
    return 0;
  }

  /** Every model seen, with its name and stage count. */
  models(): { modelId: string; name?: string; stageCount: number }[] {
    const seen = new Map<string, { modelId: string; name?: string; stageCount: number }>();
    for (const ann of this.list()) {
      for (const m of ann.models)
        if (!seen.has(m.modelId)) seen.set(m.modelId, { modelId: m.modelId, name: m.name, stageCount: m.stageCount });
    }
    return [...seen.values()];
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
const isUint = (v: unknown, max: number): v is number => Number.isSafeInteger(v) && (v as number) >= 0 && (v as number) <= max;
const isNumberIn = (v: unknown, max: number): v is number => typeof v === "number" && Number.isFinite(v) && v >= 0 && v <= max;
/** Model ids: the registry's decimal ids, or short names on development meshes. */
const MODEL_ID = /^[A-Za-z0-9._-]{1,80}$/;
/** Display text from a peer: no control characters (terminal escapes), bounded length. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: the class names the control characters refused
const DISPLAY_TEXT = /^[^\u0000-\u001f\u007f-\u009f]{1,80}$/u;

function validOffer(m: unknown): boolean {
  if (!isObject(m) || typeof m.modelId !== "string" || !MODEL_ID.test(m.modelId)) return false;
  if (m.name !== undefined && (typeof m.name !== "string" || !DISPLAY_TEXT.test(m.name))) return false;
  if (!isUint(m.stageCount, MAX_ANNOUNCED_STAGES) || m.stageCount === 0) return false;
  const stageCount = m.stageCount;
  return (
    Array.isArray(m.stages) &&
    m.stages.length <= stageCount &&
    m.stages.every(
      (s) =>
        isObject(s) &&
        isUint(s.stage, stageCount - 1) &&
        typeof s.price === "string" &&
        /^\d{1,29}$/.test(s.price) && // uint96
        (s.sha256 === undefined || (typeof s.sha256 === "string" && /^[0-9a-f]{64}$/.test(s.sha256))) &&
        (s.kvFreeBytes === undefined || isUint(s.kvFreeBytes, Number.MAX_SAFE_INTEGER)) &&
        (s.kvBytesPerToken === undefined || isUint(s.kvBytesPerToken, Number.MAX_SAFE_INTEGER)),
    )
  );
}

function validGateway(v: unknown): boolean {
  if (v === undefined) return true;
  if (typeof v !== "string" || v.length > 256) return false;
  try {
    const u = new URL(v);
    return (u.protocol === "http:" || u.protocol === "https:") && u.username === "" && u.password === "";
  } catch {
    return false;
  }
}

/**
 * A capability announcement from a peer, checked field by field: every number within its
 * announced cap (MAX_ANNOUNCED_*), every text a bounded id or control-free display text, the
 * gateway an http(s) URL. Anything else is DirectoryInvalidAnnouncementError. Freshness (clock
 * skew) and staking are checked by the directory, which knows the time and the chain.
 */
export function parseAnnouncement(text: string): Announcement {
  let a: unknown;
  try {
    a = JSON.parse(text);
  } catch {
    throw new DirectoryInvalidAnnouncementError("announcement is not JSON");
  }
  const ok =
    isObject(a) &&
    a.v === 1 &&
    typeof a.peerId === "string" &&
    a.peerId.length <= 128 &&
    Array.isArray(a.addrs) &&
    a.addrs.length <= MAX_ANNOUNCEMENT_ADDRS &&
    a.addrs.every((x) => typeof x === "string" && /^\/[\x21-\x7e]{1,511}$/.test(x)) && // multiaddrs: printable ASCII
    Array.isArray(a.models) &&
    a.models.length <= MAX_ANNOUNCED_MODELS &&
    a.models.every(validOffer) &&
    isUint(a.capacity, MAX_ANNOUNCED_CAPACITY) &&
    isUint(a.load, MAX_ANNOUNCED_LOAD) &&
    isNumberIn(a.latencyMs, MAX_ANNOUNCED_LATENCY_MS) &&
    isUint(a.seq, Number.MAX_SAFE_INTEGER) &&
    isUint(a.ts, Number.MAX_SAFE_INTEGER) &&
    validGateway(a.gateway) &&
    (a.reach === undefined || a.reach === "unknown" || a.reach === "reachable" || a.reach === "unreachable") &&
    (a.relay === undefined ||
      (isObject(a.relay) &&
        typeof a.relay.dataLimitBytes === "string" &&
        /^\d{1,20}$/.test(a.relay.dataLimitBytes) &&
        isUint(a.relay.durationLimitMs, Number.MAX_SAFE_INTEGER))) &&
    (a.binding === undefined ||
      (isObject(a.binding) &&
        typeof a.binding.address === "string" &&
        /^0x[0-9a-fA-F]{40}$/.test(a.binding.address) &&
        typeof a.binding.signature === "string" &&
        /^0x[0-9a-fA-F]{2,1024}$/.test(a.binding.signature)));
  if (!ok) throw new DirectoryInvalidAnnouncementError("announcement does not match the schema or exceeds an announced cap");
  return a as unknown as Announcement;
}
