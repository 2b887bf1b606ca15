// Committee votes and the lifecycle of the disputes a verifier is a party to (Disputes contract;
// docs/PROTOCOL.md, "Disputes"). Each step (draw the committee, close the round, make the verdict
// final) is due for one verifier at a time: the parties are ranked — whoever has the most at
// stake first (the appellant of the current round, else the challenger), then the earlier bond
// posters, then the jurors round by round in committee order — and a verifier that is no party
// comes after them all, in one of NON_PARTY_TURNS turns picked by a hash of its address and the
// dispute; rank r acts r × RESOLVE_GRACE_SECONDS (r × SEED_GRACE_BLOCKS for a draw) after the step
// is due. So a dispute never stalls on an offline party (before the draw the challenger is the
// only one), and running verifiers do not race each other's transactions (issue 10 item 18: with
// one grace for every party but the lead, all of them sent the same call when the lead was away,
// and all but one reverted).
import { randomBytes } from "node:crypto";
import { logger } from "@libp2p/logger";
import { encodeAbiParameters, fromHex, isAddressEqual, keccak256, toHex } from "viem";
import type { Address } from "viem";
import { NON_PARTY_TURNS, RESOLVE_GRACE_SECONDS, SEED_GRACE_BLOCKS } from "./constants.ts";
import type { VerifierService } from "./service.ts";
import type { VoteState } from "./state.ts";

const log = logger("shardmesh:verifier:votes");

/** IDisputes.DisputeKind / DisputeStatus. */
const KIND_COMMITTEE = 2;
const OPEN = 1;
const APPEALABLE = 2;
const UPHELD = 3;
const REJECTED = 4;
/** Disputes.MAX_ROUNDS. */
const MAX_ROUNDS = 5;

/** Commits (after its own re-execution) and reveals this verifier's vote in one round. */
export async function handleVote(svc: VerifierService, v: VoteState, now: bigint): Promise<void> {
  if (v.revealed || v.abstained) return;
  const id = BigInt(v.disputeId);
  const d = await svc.c.disputes.read.dispute([id]);
  if (d.status !== OPEN || d.round !== v.round || d.kind !== KIND_COMMITTEE) {
    svc.votes.delete(`${v.disputeId}/${v.round}`); // the round is over: nothing left to do
    svc.save();
    return;
  }
  const [commitEnds, revealEnds] = await svc.c.disputes.read.phaseDeadlines([id]);
  if (!v.committed) {
    if (commitEnds === 0n || now > commitEnds) return; // not drawn yet, or the commit phase was missed
    if (v.fraud === undefined) {
      const rev = await svc.c.spotCheck.read.stageReveal([d.jobId, BigInt(d.receiptId), BigInt(d.sampleNo), BigInt(d.stage)]);
      const t = { jobId: d.jobId, receiptId: BigInt(d.receiptId), sampleNo: d.sampleNo, stage: d.stage, ...rev };
      const check = await svc.checkLeaf(t);
      svc.record(t, check, "committee");
      if (check.fraud === undefined) {
        v.abstained = true;
        svc.save();
        log("abstaining on dispute %s: %s", v.disputeId, check.detail);
        return;
      }
      v.fraud = check.fraud;
      v.salt = toHex(randomBytes(32));
      svc.save(); // the salt is on disk before the commitment is on chain
    }
    const commitment = await svc.c.disputes.read.voteCommitment([id, BigInt(v.round), svc.address, v.fraud, v.salt!]);
    const hash = await svc.tx(`commitVote(${id})`, () => svc.c.disputes.write.commitVote([id, commitment], svc.opts()));
    v.committed = true;
    svc.save();
    svc.emit({ event: "vote-committed", disputeId: v.disputeId, round: v.round, fraud: v.fraud, txHash: hash });
    return; // reveal only once the commit phase is over
  }
  if (now <= commitEnds || now > revealEnds) return;
  const hash = await svc.tx(`revealVote(${id})`, () => svc.c.disputes.write.revealVote([id, v.fraud!, v.salt!], svc.opts()));
  v.revealed = true;
  svc.save();
  svc.emit({ event: "vote-revealed", disputeId: v.disputeId, round: v.round, fraud: v.fraud!, txHash: hash });
}

/**
 * Moves a dispute one step on when it is this verifier's turn: draws the round's committee,
 * closes the round, appeals a verdict against its own side (a party, when `appeal` is on and the
 * bond can be posted), makes the verdict final, claims its juror reward; unwatches the dispute
 * when nothing is left for it.
 */
export async function driveDispute(svc: VerifierService, id: bigint, now: bigint, block: bigint): Promise<void> {
  const d = await svc.c.disputes.read.dispute([id]);
  const stakes = await svc.c.disputes.read.stakes([id]);
  const mine = stakes.find((s) => isAddressEqual(s.who, svc.address));
  const rank = () => partyRank(svc, id, d.round, stakes);
  const p = await svc.c.params.read.paramsAt([BigInt(d.paramsVersion)]);
  // Deadlines from the same read of the dispute as its status (Disputes.phaseDeadlines): read
  // apart, another party's step landing in between gave zeros, so the step looked due at once.
  const revealEnds = BigInt(d.phaseStart) + BigInt(p.commit) + BigInt(p.voteReveal);
  const appealEnds = BigInt(d.verdictAt) + BigInt(p.appeal);
  if (d.status === OPEN) {
    if (d.kind === KIND_COMMITTEE && d.phaseStart === 0) {
      if (block < d.anchorBlock + 2n) return;
      if (block < d.anchorBlock + 2n + (await rank()) * SEED_GRACE_BLOCKS) return;
      const hash = await svc.tx(`drawCommittee(${id})`, () => svc.c.disputes.write.drawCommittee([id], svc.opts()));
      svc.emit({ event: "committee-drawn", disputeId: id.toString(), round: d.round, txHash: hash });
      return;
    }
    const end = d.kind === KIND_COMMITTEE ? revealEnds : BigInt(d.phaseStart) + BigInt(p.answer);
    if (now <= end || now <= end + (await rank()) * RESOLVE_GRACE_SECONDS) return;
    const hash = await svc.tx(`closeRound(${id})`, () => svc.c.disputes.write.closeRound([id], svc.opts()));
    svc.emit({ event: "round-closed", disputeId: id.toString(), round: d.round, txHash: hash });
    return;
  }
  if (d.status === APPEALABLE) {
    // The honest side appeals every adverse verdict while rounds remain: each appeal adds a larger
    // committee, and the outcome is the majority over all rounds.
    const adverse = mine !== undefined && mine.fraudSide !== d.verdictFraud;
    if (adverse && (svc.init.appeal ?? true) && d.round + 1 < MAX_ROUNDS && now <= appealEnds) {
      const bond = BigInt(d.bond) << BigInt(d.round + 1);
      try {
        await svc.ensureBond(bond);
        const hash = await svc.tx(`appeal(${id})`, () => svc.c.disputes.write.appeal([id], svc.opts()));
        svc.emit({ event: "appealed", disputeId: id.toString(), round: d.round + 1, txHash: hash });
        return;
      } catch (err) {
        svc.fail(`appeal of dispute ${id}`, err as Error);
      }
    }
    if (now <= appealEnds || now <= appealEnds + (await rank()) * RESOLVE_GRACE_SECONDS) return;
    const hash = await svc.tx(`finalize(${id})`, () => svc.c.disputes.write.finalize([id], svc.opts()));
    svc.emit({ event: "resolved", disputeId: id.toString(), txHash: hash });
    return;
  }
  if (d.status === UPHELD || d.status === REJECTED) {
    const coherent = d.status === UPHELD ? 1 : 2;
    let owed = false;
    for (let r = 0; r <= d.round; r++) {
      const j = await svc.c.disputes.read.juror([id, BigInt(r), svc.address]);
      owed ||= j.vote === coherent && !j.paid;
    }
    if (owed) {
      try {
        let amount = 0n;
        const hash = await svc.tx(`claimJurorReward(${id})`, async () => {
          amount = (await svc.c.disputes.simulate.claimJurorReward([id], { account: svc.address })).result;
          return svc.c.disputes.write.claimJurorReward([id], svc.opts());
        });
        svc.emit({ event: "reward-claimed", disputeId: id.toString(), amount: amount.toString(), txHash: hash });
      } catch (err) {
        // No juror pool in this dispute (nothing was forfeited or slashed): nothing to claim.
        if (!(err as Error).message.includes("DisputesNothingToClaim")) throw err;
      }
    }
    svc.watched.delete(id.toString());
    svc.save();
  }
}

/**
 * This verifier's turn in a dispute (0 acts first): the bond posters from the latest (the lead)
 * back to the challenger, then every round's jurors in committee order; a verifier in none of
 * them after all of them, in one of NON_PARTY_TURNS turns (keccak of its address and the dispute).
 */
async function partyRank(svc: VerifierService, id: bigint, round: number, stakes: readonly { who: Address }[]): Promise<bigint> {
  const order: Address[] = stakes.map((s) => s.who).reverse();
  for (let r = 0; r <= round; r++) order.push(...(await svc.c.disputes.read.committee([id, BigInt(r)]))[0]);
  const seen: Address[] = [];
  for (const a of order) if (!seen.some((x) => isAddressEqual(x, a))) seen.push(a);
  const i = seen.findIndex((a) => isAddressEqual(a, svc.address));
  if (i >= 0) return BigInt(i);
  const h = keccak256(encodeAbiParameters([{ type: "address" }, { type: "uint256" }], [svc.address, id]));
  return BigInt(seen.length) + (fromHex(h, "bigint") % NON_PARTY_TURNS);
}
