// Trace store: per (job, request index, stage) the input and output bag hashes, who served it,
// and — for the retention window — the tensors themselves, so sampled leaves can be revealed
// and verifiers can fetch inputs later. Backed by node:sqlite (DatabaseSync): a file that
// survives restarts, no native build. Receipts (node/src/receipts) read `records(jobId)`.
import { DatabaseSync } from "node:sqlite";
import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import { logger } from "@libp2p/logger";
import { TRACE_RETENTION_MS } from "./constants.ts";
import type { WireBag } from "../tensor/index.ts";
import { TraceIndexTakenError } from "./errors.ts";

const log = logger("shardmesh:trace");

export interface TraceRecord {
  jobId: string;
  index: number;
  modelId: string;
  stage: number;
  inputHash: `0x${string}`;
  outputHash: `0x${string}`;
  peerId: string;
  createdAt: number;
  /** What the request is paid for at this stage: 1 per inference; a decoder session's tokens (node/src/llm/trace.ts). */
  units: number;
  /** Written by recordOwned: `peerId` is the owner, and only its receipts may use the record. */
  owned: boolean;
  /**
   * Stage > 0 of a job request: the upstream provider's HandOff signature over `inputHash`, which
   * the request carried (pipeline/handoff.ts); presented if a hand-off claim names this stage.
   */
  handOff?: `0x${string}`;
  /** Who signed `handOff` (checked when it was received): the route must name it at stage − 1. */
  handOffSigner?: `0x${string}`;
}

export interface GatewayRequestRecord {
  jobId: string;
  /** The request's index in its job: dense (0, 1, 2, … in completion order), what /v1/infer answered. */
  index: number;
  /** The index the stage providers traced it under (unique per job; failed requests leave gaps here only). */
  traceIndex: number;
  modelId: string;
  requestHash: `0x${string}`;
  responseHash: `0x${string}`;
  stages: { stage: number; peerId: string; inputHash: string; outputHash: string }[];
  /** What the request is paid for: 1 per inference, tokens for a generation (PROTOCOL, "Paid per token"). */
  units: number;
}

/** A receipt part this provider signed: what it needs to reveal its own sampled leaves itself. */
export interface SignedPartRecord {
  jobId: string;
  stage: number;
  outputRoot: `0x${string}`;
  /** The receipt's buyer leaves as the gateway sent them (receipts/leaves.ts BuyerLeavesWire, JSON). */
  buyer: string;
  /** The peer that asked for the part (records only it may use count for it). */
  requester: string;
  createdAt: number;
}

/** Signed parts kept per (job, stage) while their receipts are pending (the oldest dropped first). */
export const MAX_SIGNED_PARTS_PER_STAGE = 16;

export interface TraceStoreInit {
  /** sqlite file; ":memory:" for a throwaway store. */
  path: string;
  /** How long tensors are kept, ms. */
  retentionMs?: number;
}

export class TraceStore {
  private readonly db: DatabaseSync;
  readonly retentionMs: number;

  constructor(init: TraceStoreInit) {
    if (init.path !== ":memory:") mkdirSync(dirname(init.path), { recursive: true });
    this.db = new DatabaseSync(init.path);
    this.retentionMs = init.retentionMs ?? TRACE_RETENTION_MS;
    this.db.exec(`
      PRAGMA journal_mode = WAL;
      PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS trace (
        job_id TEXT NOT NULL, idx INTEGER NOT NULL, model_id TEXT NOT NULL, stage INTEGER NOT NULL,
        input_hash TEXT NOT NULL, output_hash TEXT NOT NULL, peer_id TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, idx, stage)
      );
      CREATE TABLE IF NOT EXISTS tensors (
        job_id TEXT NOT NULL, idx INTEGER NOT NULL, stage INTEGER NOT NULL, side TEXT NOT NULL,
        name TEXT NOT NULL, dtype INTEGER NOT NULL, dims TEXT NOT NULL, data BLOB NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, idx, stage, side, name)
      );
      CREATE INDEX IF NOT EXISTS tensors_age ON tensors (created_at);
      CREATE TABLE IF NOT EXISTS jobs (job_id TEXT PRIMARY KEY, next_index INTEGER NOT NULL);
      CREATE TABLE IF NOT EXISTS signed_parts (
        job_id TEXT NOT NULL, stage INTEGER NOT NULL, output_root TEXT NOT NULL, buyer TEXT NOT NULL,
        requester TEXT NOT NULL, created_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, stage, output_root)
      );
      CREATE TABLE IF NOT EXISTS requests (
        job_id TEXT NOT NULL, idx INTEGER NOT NULL, model_id TEXT NOT NULL,
        request_hash TEXT NOT NULL, response_hash TEXT NOT NULL, stages TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        PRIMARY KEY (job_id, idx)
      );
    `);
    // Stores from before trace indices were separate: the two were equal.
    const columns = this.db.prepare("PRAGMA table_info(requests)").all() as { name: string }[];
    if (!columns.some((c) => c.name === "trace_idx")) {
      this.db.exec("ALTER TABLE requests ADD COLUMN trace_idx INTEGER; UPDATE requests SET trace_idx = idx;");
    }
    // Stores from before per-token units: every request was one unit.
    if (!columns.some((c) => c.name === "units")) this.db.exec("ALTER TABLE requests ADD COLUMN units INTEGER NOT NULL DEFAULT 1");
    const traceColumns = this.db.prepare("PRAGMA table_info(trace)").all() as { name: string }[];
    if (!traceColumns.some((c) => c.name === "units")) this.db.exec("ALTER TABLE trace ADD COLUMN units INTEGER NOT NULL DEFAULT 1");
    if (!traceColumns.some((c) => c.name === "owned")) this.db.exec("ALTER TABLE trace ADD COLUMN owned INTEGER NOT NULL DEFAULT 0");
    if (!traceColumns.some((c) => c.name === "hand_off")) this.db.exec("ALTER TABLE trace ADD COLUMN hand_off TEXT");
    if (!traceColumns.some((c) => c.name === "hand_off_signer")) this.db.exec("ALTER TABLE trace ADD COLUMN hand_off_signer TEXT");
    // A trace index is the buyer's request nonce (node/src/jobs/admission.ts): answered once per job.
    this.db.exec("CREATE UNIQUE INDEX IF NOT EXISTS requests_nonce ON requests (job_id, trace_idx)");
  }

  /**
   * Record one served request; `input`/`output` tensors are kept for the retention window.
   * A (job, index, stage) row is written once and never replaced: a receipt and a sampled reveal
   * rest on it (issue 10, item 15: any peer could send a REQUEST with a job id and index and
   * overwrite the real row). The same input again (a retried hop) leaves the row as it is and
   * returns false; a different input under a taken index is TraceIndexTakenError.
   */
  record(
    rec: Omit<TraceRecord, "createdAt" | "units" | "owned"> & { units?: number },
    tensors?: { input?: WireBag; output?: WireBag },
  ): boolean {
    return this.write(rec, tensors, false);
  }

  /**
   * Record a request only its owner may write: `rec.peerId` is the peer that asked for the work
   * (a decoder session's opener). A record of (job, index, stage) another peer wrote first is
   * kept, and false returned: a stranger naming the same job and index can neither overwrite
   * the owner's record nor have its own taken for it (receipt parts read only the requesting
   * peer's records, node/src/jobs/parts.ts).
   */
  recordOwned(
    rec: Omit<TraceRecord, "createdAt" | "units" | "owned"> & { units?: number },
    tensors?: { input?: WireBag; output?: WireBag },
  ): boolean {
    return this.write(rec, tensors, true);
  }

  private write(
    rec: Omit<TraceRecord, "createdAt" | "units" | "owned"> & { units?: number },
    tensors: { input?: WireBag; output?: WireBag } | undefined,
    owned: boolean,
  ): boolean {
    const now = Date.now();
    this.db.exec("BEGIN");
    try {
      if (owned) {
        const held = this.db
          .prepare("SELECT peer_id, owned FROM trace WHERE job_id = ? AND idx = ? AND stage = ?")
          .get(rec.jobId, rec.index, rec.stage) as { peer_id: string; owned: number } | undefined;
        if (held && (held.peer_id !== rec.peerId || !held.owned)) {
          this.db.exec("ROLLBACK");
          log("trace of job %s index %d stage %d belongs to %s: %s's not kept", rec.jobId, rec.index, rec.stage, held.peer_id, rec.peerId);
          return false;
        }
        // The owner's new record replaces its old one whole, tensors included.
        this.db.prepare("DELETE FROM tensors WHERE job_id = ? AND idx = ? AND stage = ?").run(rec.jobId, rec.index, rec.stage);
        this.db.prepare("DELETE FROM trace WHERE job_id = ? AND idx = ? AND stage = ?").run(rec.jobId, rec.index, rec.stage);
      }
      const added = this.db
        .prepare(
          "INSERT INTO trace (job_id, idx, model_id, stage, input_hash, output_hash, peer_id, created_at, units, owned, hand_off, hand_off_signer) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id, idx, stage) DO NOTHING",
        )
        .run(
          rec.jobId,
          rec.index,
          rec.modelId,
          rec.stage,
          rec.inputHash,
          rec.outputHash,
          rec.peerId,
          now,
          rec.units ?? 1,
          owned ? 1 : 0,
          rec.handOff ?? null,
          rec.handOffSigner ?? null,
        ).changes;
      if (Number(added) === 0) {
        // Taken (only a plain record gets here: an owned one cleared its own row above).
        this.db.exec("ROLLBACK");
        this.checkFree(rec);
        return false;
      }
      const put = this.db.prepare(
        "INSERT INTO tensors (job_id, idx, stage, side, name, dtype, dims, data, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      );
      for (const side of ["input", "output"] as const) {
        const bag = tensors?.[side];
        if (!bag) continue;
        for (const [name, t] of Object.entries(bag)) {
          put.run(rec.jobId, rec.index, rec.stage, side, name, t.dtype, JSON.stringify(t.dims), t.data, now);
        }
      }
      this.db.exec("COMMIT");
      return true;
    } catch (err) {
      if (this.db.isTransaction) this.db.exec("ROLLBACK");
      throw err;
    }
  }

  /**
   * TraceIndexTakenError if (job, index, stage) is already traced for another input: what the
   * pipeline server checks before it runs a request (and `record` again, atomically, after).
   */
  checkFree(rec: Pick<TraceRecord, "jobId" | "index" | "stage" | "inputHash">): void {
    const have = this.get(rec.jobId, rec.index, rec.stage);
    if (have && have.inputHash !== rec.inputHash) {
      throw new TraceIndexTakenError(`job ${rec.jobId} request ${rec.index} stage ${rec.stage} is already traced for another input`);
    }
  }

  /** All records of a job, by index then stage. */
  records(jobId: string): TraceRecord[] {
    const rows = this.db.prepare("SELECT * FROM trace WHERE job_id = ? ORDER BY idx, stage").all(jobId) as Record<
      string,
      string | number
    >[];
    return rows.map(fromRow);
  }

  get(jobId: string, index: number, stage: number): TraceRecord | undefined {
    const row = this.db.prepare("SELECT * FROM trace WHERE job_id = ? AND idx = ? AND stage = ?").get(jobId, index, stage) as
      | Record<string, string | number>
      | undefined;
    return row ? fromRow(row) : undefined;
  }

  /** The kept tensors of one request and stage (empty once past retention). */
  tensors(jobId: string, index: number, stage: number, side: "input" | "output"): WireBag {
    const rows = this.db
      .prepare("SELECT name, dtype, dims, data FROM tensors WHERE job_id = ? AND idx = ? AND stage = ? AND side = ?")
      .all(jobId, index, stage, side) as { name: string; dtype: number; dims: string; data: Uint8Array }[];
    const bag: WireBag = {};
    for (const r of rows) bag[r.name] = { dtype: r.dtype, dims: JSON.parse(r.dims) as number[], data: new Uint8Array(r.data) };
    return bag;
  }

  count(jobId?: string): number {
    const row = (
      jobId
        ? this.db.prepare("SELECT COUNT(*) AS n FROM trace WHERE job_id = ?").get(jobId)
        : this.db.prepare("SELECT COUNT(*) AS n FROM trace").get()
    ) as { n: number };
    return Number(row.n);
  }

  /** Kept tensors (rows: one per tensor of a side of a request and stage), of one job or all. */
  tensorCount(jobId?: string): number {
    const row = (
      jobId
        ? this.db.prepare("SELECT COUNT(*) AS n FROM tensors WHERE job_id = ?").get(jobId)
        : this.db.prepare("SELECT COUNT(*) AS n FROM tensors").get()
    ) as { n: number };
    return Number(row.n);
  }

  /** Jobs that still hold tensors recorded before `cutoff` (ms since the epoch). */
  jobsWithTensorsOlderThan(cutoff: number): string[] {
    const rows = this.db.prepare("SELECT DISTINCT job_id FROM tensors WHERE created_at < ?").all(cutoff) as { job_id: string }[];
    return rows.map((r) => String(r.job_id));
  }

  /** How many of a job's tensors were recorded before `cutoff`. */
  tensorsOlderThan(jobId: string, cutoff: number): number {
    const row = this.db.prepare("SELECT COUNT(*) AS n FROM tensors WHERE job_id = ? AND created_at < ?").get(jobId, cutoff) as {
      n: number;
    };
    return Number(row.n);
  }

  /**
   * Drop one job's tensors recorded before `cutoff`; returns how many were dropped. The trace
   * rows (hashes) stay: receipts, parts and the ledger's status read them (node/src/jobs).
   */
  dropTensors(jobId: string, cutoff: number): number {
    const res = this.db.prepare("DELETE FROM tensors WHERE job_id = ? AND created_at < ?").run(jobId, cutoff);
    return Number(res.changes);
  }

  /**
   * Drop every tensor older than the retention window, whatever its job; returns how many were
   * dropped. Only right without receipts (no chain): a provider with receipts uses TraceJanitor
   * (node/src/trace/janitor.ts), which keeps the tensors of jobs a receipt may still need.
   */
  prune(now = Date.now()): number {
    const res = this.db.prepare("DELETE FROM tensors WHERE created_at < ?").run(now - this.retentionMs);
    if (res.changes) log("pruned %d tensors", res.changes);
    return Number(res.changes);
  }

  /**
   * Keeps a part this provider signed until its receipt's samples are revealed (jobs/reveals.ts):
   * at most MAX_SIGNED_PARTS_PER_STAGE per (job, stage), the oldest dropped (a gateway may ask for
   * parts of receipts it never submits).
   */
  keepSignedPart(p: Omit<SignedPartRecord, "createdAt">): void {
    this.db
      .prepare(
        "INSERT INTO signed_parts (job_id, stage, output_root, buyer, requester, created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
      )
      .run(p.jobId, p.stage, p.outputRoot, p.buyer, p.requester, Date.now());
    this.db
      .prepare(
        "DELETE FROM signed_parts WHERE job_id = ? AND stage = ? AND output_root NOT IN (SELECT output_root FROM signed_parts WHERE job_id = ? AND stage = ? ORDER BY created_at DESC, rowid DESC LIMIT ?)",
      )
      .run(p.jobId, p.stage, p.jobId, p.stage, MAX_SIGNED_PARTS_PER_STAGE);
  }

  /** Signed parts whose receipts may still need this provider's reveals. */
  signedParts(): SignedPartRecord[] {
    const rows = this.db.prepare("SELECT * FROM signed_parts ORDER BY created_at").all() as Record<string, string | number>[];
    return rows.map((r) => ({
      jobId: String(r.job_id),
      stage: Number(r.stage),
      outputRoot: String(r.output_root) as `0x${string}`,
      buyer: String(r.buyer),
      requester: String(r.requester),
      createdAt: Number(r.created_at),
    }));
  }

  /** Forgets a signed part (its receipt's samples are settled, or it never reached the chain). */
  dropSignedPart(jobId: string, stage: number, outputRoot: string): void {
    this.db.prepare("DELETE FROM signed_parts WHERE job_id = ? AND stage = ? AND output_root = ?").run(jobId, stage, outputRoot);
  }

  /** The gateway's next trace index in a job (0-based, admission order, survives restarts; never reused). */
  nextTraceIndex(jobId: string): number {
    const row = this.db
      .prepare(
        "INSERT INTO jobs (job_id, next_index) VALUES (?, 1) ON CONFLICT(job_id) DO UPDATE SET next_index = next_index + 1 RETURNING next_index",
      )
      .get(jobId) as { next_index: number };
    return Number(row.next_index) - 1;
  }

  /** Whether the gateway answered a request of the job traced under `traceIndex` (the buyer's nonce). */
  traceIndexAnswered(jobId: string, traceIndex: number): boolean {
    return this.db.prepare("SELECT 1 FROM requests WHERE job_id = ? AND trace_idx = ?").get(jobId, traceIndex) !== undefined;
  }

  /** How many requests of a job the gateway answered. */
  requestCount(jobId: string): number {
    const row = this.db.prepare("SELECT COUNT(*) AS n FROM requests WHERE job_id = ?").get(jobId) as { n: number };
    return Number(row.n);
  }

  /** Units of a job's answered requests (1 per inference, tokens per generation). */
  unitsUsed(jobId: string): number {
    const row = this.db.prepare("SELECT COALESCE(SUM(units), 0) AS n FROM requests WHERE job_id = ?").get(jobId) as { n: number };
    return Number(row.n);
  }

  /**
   * Gateway-side record of a request it answered (the buyer's request/response hashes), numbered
   * densely: its index is the job's count of answered requests, in one synchronous step.
   */
  recordRequest(r: Omit<GatewayRequestRecord, "index">): number {
    const index = this.requestCount(r.jobId);
    this.db
      .prepare(
        "INSERT INTO requests (job_id, idx, trace_idx, model_id, request_hash, response_hash, stages, created_at, units) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      )
      .run(r.jobId, index, r.traceIndex, r.modelId, r.requestHash, r.responseHash, JSON.stringify(r.stages), Date.now(), r.units);
    return index;
  }

  requests(jobId: string): GatewayRequestRecord[] {
    const rows = this.db.prepare("SELECT * FROM requests WHERE job_id = ? ORDER BY idx").all(jobId) as Record<string, string | number>[];
    return rows.map((r) => ({
      jobId: String(r.job_id),
      index: Number(r.idx),
      traceIndex: Number(r.trace_idx),
      modelId: String(r.model_id),
      requestHash: String(r.request_hash) as `0x${string}`,
      responseHash: String(r.response_hash) as `0x${string}`,
      stages: JSON.parse(String(r.stages)) as GatewayRequestRecord["stages"],
      units: Number(r.units),
    }));
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }
}

function fromRow(r: Record<string, string | number>): TraceRecord {
  return {
    jobId: String(r.job_id),
    index: Number(r.idx),
    modelId: String(r.model_id),
    stage: Number(r.stage),
    inputHash: String(r.input_hash) as `0x${string}`,
    outputHash: String(r.output_hash) as `0x${string}`,
    peerId: String(r.peer_id),
    createdAt: Number(r.created_at),
    units: Number(r.units ?? 1),
    owned: Number(r.owned ?? 0) === 1,
    ...(r.hand_off ? { handOff: String(r.hand_off) as `0x${string}` } : {}),
    ...(r.hand_off_signer ? { handOffSigner: String(r.hand_off_signer) as `0x${string}` } : {}),
  };
}
