// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IDisputes} from "../interfaces/IDisputes.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IProtocolParams} from "../interfaces/IProtocolParams.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {ISpotCheck} from "../interfaces/ISpotCheck.sol";
import {IStageProofVerifier} from "../interfaces/IStageProofVerifier.sol";
import {FeeMath} from "../libraries/FeeMath.sol";
import {Seeds} from "../libraries/Seeds.sol";
import {JobId} from "../types/Ids.sol";

/// @title Disputes
/// @notice Challenges of revealed stage leaves (issue 10, items 4, 5, 9, 11; docs/PROTOCOL.md,
///         "Disputes"). The zk stage is settled by the accused's Groth16 proof. Other stages go to
///         committee rounds drawn from a seed anchored after the challenge (so a challenger cannot
///         retry until its friends are drawn), seats stake-weighted with replacement among
///         registered verifiers, each seat locking a juror deposit that non-voters lose. The
///         verdict is the seat-weighted majority of every vote revealed so far; anyone may appeal
///         it (twice the bond, a committee of 2^(r+2) − 1 seats) up to MAX_ROUNDS, so neither a
///         captured round nor a challenger's own sybil blocks the truth. Money: the losing side's
///         bonds and forfeited deposits go half to coherent jurors and half to the winning side;
///         an upheld verdict slashes the accused (σ to the challenger side, γ to coherent jurors,
///         the rest to the treasury) and its sample's lazy attestation.
contract Disputes is IDisputes {
    /// @notice Committee rounds a dispute may take (the first plus four appeals).
    uint256 public constant MAX_ROUNDS = 5;

    IJobMarket private immutable _market;
    IProviderStaking private immutable _staking;
    IModelRegistry private immutable _registry;
    IProtocolParams private immutable _params;
    ISpotCheck private immutable _spot;

    Dispute[] private _disputes;
    mapping(uint256 disputeId => Stake[]) private _stakes;
    mapping(uint256 disputeId => mapping(uint256 round => address[])) private _jurors;
    mapping(uint256 disputeId => mapping(uint256 round => mapping(address juror => Juror))) private _juror;
    mapping(bytes32 stageKey => uint256 disputeIdPlusOne) private _disputeOf;
    mapping(uint256 disputeId => uint256) private _forfeited;
    mapping(uint256 disputeId => uint256) private _rewardPerSeat;

    /// @param market The job market (links this contract with setAdjudicators).
    /// @param staking Provider staking (the juror draw).
    /// @param registry Model registry (the zk stage and its verifier).
    /// @param params Versioned parameters (windows, bonds, shares, deposits per job).
    /// @param spotCheck The SpotCheck contract (revealed leaves, attestations).
    constructor(IJobMarket market, IProviderStaking staking, IModelRegistry registry, IProtocolParams params, ISpotCheck spotCheck) {
        _market = market;
        _staking = staking;
        _registry = registry;
        _params = params;
        _spot = spotCheck;
    }

    // ─── Opening ─────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDisputes
    function challenge(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external returns (uint256 disputeId) {
        if (_spot.sample(jobId, receiptId, sampleNo).stageMask & (1 << stage) == 0) revert DisputesStageNotRevealed(sampleNo, stage);
        (, uint256 deadline) = _spot.deadlines(jobId, receiptId);
        if (block.timestamp >= deadline) revert DisputesChallengeWindowClosed(block.timestamp, deadline);
        bytes32 key = keccak256(abi.encode(jobId, receiptId, sampleNo, stage));
        if (_disputeOf[key] != 0) revert DisputesAlreadyDisputed(sampleNo, stage);
        uint256 weight = _staking.verifierWeight(msg.sender);
        if (weight == 0 || _market.isJobProvider(jobId, msg.sender)) revert DisputesNotEligibleChallenger(msg.sender, weight);
        address accused = _spot.stageReveal(jobId, receiptId, sampleNo, stage).provider;
        if (_market.isFaulted(jobId, accused)) revert DisputesAlreadyFaulted(accused, jobId);
        IJobMarket.Job memory j = _market.job(jobId);
        IProtocolParams.Params memory p = _params.paramsAt(j.paramsVersion);
        uint256 bond = FeeMath.bps(_market.collateralOf(jobId, accused), p.challengeBondBps);
        if (bond < p.challengeBond) bond = p.challengeBond;
        (,, bool hasZk, uint16 zkStage,,) = _registry.verificationParams(j.modelId);
        DisputeKind kind = hasZk && zkStage == stage ? DisputeKind.ZkProof : DisputeKind.Committee;
        disputeId = _disputes.length;
        _disputeOf[key] = disputeId + 1;
        _disputes.push(
            Dispute({
                jobId: jobId,
                receiptId: uint32(receiptId),
                sampleNo: uint8(sampleNo),
                stage: uint16(stage),
                kind: kind,
                status: DisputeStatus.Open,
                round: 0,
                verdictFraud: false,
                accused: accused,
                anchorBlock: uint64(block.number),
                phaseStart: kind == DisputeKind.ZkProof ? uint32(block.timestamp) : 0,
                challenger: msg.sender,
                votesFraud: 0,
                votesHonest: 0,
                verdictAt: 0,
                bond: uint96(bond),
                paramsVersion: j.paramsVersion
            })
        );
        _stakes[disputeId].push(Stake({who: msg.sender, fraudSide: true, amount: uint96(bond)}));
        _spot.noteDispute(jobId, receiptId, true);
        _market.takeBond(msg.sender, bond);
        emit DisputeOpened(disputeId, jobId, accused, receiptId, sampleNo, stage, msg.sender, kind, bond);
    }

    /// @inheritdoc IDisputes
    function answerWithProof(uint256 disputeId, bytes calldata proof) external {
        Dispute storage d = _requireStatus(disputeId, DisputeStatus.Open);
        if (d.kind != DisputeKind.ZkProof) revert DisputesWrongKind(d.kind, DisputeKind.ZkProof);
        uint256 deadline = uint256(d.phaseStart) + _params.paramsAt(d.paramsVersion).answer;
        if (block.timestamp > deadline) revert DisputesDeadlinePassed(block.timestamp, deadline);
        (,,,, bytes32 commitment, IStageProofVerifier verifier) = _registry.verificationParams(_market.job(d.jobId).modelId);
        ISpotCheck.StageReveal memory rev = _spot.stageReveal(d.jobId, d.receiptId, d.sampleNo, d.stage);
        bool valid;
        try verifier.verifyStage(commitment, rev.inputHash, rev.outputHash, proof) returns (bool ok) {
            valid = ok;
        } catch {}
        if (!valid) revert DisputesInvalidProof(disputeId, address(verifier));
        _settle(disputeId, d, false);
    }

    // ─── Committee rounds ────────────────────────────────────────────────────────────────

    /// @inheritdoc IDisputes
    function drawCommittee(uint256 disputeId) external {
        Dispute storage d = _requireStatus(disputeId, DisputeStatus.Open);
        if (d.kind != DisputeKind.Committee) revert DisputesWrongKind(d.kind, DisputeKind.Committee);
        if (d.phaseStart != 0) revert DisputesCommitteeAlreadyDrawn(disputeId, d.round);
        uint256 round = d.round;
        (Seeds.Outcome o, bytes32 seed, uint256 next) = Seeds.fix(d.anchorBlock, keccak256(abi.encode("committee", disputeId, round)));
        if (o == Seeds.Outcome.NotReady) revert DisputesSeedNotReady(block.number, Seeds.readyAt(d.anchorBlock));
        if (o == Seeds.Outcome.Reanchored) {
            d.anchorBlock = uint64(next);
            emit CommitteeSeedReanchored(disputeId, round, next);
            return;
        }
        address[] memory drawn = _staking.drawVerifiers(seed, (1 << (round + 2)) - 1, _parties(disputeId, d.jobId));
        // Seats per distinct juror (at most 63 seats: quadratic in memory is cheap).
        address[] memory who = new address[](drawn.length);
        uint8[] memory seats = new uint8[](drawn.length);
        uint256 n;
        for (uint256 i; i < drawn.length; ++i) {
            uint256 k;
            while (k < n && who[k] != drawn[i]) ++k;
            if (k == n) who[n++] = drawn[i];
            seats[k] += 1;
        }
        uint256 deposit = _params.paramsAt(d.paramsVersion).jurorDeposit;
        uint256 kept;
        for (uint256 i; i < n; ++i) {
            uint256 amount = deposit * seats[i];
            // A juror whose stake is all locked elsewhere cannot take its seats: they stay empty.
            if (_staking.freeStake(who[i]) < amount) continue;
            _market.lockStake(who[i], d.jobId, amount);
            _juror[disputeId][round][who[i]].seats = seats[i];
            _jurors[disputeId][round].push(who[i]);
            who[kept] = who[i];
            seats[kept++] = seats[i];
        }
        assembly ("memory-safe") {
            mstore(who, kept)
            mstore(seats, kept)
        }
        d.phaseStart = uint32(block.timestamp);
        emit CommitteeDrawn(disputeId, round, who, seats);
    }

    /// @inheritdoc IDisputes
    function commitVote(uint256 disputeId, bytes32 commitment) external {
        Dispute storage d = _requireStatus(disputeId, DisputeStatus.Open);
        if (d.phaseStart == 0) revert DisputesCommitteeNotDrawn(disputeId, d.round);
        Juror storage j = _juror[disputeId][d.round][msg.sender];
        if (j.seats == 0) revert DisputesNotJuror(msg.sender, disputeId);
        uint256 deadline = uint256(d.phaseStart) + _params.paramsAt(d.paramsVersion).commit;
        if (block.timestamp > deadline) revert DisputesDeadlinePassed(block.timestamp, deadline);
        if (j.commitment != bytes32(0)) revert DisputesAlreadyCommitted(msg.sender, disputeId);
        j.commitment = commitment;
        emit VoteCommitted(disputeId, d.round, msg.sender);
    }

    /// @inheritdoc IDisputes
    function revealVote(uint256 disputeId, bool fraud, bytes32 salt) external {
        Dispute storage d = _requireStatus(disputeId, DisputeStatus.Open);
        if (d.phaseStart == 0) revert DisputesCommitteeNotDrawn(disputeId, d.round);
        IProtocolParams.Params memory p = _params.paramsAt(d.paramsVersion);
        // Reveals open only once commits are closed: a vote seen earlier could be copied.
        uint256 commitEnd = uint256(d.phaseStart) + p.commit;
        if (block.timestamp <= commitEnd) revert DisputesCommitPhaseOpen(block.timestamp, commitEnd);
        if (block.timestamp > commitEnd + p.voteReveal) revert DisputesDeadlinePassed(block.timestamp, commitEnd + p.voteReveal);
        uint256 round = d.round;
        Juror storage j = _juror[disputeId][round][msg.sender];
        if (j.commitment == bytes32(0) || j.vote != 0 || j.commitment != voteCommitment(disputeId, round, msg.sender, fraud, salt)) {
            revert DisputesBadVoteReveal(msg.sender, j.commitment);
        }
        j.vote = fraud ? 1 : 2;
        // Seats are at most 63 per round and 119 over five rounds: far below 2^32.
        unchecked {
            if (fraud) d.votesFraud += j.seats;
            else d.votesHonest += j.seats;
        }
        emit VoteRevealed(disputeId, round, msg.sender, fraud, j.seats);
    }

    /// @inheritdoc IDisputes
    function closeRound(uint256 disputeId) external {
        Dispute storage d = _requireStatus(disputeId, DisputeStatus.Open);
        IProtocolParams.Params memory p = _params.paramsAt(d.paramsVersion);
        if (d.kind == DisputeKind.ZkProof) {
            uint256 answerEnd = uint256(d.phaseStart) + p.answer;
            if (block.timestamp <= answerEnd) revert DisputesDeadlineNotReached(block.timestamp, answerEnd);
            _settle(disputeId, d, true);
            return;
        }
        if (d.phaseStart == 0) revert DisputesCommitteeNotDrawn(disputeId, d.round);
        uint256 revealEnd = uint256(d.phaseStart) + p.commit + p.voteReveal;
        if (block.timestamp <= revealEnd) revert DisputesDeadlineNotReached(block.timestamp, revealEnd);
        uint256 round = d.round;
        address[] storage jurors = _jurors[disputeId][round];
        uint256 forfeited;
        for (uint256 i; i < jurors.length; ++i) {
            Juror storage j = _juror[disputeId][round][jurors[i]];
            uint256 amount = uint256(p.jurorDeposit) * j.seats;
            if (j.vote != 0) {
                _market.unlockStake(jurors[i], d.jobId, amount);
            } else {
                _market.slashStake(jurors[i], d.jobId, amount);
                forfeited += amount;
            }
        }
        _forfeited[disputeId] += forfeited;
        d.verdictFraud = d.votesFraud > d.votesHonest;
        emit RoundClosed(disputeId, round, d.verdictFraud, d.votesFraud, d.votesHonest);
        if (round + 1 >= MAX_ROUNDS) {
            _settle(disputeId, d, d.verdictFraud);
        } else {
            d.status = DisputeStatus.Appealable;
            d.verdictAt = uint32(block.timestamp);
        }
    }

    /// @inheritdoc IDisputes
    function appeal(uint256 disputeId) external {
        Dispute storage d = _requireStatus(disputeId, DisputeStatus.Appealable);
        uint256 deadline = uint256(d.verdictAt) + _params.paramsAt(d.paramsVersion).appeal;
        if (block.timestamp > deadline) revert DisputesDeadlinePassed(block.timestamp, deadline);
        uint256 round = d.round + 1;
        // round < MAX_ROUNDS: the last round settles in closeRound and is never appealable.
        uint256 bond = uint256(d.bond) << round;
        bool fraudSide = !d.verdictFraud;
        _stakes[disputeId].push(Stake({who: msg.sender, fraudSide: fraudSide, amount: uint96(bond)}));
        d.round = uint8(round);
        d.status = DisputeStatus.Open;
        d.anchorBlock = uint64(block.number);
        d.phaseStart = 0;
        _market.takeBond(msg.sender, bond);
        emit DisputeAppealed(disputeId, round, msg.sender, fraudSide, bond);
    }

    /// @inheritdoc IDisputes
    function finalize(uint256 disputeId) external {
        Dispute storage d = _requireStatus(disputeId, DisputeStatus.Appealable);
        uint256 deadline = uint256(d.verdictAt) + _params.paramsAt(d.paramsVersion).appeal;
        if (block.timestamp <= deadline) revert DisputesDeadlineNotReached(block.timestamp, deadline);
        _settle(disputeId, d, d.verdictFraud);
    }

    /// @inheritdoc IDisputes
    function claimJurorReward(uint256 disputeId) external returns (uint256 amount) {
        Dispute storage d = _dispute(disputeId);
        if (d.status != DisputeStatus.Upheld && d.status != DisputeStatus.Rejected) revert DisputesWrongStatus(disputeId, d.status);
        uint8 coherent = d.status == DisputeStatus.Upheld ? 1 : 2;
        uint256 seats;
        for (uint256 r; r <= d.round; ++r) {
            Juror storage j = _juror[disputeId][r][msg.sender];
            if (j.vote == coherent && !j.paid) {
                j.paid = true;
                seats += j.seats;
            }
        }
        amount = seats * _rewardPerSeat[disputeId];
        if (amount == 0) revert DisputesNothingToClaim(msg.sender, disputeId);
        _payOne(d.jobId, msg.sender, amount, IJobMarket.CreditKind.CommitteeFee);
        emit JurorRewarded(disputeId, msg.sender, amount);
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IDisputes
    function voteCommitment(uint256 disputeId, uint256 round, address who, bool fraud, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(disputeId, round, who, fraud, salt));
    }

    /// @inheritdoc IDisputes
    function dispute(uint256 disputeId) external view returns (Dispute memory) {
        return _dispute(disputeId);
    }

    /// @inheritdoc IDisputes
    function disputeCount() external view returns (uint256) {
        return _disputes.length;
    }

    /// @inheritdoc IDisputes
    function committee(uint256 disputeId, uint256 round) external view returns (address[] memory jurors, uint8[] memory seats) {
        jurors = _jurors[disputeId][round];
        seats = new uint8[](jurors.length);
        for (uint256 i; i < jurors.length; ++i) seats[i] = _juror[disputeId][round][jurors[i]].seats;
    }

    /// @inheritdoc IDisputes
    function juror(uint256 disputeId, uint256 round, address who) external view returns (Juror memory) {
        return _juror[disputeId][round][who];
    }

    /// @inheritdoc IDisputes
    function stakes(uint256 disputeId) external view returns (Stake[] memory) {
        return _stakes[disputeId];
    }

    /// @inheritdoc IDisputes
    function disputeOf(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external view returns (uint256) {
        return _disputeOf[keccak256(abi.encode(jobId, receiptId, sampleNo, stage))];
    }

    /// @inheritdoc IDisputes
    function phaseDeadlines(uint256 disputeId) external view returns (uint256 commitEnd, uint256 revealEnd, uint256 appealEnd) {
        Dispute storage d = _dispute(disputeId);
        IProtocolParams.Params memory p = _params.paramsAt(d.paramsVersion);
        if (d.status == DisputeStatus.Appealable) return (0, 0, uint256(d.verdictAt) + p.appeal);
        if (d.status != DisputeStatus.Open || d.phaseStart == 0) return (0, 0, 0);
        if (d.kind == DisputeKind.ZkProof) return (0, uint256(d.phaseStart) + p.answer, 0);
        commitEnd = uint256(d.phaseStart) + p.commit;
        revealEnd = commitEnd + p.voteReveal;
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────

    /// @dev Final verdict: slash (upheld), forfeit the sample's attestation (upheld, unless its
    ///      verifier is on the challenger side), return the winners' bonds, split the losers'
    ///      bonds and forfeited deposits, and set the coherent jurors' reward per seat. Every
    ///      token this dispute put in the market's held pool is paid out here or by claims.
    function _settle(uint256 disputeId, Dispute storage d, bool upheld) private {
        d.status = upheld ? DisputeStatus.Upheld : DisputeStatus.Rejected;
        IProtocolParams.Params memory p = _params.paramsAt(d.paramsVersion);
        Stake[] storage st = _stakes[disputeId];
        uint256 slashed;
        if (upheld) {
            IJobMarket.FaultReason reason =
                d.kind == DisputeKind.ZkProof ? IJobMarket.FaultReason.ZkProofMissing : IJobMarket.FaultReason.CommitteeVerdict;
            slashed = _market.fault(d.jobId, d.receiptId, d.accused, reason, true);
        }
        // The losing side's bonds and the non-voters' deposits; the winners' weight (the accused
        // counts as having posted the first bond when it wins).
        uint256 forfeited = _forfeited[disputeId];
        uint256 winWeight = upheld ? 0 : d.bond;
        for (uint256 i; i < st.length; ++i) {
            if (st[i].fraudSide == upheld) winWeight += st[i].amount;
            else forfeited += st[i].amount;
        }
        if (upheld) forfeited += _forfeitAttestation(disputeId, d);
        uint256 coherent = upheld ? d.votesFraud : d.votesHonest;
        uint256 jurorPool = coherent == 0 ? 0 : forfeited / 2 + FeeMath.bps(slashed, p.jurorShareBps);
        uint256 sidePool = forfeited - (coherent == 0 ? 0 : forfeited / 2) + FeeMath.bps(slashed, p.challengerShareBps);
        uint256 treasury = slashed - FeeMath.bps(slashed, p.challengerShareBps) - (coherent == 0 ? 0 : FeeMath.bps(slashed, p.jurorShareBps));
        if (coherent != 0) {
            uint256 perSeat = jurorPool / coherent;
            _rewardPerSeat[disputeId] = perSeat;
            treasury += jurorPool - perSeat * coherent;
        }
        // Winners: their bond back plus their share of the side pool; the accused its share.
        address[] memory to = new address[](st.length + 2);
        uint256[] memory amounts = new uint256[](st.length + 2);
        uint256 paid;
        for (uint256 i; i < st.length; ++i) {
            if (st[i].fraudSide != upheld) continue;
            uint256 share = (sidePool * st[i].amount) / winWeight;
            to[i] = st[i].who;
            amounts[i] = st[i].amount + share;
            paid += share;
        }
        if (!upheld) {
            uint256 share = (sidePool * d.bond) / winWeight;
            to[st.length] = d.accused;
            amounts[st.length] = share;
            paid += share;
        }
        // Rounding dust of the side pool and the treasury's part go to the treasury (to = 0).
        amounts[st.length + 1] = treasury + sidePool - paid;
        _market.payOut(d.jobId, to, amounts, IJobMarket.CreditKind.BondAward);
        _spot.noteDispute(d.jobId, d.receiptId, false);
        emit DisputeResolved(disputeId, d.jobId, d.accused, d.status);
    }

    /// @dev The sample's attestation, unless its verifier stands on the challenger side (it
    ///      checked, found the fraud and said so): its deposit joins the forfeited pool.
    function _forfeitAttestation(uint256 disputeId, Dispute storage d) private returns (uint256) {
        ISpotCheck.Sample memory s = _spot.sample(d.jobId, d.receiptId, d.sampleNo);
        if (!s.attested || s.attestationForfeited) return 0;
        Stake[] storage st = _stakes[disputeId];
        for (uint256 i; i < st.length; ++i) if (st[i].fraudSide && st[i].who == s.verifier) return 0;
        (address verifier, uint256 deposit) = _spot.forfeitAttestation(d.jobId, d.receiptId, d.sampleNo);
        if (verifier == address(0)) return 0;
        _market.slashStake(verifier, d.jobId, deposit);
        return deposit;
    }

    /// @dev The job's providers and every party that posted a bond: never jurors.
    function _parties(uint256 disputeId, JobId jobId) private view returns (address[] memory out) {
        address[] memory providers = _market.jobProviders(jobId);
        Stake[] storage st = _stakes[disputeId];
        out = new address[](providers.length + st.length);
        for (uint256 i; i < providers.length; ++i) out[i] = providers[i];
        for (uint256 i; i < st.length; ++i) out[providers.length + i] = st[i].who;
    }

    function _payOne(JobId jobId, address to, uint256 amount, IJobMarket.CreditKind kind) private {
        address[] memory who = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        who[0] = to;
        amounts[0] = amount;
        _market.payOut(jobId, who, amounts, kind);
    }

    function _dispute(uint256 disputeId) private view returns (Dispute storage) {
        if (disputeId >= _disputes.length) revert DisputesUnknownDispute(disputeId, _disputes.length);
        return _disputes[disputeId];
    }

    function _requireStatus(uint256 disputeId, DisputeStatus status) private view returns (Dispute storage d) {
        d = _dispute(disputeId);
        if (d.status != status) revert DisputesWrongStatus(disputeId, d.status);
    }
}
