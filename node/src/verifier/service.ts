// The verifier service (docs/PROTOCOL.md, "Verifiers" and "Disputes"; node side). A staker that
// runs it registers as a verifier and, reading the SpotCheck, Disputes and JobMarket events:
// - fixes the seeds of new receipts nobody fixed in time (honest watchers do: a seed left alone
//   for 256 blocks gives the submitter a re-roll);
// - for every sample it is drawn for, fetches and re-executes every stage once all are revealed,
//   challenges a wrong one and attests the sample (locking its attestation deposit: its share of
//   the verifier fee depends on it, and it is lost if someone else later proves the sample
//   fraudulent). One open dispute per accused provider per job: one upheld verdict slashes all
//   of the accused's collateral in the job, so every other wrong leaf of it waits for that
//   verdict — covered if upheld, challenged then if not (window permitting) — when the dispute is
//   its own or over a leaf its own check also finds wrong (never for a dispute it finds baseless:
//   a cheater's sybil could open one to hold honest challenges back); a challenge the balance
//   cannot bond waits the same way for returned bonds and credits;
// - optionally spot-checks a share of others' revealed leaves;
// - sits on committees it is drawn for (./votes.ts: commit, reveal, claim) and drives the
//   disputes (draw the committee, close rounds, appeal an adverse verdict, make verdicts final)
//   in turns — the party with the most at stake first, then the other parties, then verifiers
//   that are no party — so a dispute never stalls and verifiers do not race each other's
//   transactions;
// - withdraws its credits (fees, rewards, returned bonds) by default.
import { logger } from "@libp2p/logger";
import { peerIdFromMultihash } from "@libp2p/peer-id";
import * as Digest from "multiformats/hashes/digest";
import { encodeAbiParameters, fromHex, isAddressEqual, keccak256, parseEventLogs } from "viem";
import type { Address, Hex, PublicClient, TransactionReceipt } from "viem";
import type { MeshNode } from "../mesh/node.ts";
import { shardMeshContracts } from "../chain/contracts.ts";
import type { ShardMeshContracts, ShardWallet } from "../chain/contracts.ts";
import { LogCursor } from "../chain/cursor.ts";
import type { CursorReset, SavedCursor } from "../chain/cursor.ts";
import type { Deployment } from "../chain/deployments.ts";
import { waitTx } from "../chain/provider.ts";
import { disputesAbi, jobMarketAbi, spotCheckAbi } from "../generated/abis.ts";
import { DEFAULT_SPOT_CHECK_PPM, SEED_GRACE_BLOCKS, VERIFIER_LOG_RANGE, VERIFIER_POLL_MS } from "./constants.ts";
import { VerifierInsufficientBondError, VerifierStakeTooLowError, VerifierUnboundProviderError } from "./errors.ts";
import { checkRevealedStage } from "./check.ts";
import type { CheckOptions, RevealedStage, StageCheck } from "./check.ts";
import type { ModelCatalog } from "./models.ts";
import { readState, writeState } from "./state.ts";
import type { LeafTask, SampleTask, SeedTask, VerifierState, VoteState } from "./state.ts";
import { driveDispute, handleVote } from "./votes.ts";

const log = logger("shardmesh:verifier");

const eventsAbi = [...spotCheckAbi, ...disputesAbi, ...jobMarketAbi];

export interface VerifierInit {
  node: MeshNode;
  publicClient: PublicClient;
  /** The staked verifier's wallet (attestations, challenges, votes, withdrawals). */
  wallet: ShardWallet;
  deployment: Deployment;
  models: ModelCatalog;
  /** Also check this share (parts per million) of leaves of samples drawn to others. */
  spotCheckPpm?: number;
  pollMs?: number;
  /** First block to read events from, ignoring a saved position (default: where the state file
   *  says reading stopped, else the SpotCheck's deployment block). */
  fromBlock?: bigint;
  /** Vote salts, tasks and where event reading stopped survive restarts in this JSON file (a lost
   *  salt cannot reveal its vote). */
  stateFile?: string;
  /** Peer id of a provider address (default: its binding on chain, ProviderStaking.peerIdOf). */
  resolvePeer?: (provider: Address) => Promise<string>;
  check?: CheckOptions;
  /**
   * Runs each transaction (send + wait) in the caller's queue: a provider process shares its
   * staking wallet with the job watcher (ReceiptLedger.serial), so nonces never collide.
   */
  serial?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Withdraw credits (fees, rewards, returned bonds) at the end of every pass (default true). */
  autoWithdraw?: boolean;
  /**
   * Register this staker as a verifier on its first pass (default true): only registered
   * verifiers are drawn to check samples and sit on committees (ProviderStaking.registerVerifier).
   */
  register?: boolean;
  /** Appeal a verdict that goes against this verifier's own check, when it can post the bond (default true). */
  appeal?: boolean;
  onEvent?: (e: VerifierEvent) => void;
}

export type VerifierEvent =
  | {
      event: "checked";
      jobId: string;
      receiptId: string;
      sampleNo: number;
      stage: number;
      provider: Address;
      reason: "assigned" | "spot" | "committee";
      check: StageCheck;
    }
  | {
      event: "challenged";
      disputeId: string;
      jobId: string;
      receiptId: string;
      sampleNo: number;
      stage: number;
      accused: Address;
      txHash: Hex;
    }
  | { event: "attested"; jobId: string; receiptId: string; sampleNo: number; txHash: Hex }
  | { event: "seed-fixed"; jobId: string; receiptId: string; txHash: Hex }
  | { event: "committee-drawn"; disputeId: string; round: number; txHash: Hex }
  | { event: "vote-committed"; disputeId: string; round: number; fraud: boolean; txHash: Hex }
  | { event: "vote-revealed"; disputeId: string; round: number; fraud: boolean; txHash: Hex }
  | { event: "round-closed"; disputeId: string; round: number; txHash: Hex }
  | { event: "appealed"; disputeId: string; round: number; txHash: Hex }
  | { event: "resolved"; disputeId: string; txHash: Hex }
  | { event: "reward-claimed"; disputeId: string; amount: string; txHash: Hex }
  | { event: "withdrawn"; amount: string; txHash: Hex }
  | { event: "registered"; weight: string; txHash: Hex }
  | { event: "error"; what: string; name: string; message: string };

/** Passes a task whose handling failed (RPC error, bond missing) is retried on. */
const TASK_RETRIES = 5;

export class VerifierService {
  readonly address: Address;
  readonly init: VerifierInit;
  readonly c: ShardMeshContracts;
  /** Where event reading stopped (node/src/chain/cursor.ts; tests read its counters). */
  readonly cursor: LogCursor;
  private seeds: SeedTask[] = [];
  private samples: SampleTask[] = [];
  private leaves: LeafTask[] = [];
  readonly votes = new Map<string, VoteState>();
  readonly watched = new Set<string>();
  /** Open disputes per "jobId/accused" (any challenger): one is enough to convict. */
  private readonly openAccused = new Map<string, Set<string>>();
  /** Whether this verifier's own check found another's disputed leaf wrong, by dispute id. */
  private readonly disputeBelief = new Map<string, boolean>();
  private readonly models = new Map<string, string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private ticking: Promise<void> | undefined;
  private readonly ctrl = new AbortController();
  private registered = false;
  /** Outcomes of every check made, newest last. */
  readonly checks: Array<{
    task: { jobId: string; receiptId: string; sampleNo: number; stage: number; provider: Address };
    reason: "assigned" | "spot" | "committee";
    check: StageCheck;
  }> = [];

  constructor(init: VerifierInit) {
    this.init = init;
    this.address = init.wallet.account.address;
    this.c = shardMeshContracts(init.deployment, { public: init.publicClient, wallet: init.wallet });
    const saved = init.stateFile ? readState(init.stateFile) : undefined;
    const spotCheck = init.deployment.contracts.SpotCheck;
    this.cursor = new LogCursor({
      publicClient: init.publicClient,
      chainId: init.deployment.chainId,
      contract: spotCheck.address,
      deployBlock: init.fromBlock ?? BigInt(spotCheck.blockNumber),
      rangeBlocks: VERIFIER_LOG_RANGE,
      // No re-read margin: these events start work that is not idempotent (a spot check re-executes
      // a stage); a reorg is still caught by the cursor's hash check.
      reorgMarginBlocks: 0n,
      saved: init.fromBlock === undefined ? this.savedCursor(saved) : undefined,
      onReset: (reason) => this.forgetChain(reason),
    });
    this.load(saved);
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    const loop = async (): Promise<void> => {
      if (!this.running) return;
      await this.tick().catch((err: Error) => this.fail("tick", err));
      if (this.running) this.timer = setTimeout(() => void loop(), this.init.pollMs ?? VERIFIER_POLL_MS);
    };
    this.timer = setTimeout(() => void loop(), 0);
  }

  async stop(): Promise<void> {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.ctrl.abort(new Error("verifier stopped"));
    await this.ticking?.catch(() => {});
  }

  /** One pass: events, seeds, drawn samples, spot checks, votes, disputes, withdrawal. */
  tick(): Promise<void> {
    // Never two passes at once (a timer pass and a test's explicit pass share the wallet nonce).
    const run = (this.ticking ?? Promise.resolve()).then(() => this.pass());
    this.ticking = run.catch(() => {});
    return run;
  }

  private async pass(): Promise<void> {
    if (!this.registered && (this.init.register ?? true)) await this.register().catch((err: Error) => this.fail("register", err));
    await this.readEvents();
    const block = await this.init.publicClient.getBlockNumber();
    this.seeds = await this.each(this.seeds, "seed", (t) => this.handleSeed(t, block));
    this.samples = await this.each(this.samples, "sample", (t) => this.handleSample(t));
    this.leaves = await this.each(this.leaves, "leaf", (t) => this.handleLeaf(t));
    this.save();
    const now = await this.chainNow();
    for (const v of [...this.votes.values()]) {
      await handleVote(this, v, now).catch((err: Error) => this.fail(`vote on dispute ${v.disputeId}`, err));
    }
    for (const id of [...this.watched]) {
      await driveDispute(this, BigInt(id), now, block).catch((err: Error) => this.fail(`dispute ${id}`, err));
    }
    this.save();
    if (this.init.autoWithdraw ?? true) await this.withdraw().catch((err: Error) => this.fail("withdraw", err));
  }

  /** Runs `handle` on each task; keeps those it returns false for, and failed ones up to TASK_RETRIES. */
  private async each<T extends { failures?: number }>(tasks: T[], what: string, handle: (t: T) => Promise<boolean>): Promise<T[]> {
    const keep: T[] = [];
    for (const t of tasks) {
      if (this.ctrl.signal.aborted) {
        keep.push(t);
        continue;
      }
      try {
        if (!(await handle(t))) keep.push(t);
      } catch (err) {
        this.fail(
          `${what} ${JSON.stringify(t, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)).slice(0, 120)}`,
          err as Error,
        );
        t.failures = (t.failures ?? 0) + 1;
        if (t.failures < TASK_RETRIES) keep.push(t);
      }
    }
    return keep;
  }

  /**
   * Registers this staker as a verifier if it is not yet (a stake below the minimum is reported
   * as VerifierStakeTooLowError and retried next pass, in case stake arrives).
   */
  async register(): Promise<void> {
    if (await this.c.staking.read.isVerifier([this.address])) {
      this.registered = true;
      return;
    }
    const staked = (await this.c.staking.read.stakeOf([this.address])).staked;
    const min = await this.c.staking.read.minVerifierStake();
    if (staked < min) throw new VerifierStakeTooLowError(`staked ${staked} is below the minimum verifier stake ${min}`);
    const hash = await this.tx("registerVerifier", () => this.c.staking.write.registerVerifier(this.opts()));
    this.registered = true;
    this.emit({ event: "registered", weight: staked.toString(), txHash: hash });
  }

  /** Leaves the verifier draw (a verifier that stops running should): best effort, no throw. */
  async deregister(): Promise<void> {
    try {
      if (!(await this.c.staking.read.isVerifier([this.address]))) return;
      await this.tx("deregisterVerifier", () => this.c.staking.write.deregisterVerifier(this.opts()));
      this.registered = false;
    } catch (err) {
      this.fail("deregister", err as Error);
    }
  }

  /** Withdraws this verifier's credits (fees, rewards, bonds); returns the amount. */
  async withdraw(): Promise<bigint> {
    const amount = await this.c.market.read.credits([this.address]);
    if (amount === 0n) return 0n;
    const hash = await this.tx("withdraw", () => this.c.market.write.withdraw(this.opts()));
    this.emit({ event: "withdrawn", amount: amount.toString(), txHash: hash });
    return amount;
  }

  // ─── Events ──────────────────────────────────────────────────────────────────────────

  private async readEvents(): Promise<void> {
    const { contracts } = this.init.deployment;
    const address = [contracts.SpotCheck.address, contracts.Disputes.address, contracts.JobMarket.address];
    await this.cursor.pass(async (fromBlock, toBlock) => {
      const raw = await this.init.publicClient.getLogs({ address, fromBlock, toBlock });
      for (const l of parseEventLogs({ abi: eventsAbi, logs: raw })) this.onEvent(l as unknown as ChainEvent);
    });
    this.save();
  }

  /**
   * The chain has none of the blocks this verifier read (a fresh dev chain, or a reorg deeper than
   * the cursor's remembered heads): what it derived from them — tasks, votes, disputes — names
   * jobs and disputes of a chain that is gone (and dispute ids start again at 1 on a new chain, so
   * an old vote would stop this verifier from voting on the new dispute of that id).
   */
  private forgetChain(reason: CursorReset): void {
    log.error("event position dropped (%s): forgetting the tasks, votes and disputes read from it", reason);
    this.seeds = [];
    this.samples = [];
    this.leaves = [];
    this.votes.clear();
    this.watched.clear();
    this.openAccused.clear();
    this.disputeBelief.clear();
    this.models.clear();
    this.registered = false;
  }

  private onEvent(l: ChainEvent): void {
    const a = l.args;
    const me = (x: unknown) => typeof x === "string" && isAddressEqual(x as Address, this.address);
    switch (l.eventName) {
      case "ReceiptSubmitted":
        if (
          l.address.toLowerCase() === this.init.deployment.contracts.JobMarket.address.toLowerCase() &&
          !this.seeds.some((s) => s.jobId === a.jobId && s.receiptId === a.receiptId)
        )
          this.seeds.push({ jobId: a.jobId as bigint, receiptId: a.receiptId as bigint, readyAt: l.blockNumber + 2n });
        break;
      case "SeedReanchored":
        for (const s of this.seeds) {
          if (s.jobId === a.jobId && s.receiptId === a.receiptId) s.readyAt = (a.anchorBlock as bigint) + 2n;
        }
        break;
      case "SamplesDrawn":
        (a.verifiers as Address[]).forEach((v, sampleNo) => {
          const same = (t: SampleTask) => t.jobId === a.jobId && t.receiptId === a.receiptId && t.sampleNo === sampleNo;
          if (me(v) && !this.samples.some(same))
            this.samples.push({ jobId: a.jobId as bigint, receiptId: a.receiptId as bigint, sampleNo });
        });
        break;
      case "StageLeafRevealed": {
        const t: LeafTask = {
          jobId: a.jobId as bigint,
          receiptId: a.receiptId as bigint,
          sampleNo: Number(a.sampleNo),
          stage: Number(a.stage),
          provider: a.provider as Address,
          inputHash: a.inputHash as Hex,
          outputHash: a.outputHash as Hex,
        };
        const same = (l: LeafTask) =>
          l.jobId === t.jobId && l.receiptId === t.receiptId && l.sampleNo === t.sampleNo && l.stage === t.stage;
        if (this.spotPicked(t) && !this.leaves.some(same)) this.leaves.push(t);
        break;
      }
      case "DisputeOpened": {
        const key = `${a.jobId}/${(a.accused as string).toLowerCase()}`;
        if (!this.openAccused.has(key)) this.openAccused.set(key, new Set());
        this.openAccused.get(key)!.add(String(a.disputeId));
        // Every dispute is watched: a party drives it first, any other verifier only after every
        // party's turn (a challenger gone before the committee draw would stall it for good).
        this.watched.add(String(a.disputeId));
        break;
      }
      case "DisputeAppealed":
        if (me(a.appellant)) this.watched.add(String(a.disputeId));
        break;
      case "CommitteeDrawn": {
        const id = String(a.disputeId);
        const round = Number(a.round);
        if ((a.jurors as Address[]).some(me) && !this.votes.has(`${id}/${round}`)) {
          this.votes.set(`${id}/${round}`, { disputeId: id, round, committed: false, revealed: false });
          this.watched.add(id);
        }
        break;
      }
      case "DisputeResolved":
        for (const set of this.openAccused.values()) set.delete(String(a.disputeId));
        break;
    }
  }

  // ─── Seeds ───────────────────────────────────────────────────────────────────────────

  /** Fixes a receipt's seed if nobody did by SEED_GRACE_BLOCKS after it was due (the submitter
   *  goes first); true when there is nothing left to do for it. */
  private async handleSeed(t: SeedTask, block: bigint): Promise<boolean> {
    if (block < t.readyAt + SEED_GRACE_BLOCKS) return false;
    const check = await this.c.spotCheck.read.receiptCheck([t.jobId, t.receiptId]);
    if (check.seededAt !== 0) return true;
    let reanchored = false;
    let drawn = false;
    const hash = await this.tx(
      `drawSamples(job ${t.jobId}, receipt ${t.receiptId})`,
      () => this.c.spotCheck.write.drawSamples([t.jobId, t.receiptId], this.opts()),
      (r) => {
        reanchored = parseEventLogs({ abi: spotCheckAbi, eventName: "SeedReanchored", logs: r.logs }).length > 0;
        drawn = parseEventLogs({ abi: spotCheckAbi, eventName: "SamplesDrawn", logs: r.logs }).length > 0;
      },
    );
    if (reanchored) return false; // the SeedReanchored event moves readyAt
    // No SamplesDrawn: someone else fixed the seed just before (drawSamples then does nothing).
    if (drawn) this.emit({ event: "seed-fixed", jobId: t.jobId.toString(), receiptId: t.receiptId.toString(), txHash: hash });
    return true;
  }

  // ─── Samples this verifier was drawn for ─────────────────────────────────────────────

  /** Checks every stage of a drawn sample once all are revealed, challenges the wrong ones,
   *  attests; true when done (attested, or nothing more can be done). */
  private async handleSample(t: SampleTask): Promise<boolean> {
    if (await this.c.market.read.isJobProvider([t.jobId, this.address])) return true; // never verify a job we serve
    const s = await this.c.spotCheck.read.sample([t.jobId, t.receiptId, BigInt(t.sampleNo)]);
    if (!isAddressEqual(s.verifier, this.address) || s.attested) return true;
    const [, challengeEnds] = await this.c.spotCheck.read.deadlines([t.jobId, t.receiptId]);
    if ((await this.chainNow()) >= challengeEnds) {
      log("sample %d of job %s receipt %s: attest window closed", t.sampleNo, t.jobId, t.receiptId);
      return true;
    }
    const stageCount = (await this.c.market.read.job([t.jobId])).stageCount;
    if (!s.buyerRevealed || s.stageMask !== (1 << stageCount) - 1) return s.resolved; // wait for reveals (or give up: never fully revealed)
    t.checks ??= {};
    for (let stage = 0; stage < stageCount; stage++) {
      const rev = await this.c.spotCheck.read.stageReveal([t.jobId, t.receiptId, BigInt(t.sampleNo), BigInt(stage)]);
      const leaf: LeafTask = { jobId: t.jobId, receiptId: t.receiptId, sampleNo: t.sampleNo, stage, ...rev };
      if (!t.checks[stage]) {
        t.checks[stage] = await this.checkLeaf(leaf);
        this.record(leaf, t.checks[stage], "assigned");
      }
      // A wrong leaf whose challenge must wait (an open dispute against the same accused, or no
      // bond yet) stays a task of its own: the sample is attested now (it was checked; an
      // attester that challenges its own sample keeps its deposit), the challenge follows.
      const same = (l: LeafTask) => l.jobId === t.jobId && l.receiptId === t.receiptId && l.sampleNo === t.sampleNo && l.stage === stage;
      if (t.checks[stage].fraud && (await this.challengeIfNeeded(leaf)) === "deferred" && !this.leaves.some(same))
        this.leaves.push({ ...leaf, check: t.checks[stage], deferred: true });
    }
    const hash = await this.tx(`attest(job ${t.jobId}, receipt ${t.receiptId}, sample ${t.sampleNo})`, () =>
      this.c.spotCheck.write.attest([t.jobId, t.receiptId, BigInt(t.sampleNo)], this.opts()),
    );
    this.emit({ event: "attested", jobId: t.jobId.toString(), receiptId: t.receiptId.toString(), sampleNo: t.sampleNo, txHash: hash });
    return true;
  }

  // ─── Spot checks of others' samples ──────────────────────────────────────────────────

  private spotPicked(t: LeafTask): boolean {
    const ppm = this.init.spotCheckPpm ?? DEFAULT_SPOT_CHECK_PPM;
    if (ppm <= 0) return false;
    const h = keccak256(
      encodeAbiParameters(
        [{ type: "address" }, { type: "uint256" }, { type: "uint256" }, { type: "uint256" }, { type: "uint256" }],
        [this.address, t.jobId, t.receiptId, BigInt(t.sampleNo), BigInt(t.stage)],
      ),
    );
    return fromHex(h, "bigint") % 1_000_000n < BigInt(ppm);
  }

  private async handleLeaf(t: LeafTask): Promise<boolean> {
    if (await this.c.market.read.isJobProvider([t.jobId, this.address])) return true;
    if (!t.deferred) {
      const s = await this.c.spotCheck.read.sample([t.jobId, t.receiptId, BigInt(t.sampleNo)]);
      if (isAddressEqual(s.verifier, this.address)) return true; // handled as a drawn sample
    }
    const [, challengeEnds] = await this.c.spotCheck.read.deadlines([t.jobId, t.receiptId]);
    if ((await this.chainNow()) >= challengeEnds) return true;
    if (!t.check) {
      t.check = await this.checkLeaf(t);
      this.record(t, t.check, t.deferred ? "assigned" : "spot");
    }
    if (!t.check.fraud) return true;
    const outcome = await this.challengeIfNeeded(t);
    if (outcome !== "deferred") return true;
    t.deferred = true;
    return false;
  }

  // ─── Challenges ──────────────────────────────────────────────────────────────────────

  /**
   * Challenges a wrong leaf. "covered": nothing to do (the leaf is already disputed, or its
   * provider already faulted in this job — one conviction slashes all its collateral there);
   * "deferred": not now — a dispute against the same provider in this job is open (its verdict
   * decides: upheld covers this leaf, otherwise it is challenged then), or the balance cannot
   * bond it yet (returned bonds and credits top it up); "closed": the challenge window is over.
   */
  private async challengeIfNeeded(t: LeafTask): Promise<"challenged" | "covered" | "deferred" | "closed"> {
    const { jobId, receiptId, sampleNo, stage } = t;
    const key = `${jobId}/${t.provider.toLowerCase()}`;
    if ((await this.c.disputes.read.disputeOf([jobId, receiptId, BigInt(sampleNo), BigInt(stage)])) !== 0n) return "covered";
    if (await this.c.market.read.isFaulted([jobId, t.provider])) return "covered";
    if (await this.heldBack(key)) return "deferred";
    const [, challengeEnds] = await this.c.spotCheck.read.deadlines([jobId, receiptId]);
    if ((await this.chainNow()) >= challengeEnds) {
      log("leaf of job %s receipt %s is wrong but the challenge window closed", jobId, receiptId);
      return "closed";
    }
    // Another verifier may have challenged the same provider since this pass read the events.
    await this.readEvents();
    if (await this.heldBack(key)) return "deferred";
    const bond = await this.challengeBond(jobId, t.provider);
    try {
      await this.ensureBond(bond);
    } catch (err) {
      if (!(err instanceof VerifierInsufficientBondError)) throw err;
      // Reported once per leaf; the leaf waits for a bond to come back (window permitting).
      if (!t.bondShort) this.fail(`challenge(job ${jobId}, receipt ${receiptId}, sample ${sampleNo}, stage ${stage})`, err);
      t.bondShort = true;
      return "deferred";
    }
    let receipt!: TransactionReceipt;
    const hash = await this.tx(
      `challenge(job ${jobId}, receipt ${receiptId}, sample ${sampleNo}, stage ${stage})`,
      () => this.c.disputes.write.challenge([jobId, receiptId, BigInt(sampleNo), BigInt(stage)], this.opts()),
      (r) => (receipt = r),
    );
    const [opened] = parseEventLogs({ abi: disputesAbi, eventName: "DisputeOpened", logs: receipt.logs });
    const disputeId = opened.args.disputeId;
    this.watched.add(disputeId.toString());
    if (!this.openAccused.has(key)) this.openAccused.set(key, new Set());
    this.openAccused.get(key)!.add(disputeId.toString());
    this.save();
    log("challenged stage %d of job %s receipt %s (dispute %s)", stage, jobId, receiptId, disputeId);
    this.emit({
      event: "challenged",
      disputeId: disputeId.toString(),
      jobId: jobId.toString(),
      receiptId: receiptId.toString(),
      sampleNo,
      stage,
      accused: t.provider,
      txHash: hash,
    });
    return "challenged";
  }

  /**
   * Whether an open dispute against this provider in this job ("jobId/accused") should carry this
   * verifier's other challenges of it: one it opened, or another's over a leaf its own check also
   * finds wrong. A dispute over a leaf it finds right (or cannot decide) holds nothing back — a
   * cheater's sybil challenging one of the cheater's honest leaves would otherwise keep every
   * honest verifier waiting until the real frauds' challenge windows closed.
   */
  private async heldBack(key: string): Promise<boolean> {
    for (const id of this.openAccused.get(key) ?? []) {
      let wrong = this.disputeBelief.get(id);
      if (wrong === undefined) {
        const d = await this.c.disputes.read.dispute([BigInt(id)]);
        if (isAddressEqual(d.challenger, this.address)) wrong = true;
        else {
          const t = { jobId: d.jobId, receiptId: BigInt(d.receiptId), sampleNo: d.sampleNo, stage: d.stage };
          const rev = await this.c.spotCheck.read.stageReveal([t.jobId, t.receiptId, BigInt(t.sampleNo), BigInt(t.stage)]);
          const check = await this.checkLeaf({ ...t, ...rev });
          this.record({ ...t, provider: rev.provider }, check, "spot");
          wrong = check.fraud === true;
        }
        this.disputeBelief.set(id, wrong);
      }
      if (wrong) return true;
    }
    return false;
  }

  /** The first bond of a challenge against `accused` in `jobId`: max(challengeBond, bps × its collateral). */
  async challengeBond(jobId: bigint, accused: Address): Promise<bigint> {
    const job = await this.c.market.read.job([jobId]);
    const p = await this.c.params.read.paramsAt([BigInt(job.paramsVersion)]);
    const share = ((await this.c.market.read.collateralOf([jobId, accused])) * BigInt(p.challengeBondBps)) / 10_000n;
    return share > p.challengeBond ? share : p.challengeBond;
  }

  /** Makes sure `bond` tokens can be taken: withdraws returned bonds and credits first, then
   *  approves the market; VerifierInsufficientBondError when the balance still falls short. */
  async ensureBond(bond: bigint): Promise<void> {
    let balance = await this.c.token.read.balanceOf([this.address]);
    if (balance < bond && (await this.c.market.read.credits([this.address])) > 0n) {
      await this.withdraw();
      balance = await this.c.token.read.balanceOf([this.address]);
    }
    if (balance < bond)
      throw new VerifierInsufficientBondError(`token balance ${balance} of ${this.address} cannot cover the challenge bond ${bond}`);
    const allowance = await this.c.token.read.allowance([this.address, this.c.market.address]);
    if (allowance < bond) await this.tx("approve bond", () => this.c.token.write.approve([this.c.market.address, bond], this.opts()));
  }

  // ─── Checks ──────────────────────────────────────────────────────────────────────────

  private async modelOf(jobId: bigint): Promise<string> {
    let m = this.models.get(jobId.toString());
    if (!m) {
      m = (await this.c.market.read.job([jobId])).modelId.toString();
      this.models.set(jobId.toString(), m);
    }
    return m;
  }

  private async peerOf(provider: Address): Promise<string> {
    if (this.init.resolvePeer) return this.init.resolvePeer(provider);
    const bytes = await this.c.staking.read.peerIdOf([provider]);
    if (!bytes || bytes === "0x") throw new VerifierUnboundProviderError(`provider ${provider} has no peer id bound on chain`);
    return peerIdFromMultihash(Digest.decode(fromHex(bytes, "bytes"))).toString();
  }

  /** Fetches a revealed leaf's tensors from its provider and re-executes the stage. */
  async checkLeaf(t: Pick<LeafTask, "jobId" | "receiptId" | "sampleNo" | "stage" | "provider" | "inputHash" | "outputHash">) {
    const indices = await this.c.spotCheck.read.sampleIndices([t.jobId, t.receiptId]);
    let peerId: string;
    try {
      peerId = await this.peerOf(t.provider);
    } catch (err) {
      if (err instanceof VerifierUnboundProviderError) return { outcome: "unavailable", fraud: true, detail: err.message } as StageCheck;
      throw err;
    }
    const leaf: RevealedStage = {
      jobId: t.jobId.toString(),
      modelId: await this.modelOf(t.jobId),
      index: Number(indices[t.sampleNo]),
      stage: t.stage,
      inputHash: t.inputHash,
      outputHash: t.outputHash,
      peerId,
    };
    return checkRevealedStage(this.init.node, this.init.models, leaf, { ...this.init.check, signal: this.ctrl.signal });
  }

  // ─── Helpers ─────────────────────────────────────────────────────────────────────────

  /** The wallet options every write takes. */
  opts() {
    return { account: this.init.wallet.account, chain: this.init.wallet.chain };
  }

  /** Sends one transaction (through the shared queue when given) and waits for it to succeed. */
  async tx(what: string, send: () => Promise<Hex>, onReceipt?: (r: TransactionReceipt) => void): Promise<Hex> {
    const run = async (): Promise<Hex> => {
      const hash = await send();
      const receipt = await waitTx(this.init.publicClient, hash, what);
      onReceipt?.(receipt);
      return hash;
    };
    return this.init.serial ? this.init.serial(run) : run();
  }

  async chainNow(): Promise<bigint> {
    return (await this.init.publicClient.getBlock({ blockTag: "latest" })).timestamp;
  }

  record(
    t: Pick<LeafTask, "jobId" | "receiptId" | "sampleNo" | "stage" | "provider">,
    check: StageCheck,
    reason: "assigned" | "spot" | "committee",
  ): void {
    const task = {
      jobId: t.jobId.toString(),
      receiptId: t.receiptId.toString(),
      sampleNo: t.sampleNo,
      stage: t.stage,
      provider: t.provider,
    };
    this.checks.push({ task, reason, check });
    log(
      "%s check of job %s receipt %s sample %d stage %d (%s): %s — %s",
      reason,
      task.jobId,
      task.receiptId,
      t.sampleNo,
      t.stage,
      t.provider,
      check.outcome,
      check.detail,
    );
    this.emit({ event: "checked", ...task, reason, check });
  }

  emit(e: VerifierEvent): void {
    try {
      this.init.onEvent?.(e);
    } catch (err) {
      log("event handler failed: %s", (err as Error).message);
    }
  }

  fail(what: string, err: Error): void {
    log("%s failed: %s: %s", what, err.name, err.message.split("\n")[0]);
    this.emit({ event: "error", what, name: err.name, message: err.message.split("\n")[0] });
  }

  /** The saved position: the cursor, or (files from before it) the first block not read yet. */
  private savedCursor(saved: VerifierState | undefined): SavedCursor | undefined {
    if (saved?.cursor) return saved.cursor;
    if (saved?.nextBlock === undefined || saved.nextBlock === 0n) return undefined;
    const { chainId, contracts } = this.init.deployment;
    return { chainId, contract: contracts.SpotCheck.address, block: (saved.nextBlock - 1n).toString() };
  }

  private load(saved: VerifierState | undefined): void {
    // A file of another deployment (the contracts redeployed, another chain) holds nothing of this one.
    if (!saved || this.cursor.resets.includes("other-deployment")) return;
    for (const v of saved.votes) this.votes.set(`${v.disputeId}/${v.round}`, v);
    for (const id of saved.watched) this.watched.add(id);
    for (const [key, ids] of Object.entries(saved.openAccused)) this.openAccused.set(key, new Set(ids));
    // Events are read on from where the last run stopped; tasks read but not yet done come back.
    if (this.cursor.position() !== undefined) {
      this.seeds.push(...saved.seeds);
      this.samples.push(...saved.samples);
      this.leaves.push(...saved.leaves);
    }
  }

  save(): void {
    if (this.init.stateFile)
      writeState(this.init.stateFile, {
        cursor: this.cursor.position(),
        seeds: this.seeds,
        samples: this.samples,
        leaves: this.leaves,
        votes: [...this.votes.values()],
        watched: [...this.watched],
        openAccused: Object.fromEntries([...this.openAccused].filter(([, ids]) => ids.size > 0).map(([k, ids]) => [k, [...ids]])),
      });
  }
}

/** A decoded event of SpotCheck, Disputes or JobMarket (args by name). */
interface ChainEvent {
  eventName: string;
  address: Address;
  blockNumber: bigint;
  args: Record<string, unknown>;
}
