// The verifier service (DESIGN.md steps 6-7, node side). It reads the Adjudicator's events and:
// - for every revealed stage leaf of a receipt it was drawn to verify (or spot-checks at
//   `spotCheckPpm`), fetches the leaf's tensors from the serving provider, re-executes the stage
//   and, on mismatch / undeliverable tensor / hash mismatch, challenges with the bond;
// - for every committee it sits on, re-executes the disputed leaf the same way, commits its vote
//   (keccak256(disputeId, voter, fraud, salt)), reveals it once the commit phase is over;
// - resolves disputes it challenged or voted on once their deadline has passed.
// Verifier fees (receipt verifier), slash rewards, returned bonds and committee fees are credited
// by the contracts; `withdraw` pulls them.
import { randomBytes } from "node:crypto";
import { logger } from "@libp2p/logger";
import { peerIdFromMultihash } from "@libp2p/peer-id";
import * as Digest from "multiformats/hashes/digest";
import { encodeAbiParameters, fromHex, isAddressEqual, keccak256, parseEventLogs, toHex } from "viem";
import type { Address, Hex, PublicClient, TransactionReceipt } from "viem";
import type { MeshNode } from "../mesh/node.ts";
import { shardMeshContracts } from "../chain/contracts.ts";
import type { ShardMeshContracts, ShardWallet } from "../chain/contracts.ts";
import type { Deployment } from "../chain/deployments.ts";
import { waitTx } from "../chain/provider.ts";
import { adjudicatorAbi } from "../generated/abis.ts";
import { DEFAULT_SPOT_CHECK_PPM, VERIFIER_LOG_RANGE, VERIFIER_POLL_MS } from "./constants.ts";
import { VerifierInsufficientBondError, VerifierStakeTooLowError, VerifierUnboundProviderError } from "./errors.ts";
import { checkRevealedStage } from "./check.ts";
import type { CheckOptions, RevealedStage, StageCheck } from "./check.ts";
import type { ModelCatalog } from "./models.ts";
import { readState, writeState } from "./state.ts";
import type { LeafTask, VoteState } from "./state.ts";

const log = logger("shardmesh:verifier");

const DISPUTE_OPEN = 1;
const DISPUTE_KIND_COMMITTEE = 2;

export interface VerifierInit {
  node: MeshNode;
  publicClient: PublicClient;
  /** The staked verifier's wallet (challenges, votes, resolutions, withdrawals). */
  wallet: ShardWallet;
  deployment: Deployment;
  models: ModelCatalog;
  /** Also check this share (parts per million) of leaves of receipts assigned to others. */
  spotCheckPpm?: number;
  pollMs?: number;
  /** First block to read events from (default: the Adjudicator's deployment block). */
  fromBlock?: bigint;
  /** Vote salts survive restarts in this JSON file (a lost salt cannot reveal its vote). */
  stateFile?: string;
  /** Peer id of a provider address (default: its binding on chain, ProviderStaking.peerIdOf). */
  resolvePeer?: (provider: Address) => Promise<string>;
  check?: CheckOptions;
  /**
   * Runs each transaction (send + wait) in the caller's queue: a provider process shares its
   * staking wallet with the job watcher (ReceiptLedger.serial), so nonces never collide.
   */
  serial?: <T>(fn: () => Promise<T>) => Promise<T>;
  /** Withdraw credits (fees, slash rewards, bonds) at the end of every pass. */
  autoWithdraw?: boolean;
  /**
   * Register this staker as a verifier on its first pass (default true): only registered
   * verifiers are drawn to check samples and sit on committees (ProviderStaking.registerVerifier).
   */
  register?: boolean;
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
  | { event: "vote-committed"; disputeId: string; fraud: boolean; txHash: Hex }
  | { event: "vote-revealed"; disputeId: string; fraud: boolean; txHash: Hex }
  | { event: "resolved"; disputeId: string; txHash: Hex }
  | { event: "withdrawn"; amount: string; txHash: Hex }
  | { event: "registered"; weight: string; txHash: Hex }
  | { event: "error"; what: string; name: string; message: string };

/** Passes a leaf whose handling failed (RPC error, bond missing) is retried on. */
const LEAF_RETRIES = 5;

export class VerifierService {
  readonly address: Address;
  private readonly init: VerifierInit;
  private readonly c: ShardMeshContracts;
  private nextBlock: bigint;
  private readonly leaves: LeafTask[] = [];
  private readonly votes = new Map<string, VoteState>();
  private readonly watched = new Set<string>();
  private readonly assigned = new Map<string, Address>();
  private readonly models = new Map<string, string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private running = false;
  private ticking: Promise<void> | undefined;
  private readonly ctrl = new AbortController();
  private registered = false;
  /** Outcomes of every check made, newest last. */
  readonly checks: Array<{
    task: Omit<LeafTask, "jobId" | "receiptId"> & { jobId: string; receiptId: string };
    reason: "assigned" | "spot" | "committee";
    check: StageCheck;
  }> = [];

  constructor(init: VerifierInit) {
    this.init = init;
    this.address = init.wallet.account.address;
    this.c = shardMeshContracts(init.deployment, { public: init.publicClient, wallet: init.wallet });
    this.nextBlock = init.fromBlock ?? BigInt(init.deployment.contracts.Adjudicator.blockNumber);
    this.load();
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

  /** One pass: read new events, check leaves, commit/reveal votes, resolve due disputes. */
  tick(): Promise<void> {
    // Never two passes at once (a timer pass and a test's explicit pass share the wallet nonce).
    const run = (this.ticking ?? Promise.resolve()).then(() => this.pass());
    this.ticking = run.catch(() => {});
    return run;
  }

  private async pass(): Promise<void> {
    if (!this.registered && (this.init.register ?? true)) await this.register().catch((err: Error) => this.fail("register", err));
    await this.readEvents();
    const retry: LeafTask[] = [];
    while (this.leaves.length > 0) {
      const task = this.leaves.shift()!;
      await this.handleLeaf(task).catch((err: Error) => {
        this.fail(`leaf job ${task.jobId} receipt ${task.receiptId} sample ${task.sampleNo} stage ${task.stage}`, err);
        task.failures = (task.failures ?? 0) + 1;
        if (task.failures < LEAF_RETRIES && !this.ctrl.signal.aborted) retry.push(task);
      });
    }
    this.leaves.push(...retry);
    this.save();
    const now = await this.chainNow();
    for (const v of this.votes.values()) {
      await this.handleVote(v, now).catch((err: Error) => this.fail(`vote on dispute ${v.disputeId}`, err));
    }
    for (const id of this.watched) {
      await this.handleResolve(BigInt(id), now).catch((err: Error) => this.fail(`resolve dispute ${id}`, err));
    }
    if (this.init.autoWithdraw) await this.withdraw().catch((err: Error) => this.fail("withdraw", err));
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
    const hash = await this.tx("registerVerifier", () =>
      this.c.staking.write.registerVerifier({ account: this.init.wallet.account, chain: this.init.wallet.chain }),
    );
    this.registered = true;
    this.emit({ event: "registered", weight: staked.toString(), txHash: hash });
  }

  /** Leaves the verifier draw (a verifier that stops running should): best effort, no throw. */
  async deregister(): Promise<void> {
    try {
      if (!(await this.c.staking.read.isVerifier([this.address]))) return;
      await this.tx("deregisterVerifier", () =>
        this.c.staking.write.deregisterVerifier({ account: this.init.wallet.account, chain: this.init.wallet.chain }),
      );
      this.registered = false;
    } catch (err) {
      this.fail("deregister", err as Error);
    }
  }

  /** Withdraws this verifier's credits (fees, rewards, bonds); returns the amount. */
  async withdraw(): Promise<bigint> {
    const amount = await this.c.market.read.credits([this.address]);
    if (amount === 0n) return 0n;
    const hash = await this.tx("withdraw", () =>
      this.c.market.write.withdraw({ account: this.init.wallet.account, chain: this.init.wallet.chain }),
    );
    this.emit({ event: "withdrawn", amount: amount.toString(), txHash: hash });
    return amount;
  }

  // ─── Events ──────────────────────────────────────────────────────────────────────────

  private async readEvents(): Promise<void> {
    const latest = await this.init.publicClient.getBlockNumber();
    while (this.nextBlock <= latest) {
      const to = this.nextBlock + VERIFIER_LOG_RANGE - 1n < latest ? this.nextBlock + VERIFIER_LOG_RANGE - 1n : latest;
      const logs = await this.init.publicClient.getContractEvents({
        address: this.c.adjudicator.address,
        abi: adjudicatorAbi,
        fromBlock: this.nextBlock,
        toBlock: to,
      });
      for (const l of logs) {
        if (l.eventName === "StageLeafRevealed") {
          const a = l.args as {
            jobId: bigint;
            receiptId: bigint;
            provider: Address;
            sampleNo: bigint;
            stage: bigint;
            inputHash: Hex;
            outputHash: Hex;
          };
          this.leaves.push({
            jobId: a.jobId,
            receiptId: a.receiptId,
            sampleNo: Number(a.sampleNo),
            stage: Number(a.stage),
            provider: a.provider,
            inputHash: a.inputHash,
            outputHash: a.outputHash,
          });
        } else if (l.eventName === "CommitteeDrawn") {
          const a = l.args as { disputeId: bigint; members: readonly Address[] };
          if (a.members.some((m) => isAddressEqual(m, this.address)) && !this.votes.has(a.disputeId.toString())) {
            this.votes.set(a.disputeId.toString(), { disputeId: a.disputeId.toString(), committed: false, revealed: false });
            this.watched.add(a.disputeId.toString());
          }
        } else if (l.eventName === "DisputeOpened") {
          const a = l.args as { disputeId: bigint; challenger: Address };
          if (isAddressEqual(a.challenger, this.address)) this.watched.add(a.disputeId.toString());
        }
      }
      this.nextBlock = to + 1n;
    }
    this.save();
  }

  // ─── Leaves: assigned checks and spot checks ─────────────────────────────────────────

  private async handleLeaf(t: LeafTask): Promise<void> {
    const key = `${t.jobId}/${t.receiptId}`;
    let verifier = this.assigned.get(key);
    if (!verifier) {
      verifier = await this.c.adjudicator.read.receiptVerifier([t.jobId, t.receiptId]);
      this.assigned.set(key, verifier);
    }
    const reason = isAddressEqual(verifier, this.address) ? "assigned" : this.spotPicked(t) ? "spot" : undefined;
    if (!reason) return;
    if (await this.c.market.read.isJobProvider([t.jobId, this.address])) return; // never verify a job we serve
    const receipt = await this.c.market.read.receipt([t.jobId, t.receiptId]);
    const w = await this.c.market.read.windowsOf([t.jobId]);
    const closes = BigInt(receipt.submittedAt) + w.reveal + w.challenge;
    const open = async () => (await this.chainNow()) < closes;
    if (!(await open())) return; // history (a first start, or a long outage): nothing can be challenged
    if (!t.check) {
      t.check = await this.checkLeaf(t);
      this.record(t, t.check, reason);
    }
    if (!t.check.fraud) return;
    if (await this.c.market.read.isFaulted([t.jobId, t.provider])) return; // already slashed (hand-off check)
    if (!(await open())) {
      log("leaf of job %s receipt %s is wrong but the challenge window closed", t.jobId, t.receiptId);
      return;
    }
    await this.challenge(t);
  }

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

  private async checkLeaf(t: LeafTask): Promise<StageCheck> {
    const indices = await this.c.adjudicator.read.sampleIndices([t.jobId, t.receiptId]);
    let peerId: string;
    try {
      peerId = await this.peerOf(t.provider);
    } catch (err) {
      if (err instanceof VerifierUnboundProviderError) return { outcome: "unavailable", fraud: true, detail: err.message };
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

  private async challenge(t: LeafTask): Promise<void> {
    const [bond] = await this.c.adjudicator.read.params();
    const balance = await this.c.token.read.balanceOf([this.address]);
    if (balance < bond)
      throw new VerifierInsufficientBondError(`token balance ${balance} of ${this.address} cannot cover the challenge bond ${bond}`);
    const allowance = await this.c.token.read.allowance([this.address, this.c.market.address]);
    const opts = { account: this.init.wallet.account, chain: this.init.wallet.chain };
    if (allowance < bond) {
      await this.tx("approve bond", () => this.c.token.write.approve([this.c.market.address, bond], opts));
    }
    let receipt!: TransactionReceipt;
    const hash = await this.tx(
      `challenge(job ${t.jobId}, receipt ${t.receiptId}, sample ${t.sampleNo}, stage ${t.stage})`,
      () => this.c.adjudicator.write.challenge([t.jobId, t.receiptId, BigInt(t.sampleNo), BigInt(t.stage)], opts),
      (r) => (receipt = r),
    );
    const [opened] = parseEventLogs({ abi: adjudicatorAbi, eventName: "DisputeOpened", logs: receipt.logs });
    const disputeId = opened ? opened.args.disputeId : (await this.c.adjudicator.read.disputeCount()) - 1n;
    this.watched.add(disputeId.toString());
    this.save();
    log("challenged stage %d of job %s receipt %s (dispute %s)", t.stage, t.jobId, t.receiptId, disputeId);
    this.emit({
      event: "challenged",
      disputeId: disputeId.toString(),
      jobId: t.jobId.toString(),
      receiptId: t.receiptId.toString(),
      sampleNo: t.sampleNo,
      stage: t.stage,
      accused: t.provider,
      txHash: hash,
    });
  }

  // ─── Committee votes ─────────────────────────────────────────────────────────────────

  private async handleVote(v: VoteState, now: bigint): Promise<void> {
    if (v.revealed || v.abstained) return;
    const id = BigInt(v.disputeId);
    const d = await this.c.adjudicator.read.dispute([id]);
    if (d.status !== DISPUTE_OPEN || d.kind !== DISPUTE_KIND_COMMITTEE) {
      this.votes.delete(v.disputeId); // resolved: nothing left to do
      this.save();
      return;
    }
    const w = await this.c.market.read.windowsOf([d.jobId]);
    const commitEnds = d.openedAt + w.commit;
    const revealEnds = commitEnds + w.voteReveal;
    const opts = { account: this.init.wallet.account, chain: this.init.wallet.chain };
    if (!v.committed) {
      if (now > commitEnds) return; // missed the commit phase
      if (v.fraud === undefined) {
        const rev = await this.c.adjudicator.read.stageReveal([d.jobId, BigInt(d.receiptId), BigInt(d.sampleNo), BigInt(d.stage)]);
        const t: LeafTask = {
          jobId: d.jobId,
          receiptId: BigInt(d.receiptId),
          sampleNo: d.sampleNo,
          stage: d.stage,
          provider: rev.provider,
          inputHash: rev.inputHash,
          outputHash: rev.outputHash,
        };
        const check = await this.checkLeaf(t);
        this.record(t, check, "committee");
        if (check.fraud === undefined) {
          v.abstained = true;
          this.save();
          log("abstaining on dispute %s: %s", v.disputeId, check.detail);
          return;
        }
        v.fraud = check.fraud;
        v.salt = toHex(randomBytes(32));
        this.save(); // the salt is on disk before the commitment is on chain
      }
      const commitment = await this.c.adjudicator.read.voteCommitment([id, this.address, v.fraud, v.salt!]);
      const hash = await this.tx(`commitVote(${id})`, () => this.c.adjudicator.write.commitVote([id, commitment], opts));
      v.committed = true;
      this.save();
      this.emit({ event: "vote-committed", disputeId: v.disputeId, fraud: v.fraud, txHash: hash });
      return; // reveal only once the commit phase is over
    }
    if (now <= commitEnds || now > revealEnds) return;
    const hash = await this.tx(`revealVote(${id})`, () => this.c.adjudicator.write.revealVote([id, v.fraud!, v.salt!], opts));
    v.revealed = true;
    this.save();
    this.emit({ event: "vote-revealed", disputeId: v.disputeId, fraud: v.fraud!, txHash: hash });
  }

  private async handleResolve(id: bigint, now: bigint): Promise<void> {
    const d = await this.c.adjudicator.read.dispute([id]);
    if (d.status !== DISPUTE_OPEN) {
      this.watched.delete(id.toString());
      this.votes.delete(id.toString());
      this.save();
      return;
    }
    const w = await this.c.market.read.windowsOf([d.jobId]);
    const deadline = d.openedAt + (d.kind === DISPUTE_KIND_COMMITTEE ? w.commit + w.voteReveal : w.answer);
    if (now <= deadline) return;
    const hash = await this.tx(`resolveDispute(${id})`, () =>
      this.c.adjudicator.write.resolveDispute([id], { account: this.init.wallet.account, chain: this.init.wallet.chain }),
    );
    this.watched.delete(id.toString());
    this.votes.delete(id.toString());
    this.save();
    this.emit({ event: "resolved", disputeId: id.toString(), txHash: hash });
  }

  // ─── Helpers ─────────────────────────────────────────────────────────────────────────

  /** Sends one transaction (through the shared queue when given) and waits for it to succeed. */
  private async tx(what: string, send: () => Promise<Hex>, onReceipt?: (r: TransactionReceipt) => void): Promise<Hex> {
    const run = async (): Promise<Hex> => {
      const hash = await send();
      const receipt = await waitTx(this.init.publicClient, hash, what);
      onReceipt?.(receipt);
      return hash;
    };
    return this.init.serial ? this.init.serial(run) : run();
  }

  private async chainNow(): Promise<bigint> {
    return (await this.init.publicClient.getBlock({ blockTag: "latest" })).timestamp;
  }

  private record(t: LeafTask, check: StageCheck, reason: "assigned" | "spot" | "committee"): void {
    const task = { ...t, jobId: t.jobId.toString(), receiptId: t.receiptId.toString() };
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
    this.emit({
      event: "checked",
      jobId: task.jobId,
      receiptId: task.receiptId,
      sampleNo: t.sampleNo,
      stage: t.stage,
      provider: t.provider,
      reason,
      check,
    });
  }

  private emit(e: VerifierEvent): void {
    try {
      this.init.onEvent?.(e);
    } catch (err) {
      log("event handler failed: %s", (err as Error).message);
    }
  }

  private fail(what: string, err: Error): void {
    log("%s failed: %s: %s", what, err.name, err.message.split("\n")[0]);
    this.emit({ event: "error", what, name: err.name, message: err.message.split("\n")[0] });
  }

  private load(): void {
    const saved = this.init.stateFile ? readState(this.init.stateFile) : undefined;
    if (!saved) return;
    for (const v of saved.votes) this.votes.set(v.disputeId, v);
    for (const id of saved.watched) this.watched.add(id);
    // Events are read on from where the last run stopped; leaves read but not yet handled come back.
    if (saved.nextBlock !== undefined && this.init.fromBlock === undefined) {
      this.nextBlock = saved.nextBlock;
      this.leaves.push(...saved.leaves);
    }
  }

  private save(): void {
    if (this.init.stateFile)
      writeState(this.init.stateFile, {
        nextBlock: this.nextBlock,
        votes: [...this.votes.values()],
        watched: [...this.watched],
        leaves: this.leaves,
      });
  }
}
