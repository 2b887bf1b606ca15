// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {IAdjudicator} from "../interfaces/IAdjudicator.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {IStageProofVerifier} from "../interfaces/IStageProofVerifier.sol";
import {ReceiptHashing} from "../libraries/ReceiptHashing.sol";
import {Sampling} from "../libraries/Sampling.sol";
import {VerifierDraw} from "../libraries/VerifierDraw.sol";
import {JobId} from "../types/Ids.sol";

/// @title Adjudicator
/// @notice Spot checks of job receipts. The block after a receipt's submission fixes a seed that
///         picks k request indices. For each, the buyer leaf (with the route: which provider served
///         each stage) and every routed stage leaf are revealed with Merkle proofs; hand-offs are
///         checked on chain and an inconsistent party is slashed at once. Anything unrevealed by
///         the deadline is fraud. Revealed leaves can be challenged with a bond: the zk stage is
///         settled by a proof, other stages by a stake-weighted committee voting by commit-reveal.
contract Adjudicator is IAdjudicator, AccessControl {
    /// @notice Committee members drawn per non-zk dispute.
    uint256 public constant COMMITTEE_SIZE = 3;
    /// @notice Share of a lost bond split among committee members who voted with the majority.
    uint256 public constant COMMITTEE_BOND_SHARE_BPS = 2_000;

    IJobMarket private immutable _market;
    IProviderStaking private immutable _staking;
    IModelRegistry private immutable _registry;
    uint256 private _bond;
    mapping(bytes32 receiptKey => ReceiptCheck) private _checks;
    mapping(bytes32 sampleKey => Sample) private _samples;
    mapping(bytes32 sampleKey => mapping(uint256 stage => StageReveal)) private _reveals;
    mapping(bytes32 sampleKey => mapping(uint256 stage => bool)) private _disputed;
    Dispute[] private _disputes;
    mapping(uint256 disputeId => address[]) private _committees;
    mapping(uint256 disputeId => mapping(address voter => bytes32)) private _commitments;
    mapping(uint256 disputeId => mapping(address voter => uint8)) private _votes; // 1 fraud, 2 honest

    /// @param market The job market (must link this contract with setAdjudicator).
    /// @param staking Provider staking (verifier weights).
    /// @param registry Model registry (sampling rate, zk stage).
    /// @param admin Holds DEFAULT_ADMIN_ROLE.
    /// @param bond_ Challenge bond, token wei.
    constructor(IJobMarket market, IProviderStaking staking, IModelRegistry registry, address admin, uint256 bond_) {
        _market = market;
        _staking = staking;
        _registry = registry;
        _bond = bond_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ─── Sampling and reveals ────────────────────────────────────────────────────────────

    /// @inheritdoc IAdjudicator
    function drawSamples(JobId jobId, uint256 receiptId) external {
        _ensureSeed(jobId, receiptId);
    }

    /// @inheritdoc IAdjudicator
    function sampleIndices(JobId jobId, uint256 receiptId) external view returns (uint256[] memory indices) {
        IJobMarket.Receipt memory r = _requireReceipt(jobId, receiptId);
        ReceiptCheck memory c = _checks[_receiptKey(jobId, receiptId)];
        bytes32 seed = c.seed;
        uint256 k = c.samples;
        if (seed == bytes32(0)) {
            seed = _seedFor(jobId, receiptId, r);
            (, uint32 rate,,,,) = _registry.verificationParams(_market.job(jobId).modelId);
            k = Sampling.sampleCount(r.to - r.from, rate);
        }
        indices = new uint256[](k);
        for (uint256 j; j < k; ++j) indices[j] = Sampling.sampleIndex(seed, j, k, r.from, r.to - r.from);
    }

    /// @inheritdoc IAdjudicator
    function revealBuyerLeaf(
        JobId jobId,
        uint256 receiptId,
        uint256 sampleNo,
        BuyerLeaf calldata leaf,
        bytes32[] calldata proof,
        address[] calldata route,
        IJobMarket.PartRecord[] calldata parts
    ) external {
        (IJobMarket.Receipt memory r, ReceiptCheck storage c) = _ensureSeed(jobId, receiptId);
        _revealBuyer(jobId, receiptId, sampleNo, leaf, proof, route, parts, r, c);
    }

    /// @inheritdoc IAdjudicator
    function revealStageLeaf(
        JobId jobId,
        uint256 receiptId,
        uint256 sampleNo,
        uint256 partIndex,
        StageLeaf calldata leaf,
        bytes32[] calldata proof,
        address[] calldata route,
        IJobMarket.PartRecord[] calldata parts
    ) external {
        (IJobMarket.Receipt memory r, ReceiptCheck storage c) = _ensureSeed(jobId, receiptId);
        Sample storage s = _requireOpenSample(jobId, receiptId, sampleNo, c, r);
        if (!s.buyerRevealed) revert AdjudicatorBuyerLeafNotRevealed(sampleNo, receiptId);
        bytes32 routeHash = ReceiptHashing.hashRoute(route);
        if (routeHash != s.routeHash) revert AdjudicatorRouteMismatch(routeHash, s.routeHash);
        _requirePartsHash(parts, r.partsHash);
        _revealStage(jobId, receiptId, sampleNo, partIndex, leaf, proof, route, parts, r, c, s);
    }

    /// @inheritdoc IAdjudicator
    function revealSample(
        JobId jobId,
        uint256 receiptId,
        uint256 sampleNo,
        BuyerLeaf calldata leaf,
        bytes32[] calldata buyerProof,
        address[] calldata route,
        IJobMarket.PartRecord[] calldata parts,
        StageLeaf[] calldata stageLeaves,
        bytes32[][] calldata stageProofs,
        uint256[] calldata partIndexes
    ) external {
        (IJobMarket.Receipt memory r, ReceiptCheck storage c) = _ensureSeed(jobId, receiptId);
        Sample storage s = _revealBuyer(jobId, receiptId, sampleNo, leaf, buyerProof, route, parts, r, c);
        for (uint256 i; i < stageLeaves.length && !s.resolved; ++i) {
            _revealStage(jobId, receiptId, sampleNo, partIndexes[i], stageLeaves[i], stageProofs[i], route, parts, r, c, s);
        }
    }

    /// @inheritdoc IAdjudicator
    function reportUnrevealed(JobId jobId, uint256 receiptId, uint256 sampleNo, address[] calldata route) external {
        (IJobMarket.Receipt memory r, ReceiptCheck storage c) = _ensureSeed(jobId, receiptId);
        Sample storage s = _requireOpenSample(jobId, receiptId, sampleNo, c, r);
        uint256 deadline = _revealDeadline(jobId, r);
        if (_now() <= deadline) revert AdjudicatorRevealWindowOpen(_now(), deadline);
        address[] memory none;
        if (!s.buyerRevealed) {
            _market.fault(jobId, receiptId, r.submitter, IJobMarket.FaultReason.Unrevealed, _prover(r.submitter), none);
        } else {
            bytes32 routeHash = ReceiptHashing.hashRoute(route);
            if (routeHash != s.routeHash) revert AdjudicatorRouteMismatch(routeHash, s.routeHash);
            for (uint256 st; st < route.length; ++st) {
                if (s.stageMask & (1 << st) == 0) {
                    _market.fault(jobId, receiptId, route[st], IJobMarket.FaultReason.Unrevealed, _prover(route[st]), none);
                }
            }
        }
        _resolveSample(jobId, receiptId, sampleNo, s, c, false);
    }

    // ─── Disputes ────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IAdjudicator
    function challenge(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external returns (uint256 disputeId) {
        IJobMarket.Receipt memory r = _requireReceipt(jobId, receiptId);
        ReceiptCheck storage c = _checks[_receiptKey(jobId, receiptId)];
        // Strictly before the end: settlement opens at that second, and a settled receipt must not
        // gain a dispute afterwards.
        uint256 deadline = _revealDeadline(jobId, r) + _market.windowsOf(jobId).challenge;
        if (_now() >= deadline) revert AdjudicatorChallengeWindowClosed(_now(), deadline);
        bytes32 key = _sampleKey(jobId, receiptId, sampleNo);
        if (sampleNo >= c.samples || _samples[key].stageMask & (1 << stage) == 0 || _disputed[key][stage]) {
            revert AdjudicatorStageNotRevealed(sampleNo, stage);
        }
        uint256 stake = _staking.verifierWeight(msg.sender);
        if (stake == 0 || _market.isJobProvider(jobId, msg.sender)) {
            revert AdjudicatorNotEligibleChallenger(msg.sender, stake);
        }
        address accused = _reveals[key][stage].provider;
        if (_market.isFaulted(jobId, accused)) revert AdjudicatorAlreadyFaulted(accused, jobId);
        (,, bool hasZk, uint16 zkStage,,) = _registry.verificationParams(_market.job(jobId).modelId);
        DisputeKind kind = hasZk && zkStage == stage ? DisputeKind.ZkProof : DisputeKind.Committee;
        disputeId = _disputes.length;
        _disputed[key][stage] = true;
        c.openDisputes += 1;
        _disputes.push(
            Dispute({
                jobId: jobId,
                receiptId: uint32(receiptId),
                sampleNo: uint8(sampleNo),
                stage: uint16(stage),
                kind: kind,
                status: DisputeStatus.Open,
                accused: accused,
                challenger: msg.sender,
                openedAt: uint64(_now()),
                votesFraud: 0,
                votesHonest: 0,
                bond: _bond
            })
        );
        if (kind == DisputeKind.Committee) _drawCommittee(disputeId, jobId);
        _market.takeBond(msg.sender, _bond);
        emit DisputeOpened(disputeId, jobId, accused, receiptId, stage, msg.sender, kind, _bond);
    }

    /// @inheritdoc IAdjudicator
    function answerWithProof(uint256 disputeId, bytes calldata proof) external {
        Dispute storage d = _requireOpenDispute(disputeId, DisputeKind.ZkProof);
        uint256 deadline = uint256(d.openedAt) + _market.windowsOf(d.jobId).answer;
        if (_now() > deadline) revert AdjudicatorDeadlinePassed(_now(), deadline);
        (,,,, bytes32 commitment, IStageProofVerifier verifier) = _registry.verificationParams(_market.job(d.jobId).modelId);
        StageReveal memory rev = _reveals[_sampleKey(d.jobId, d.receiptId, d.sampleNo)][d.stage];
        bool valid;
        try verifier.verifyStage(commitment, rev.inputHash, rev.outputHash, proof) returns (bool ok) {
            valid = ok;
        } catch {}
        if (!valid) revert AdjudicatorInvalidProof(disputeId, address(verifier));
        _close(disputeId, d, DisputeStatus.Rejected);
        _payBond(d, _one(d.accused), _one(d.bond), IJobMarket.CreditKind.BondAward);
    }

    /// @inheritdoc IAdjudicator
    function commitVote(uint256 disputeId, bytes32 commitment) external {
        Dispute storage d = _requireOpenDispute(disputeId, DisputeKind.Committee);
        _requireMember(disputeId);
        uint256 deadline = uint256(d.openedAt) + _market.windowsOf(d.jobId).commit;
        if (_now() > deadline) revert AdjudicatorDeadlinePassed(_now(), deadline);
        if (_commitments[disputeId][msg.sender] != bytes32(0)) revert AdjudicatorAlreadyCommitted(msg.sender, disputeId);
        _commitments[disputeId][msg.sender] = commitment;
        emit VoteCommitted(disputeId, msg.sender);
    }

    /// @inheritdoc IAdjudicator
    function revealVote(uint256 disputeId, bool fraud, bytes32 salt) external {
        Dispute storage d = _requireOpenDispute(disputeId, DisputeKind.Committee);
        _requireMember(disputeId);
        IJobMarket.Windows memory w = _market.windowsOf(d.jobId);
        // Reveals open only once commits are closed (commitVote accepts up to and including
        // commitEnd): a vote revealed earlier could be copied by members yet to commit.
        uint256 commitEnd = uint256(d.openedAt) + w.commit;
        if (_now() <= commitEnd) revert AdjudicatorCommitPhaseOpen(_now(), commitEnd);
        uint256 deadline = commitEnd + w.voteReveal;
        if (_now() > deadline) revert AdjudicatorDeadlinePassed(_now(), deadline);
        bytes32 commitment = _commitments[disputeId][msg.sender];
        if (commitment == bytes32(0) || _votes[disputeId][msg.sender] != 0 || commitment != voteCommitment(disputeId, msg.sender, fraud, salt)) {
            revert AdjudicatorBadVoteReveal(msg.sender, commitment);
        }
        _votes[disputeId][msg.sender] = fraud ? 1 : 2;
        if (fraud) d.votesFraud += 1;
        else d.votesHonest += 1;
        emit VoteRevealed(disputeId, msg.sender, fraud);
    }

    /// @inheritdoc IAdjudicator
    function resolveDispute(uint256 disputeId) external {
        if (disputeId >= _disputes.length) revert AdjudicatorUnknownDispute(disputeId, _disputes.length);
        Dispute storage d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert AdjudicatorDisputeNotOpen(disputeId, d.status);
        IJobMarket.Windows memory w = _market.windowsOf(d.jobId);
        uint256 deadline = uint256(d.openedAt) + (d.kind == DisputeKind.ZkProof ? w.answer : uint256(w.commit) + w.voteReveal);
        if (_now() <= deadline) revert AdjudicatorDeadlineNotReached(_now(), deadline);
        bool upheld = d.kind == DisputeKind.ZkProof || d.votesFraud > d.votesHonest;
        _close(disputeId, d, upheld ? DisputeStatus.Upheld : DisputeStatus.Rejected);
        if (upheld) {
            IJobMarket.FaultReason reason =
                d.kind == DisputeKind.ZkProof ? IJobMarket.FaultReason.ZkProofMissing : IJobMarket.FaultReason.CommitteeVerdict;
            _market.fault(d.jobId, d.receiptId, d.accused, reason, d.challenger, _voters(disputeId, 1));
            _payBond(d, _one(d.challenger), _one(d.bond), IJobMarket.CreditKind.BondReturn);
        } else if (d.kind == DisputeKind.Committee && d.votesHonest == 0) {
            // Nobody voted: no verdict, so no loser; the challenger gets its bond back.
            _payBond(d, _one(d.challenger), _one(d.bond), IJobMarket.CreditKind.BondReturn);
        } else {
            address[] memory honest = _voters(disputeId, 2);
            uint256 share = honest.length == 0 ? 0 : (d.bond * COMMITTEE_BOND_SHARE_BPS) / 10_000 / honest.length;
            address[] memory to = new address[](honest.length + 1);
            uint256[] memory amounts = new uint256[](honest.length + 1);
            for (uint256 i; i < honest.length; ++i) {
                to[i] = honest[i];
                amounts[i] = share;
            }
            to[honest.length] = d.accused;
            amounts[honest.length] = d.bond - share * honest.length;
            _payBond(d, to, amounts, IJobMarket.CreditKind.BondAward);
        }
    }

    // ─── Admin ───────────────────────────────────────────────────────────────────────────

    /// @notice Sets the challenge bond (admin).
    /// @param bond_ Token wei.
    function setBond(uint256 bond_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit BondUpdated(_bond, bond_);
        _bond = bond_;
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IAdjudicator
    function isClear(JobId jobId, uint256 receiptId) external view returns (bool clear, uint256 openIssues) {
        ReceiptCheck storage c = _checks[_receiptKey(jobId, receiptId)];
        if (c.samples == 0) return (false, type(uint256).max);
        openIssues = uint256(c.samples) - c.resolved + c.openDisputes;
        clear = openIssues == 0;
    }

    /// @inheritdoc IAdjudicator
    function settlementCheck(JobId jobId, uint256 receiptId) external view returns (bool clear, uint256 openIssues, address verifier) {
        ReceiptCheck storage c = _checks[_receiptKey(jobId, receiptId)];
        verifier = c.verifier;
        if (c.samples == 0) return (false, type(uint256).max, verifier);
        openIssues = uint256(c.samples) - c.resolved + c.openDisputes;
        clear = openIssues == 0;
    }

    /// @inheritdoc IAdjudicator
    function receiptVerifier(JobId jobId, uint256 receiptId) external view returns (address) {
        return _checks[_receiptKey(jobId, receiptId)].verifier;
    }

    /// @inheritdoc IAdjudicator
    function receiptCheck(JobId jobId, uint256 receiptId) external view returns (ReceiptCheck memory) {
        return _checks[_receiptKey(jobId, receiptId)];
    }

    /// @inheritdoc IAdjudicator
    function sample(JobId jobId, uint256 receiptId, uint256 sampleNo) external view returns (Sample memory) {
        return _samples[_sampleKey(jobId, receiptId, sampleNo)];
    }

    /// @inheritdoc IAdjudicator
    function stageReveal(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external view returns (StageReveal memory) {
        return _reveals[_sampleKey(jobId, receiptId, sampleNo)][stage];
    }

    /// @inheritdoc IAdjudicator
    function isDisputed(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external view returns (bool) {
        return _disputed[_sampleKey(jobId, receiptId, sampleNo)][stage];
    }

    /// @inheritdoc IAdjudicator
    function dispute(uint256 disputeId) external view returns (Dispute memory) {
        if (disputeId >= _disputes.length) revert AdjudicatorUnknownDispute(disputeId, _disputes.length);
        return _disputes[disputeId];
    }

    /// @inheritdoc IAdjudicator
    function committee(uint256 disputeId) external view returns (address[] memory) {
        return _committees[disputeId];
    }

    /// @inheritdoc IAdjudicator
    function disputeCount() external view returns (uint256) {
        return _disputes.length;
    }

    /// @notice Challenge bond and minimum verifier stake (ProviderStaking's).
    function params() external view returns (uint256 bond, uint256 minVerifierStake) {
        return (_bond, _staking.minVerifierStake());
    }

    /// @notice The commitment a committee member submits: keccak256(abi.encode(disputeId, voter, fraud, salt)).
    function voteCommitment(uint256 disputeId, address voter, bool fraud, bytes32 salt) public pure returns (bytes32) {
        return keccak256(abi.encode(disputeId, voter, fraud, salt));
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────

    function _revealBuyer(
        JobId jobId,
        uint256 receiptId,
        uint256 sampleNo,
        BuyerLeaf calldata leaf,
        bytes32[] calldata proof,
        address[] calldata route,
        IJobMarket.PartRecord[] calldata parts,
        IJobMarket.Receipt memory r,
        ReceiptCheck storage c
    ) private returns (Sample storage s) {
        s = _requireOpenSample(jobId, receiptId, sampleNo, c, r);
        if (s.buyerRevealed) revert AdjudicatorAlreadyRevealed(sampleNo, type(uint256).max);
        _requireIndex(leaf.index, c, sampleNo, r);
        if (!MerkleProof.verifyCalldata(proof, r.outputRoot, ReceiptHashing.buyerLeaf(leaf.index, leaf.requestHash, leaf.responseHash, leaf.routeHash))) {
            revert AdjudicatorBadProof(leaf.index, r.outputRoot);
        }
        bytes32 routeHash = ReceiptHashing.hashRoute(route);
        if (routeHash != leaf.routeHash) revert AdjudicatorRouteMismatch(routeHash, leaf.routeHash);
        _requirePartsHash(parts, r.partsHash);
        uint256 stageCount = _market.job(jobId).stageCount;
        if (route.length != stageCount) revert AdjudicatorRouteLength(route.length, stageCount);
        for (uint256 st; st < stageCount; ++st) {
            bool found;
            for (uint256 i; i < parts.length && !found; ++i) {
                found = parts[i].stage == st && parts[i].provider == route[st];
            }
            if (!found) revert AdjudicatorRouteProviderMissing(st, route[st]);
        }
        s.requestHash = leaf.requestHash;
        s.responseHash = leaf.responseHash;
        s.routeHash = routeHash;
        s.buyerRevealed = true;
        emit BuyerLeafRevealed(jobId, receiptId, sampleNo, leaf.index, routeHash);
    }

    /// @dev Route and parts were checked by the caller.
    function _revealStage(
        JobId jobId,
        uint256 receiptId,
        uint256 sampleNo,
        uint256 partIndex,
        StageLeaf calldata leaf,
        bytes32[] calldata proof,
        address[] calldata route,
        IJobMarket.PartRecord[] calldata parts,
        IJobMarket.Receipt memory r,
        ReceiptCheck storage c,
        Sample storage s
    ) private {
        IJobMarket.PartRecord calldata part = parts[partIndex];
        uint256 stage = part.stage;
        if (part.provider != route[stage]) revert AdjudicatorWrongPart(partIndex, stage);
        if (s.stageMask & (1 << stage) != 0) revert AdjudicatorAlreadyRevealed(sampleNo, stage);
        _requireIndex(leaf.index, c, sampleNo, r);
        if (!MerkleProof.verifyCalldata(proof, part.root, ReceiptHashing.stageLeaf(leaf.index, leaf.inputHash, leaf.outputHash))) {
            revert AdjudicatorBadProof(leaf.index, part.root);
        }
        _reveals[_sampleKey(jobId, receiptId, sampleNo)][stage] =
            StageReveal({inputHash: leaf.inputHash, outputHash: leaf.outputHash, provider: part.provider});
        s.stageMask |= uint32(1 << stage);
        emit StageLeafRevealed(jobId, receiptId, part.provider, sampleNo, stage, leaf.inputHash, leaf.outputHash);
        _checkHandOffs(jobId, receiptId, sampleNo, stage, route, s, c);
    }

    function _ensureSeed(JobId jobId, uint256 receiptId) private returns (IJobMarket.Receipt memory r, ReceiptCheck storage c) {
        r = _requireReceipt(jobId, receiptId);
        c = _checks[_receiptKey(jobId, receiptId)];
        if (c.seed != bytes32(0)) return (r, c);
        bytes32 seed = _seedFor(jobId, receiptId, r);
        (, uint32 rate,,,,) = _registry.verificationParams(_market.job(jobId).modelId);
        uint256 k = Sampling.sampleCount(r.to - r.from, rate);
        c.seed = seed;
        c.samples = uint8(k);
        address[] memory drawn = VerifierDraw.draw(_staking, _market, jobId, seed, 1, new address[](0));
        c.verifier = drawn.length == 0 ? address(0) : drawn[0];
        emit SamplesDrawn(jobId, receiptId, seed, k, c.verifier);
    }

    /// @dev The seed is the hash of the block after submission, unknown when the receipt was sent.
    ///      If nobody fixed it within 256 blocks that hash is gone; the latest block's hash is used
    ///      instead (the caller then picks its timing: documented, and reveals are due anyway).
    function _seedFor(JobId jobId, uint256 receiptId, IJobMarket.Receipt memory r) private view returns (bytes32) {
        uint256 readyAt = uint256(r.submittedBlock) + 2;
        if (block.number < readyAt) revert AdjudicatorSeedNotReady(block.number, readyAt);
        bytes32 h = blockhash(r.submittedBlock + 1);
        if (h == bytes32(0)) h = blockhash(block.number - 1);
        return keccak256(abi.encode(h, jobId, receiptId));
    }

    function _checkHandOffs(
        JobId jobId,
        uint256 receiptId,
        uint256 sampleNo,
        uint256 stage,
        address[] calldata route,
        Sample storage s,
        ReceiptCheck storage c
    ) private {
        bytes32 key = _sampleKey(jobId, receiptId, sampleNo);
        StageReveal storage rev = _reveals[key][stage];
        uint256 last = route.length - 1;
        bool bad;
        if (stage == 0 && rev.inputHash != s.requestHash) bad = _faultHandOff(jobId, receiptId, route[0]);
        if (stage == last && rev.outputHash != s.responseHash) bad = _faultHandOff(jobId, receiptId, route[last]) || bad;
        if (stage > 0 && s.stageMask & (1 << (stage - 1)) != 0 && _reveals[key][stage - 1].outputHash != rev.inputHash) {
            bad = _faultHandOff(jobId, receiptId, route[stage - 1]) || bad;
            bad = _faultHandOff(jobId, receiptId, route[stage]) || bad;
        }
        if (stage < last && s.stageMask & (1 << (stage + 1)) != 0 && _reveals[key][stage + 1].inputHash != rev.outputHash) {
            bad = _faultHandOff(jobId, receiptId, route[stage]) || bad;
            bad = _faultHandOff(jobId, receiptId, route[stage + 1]) || bad;
        }
        if (bad) _resolveSample(jobId, receiptId, sampleNo, s, c, false);
        else if (s.stageMask == (1 << route.length) - 1) _resolveSample(jobId, receiptId, sampleNo, s, c, true);
    }

    /// @dev Hand-off mismatch: the party is slashed at once; the revealer earns the prover share.
    function _faultHandOff(JobId jobId, uint256 receiptId, address provider) private returns (bool) {
        address[] memory none;
        _market.fault(jobId, receiptId, provider, IJobMarket.FaultReason.HandOffMismatch, _prover(provider), none);
        return true;
    }

    /// @dev Whoever proved a fault earns the prover share, unless it is the faulted party itself
    ///      (a provider reporting its own missing reveal would get half its slash back): then the
    ///      treasury keeps it.
    function _prover(address faulted) private view returns (address) {
        return msg.sender == faulted ? address(0) : msg.sender;
    }

    function _resolveSample(JobId jobId, uint256 receiptId, uint256 sampleNo, Sample storage s, ReceiptCheck storage c, bool clean)
        private
    {
        s.resolved = true;
        c.resolved += 1;
        emit SampleResolved(jobId, receiptId, sampleNo, clean);
    }

    function _drawCommittee(uint256 disputeId, JobId jobId) private {
        Dispute storage d = _disputes[disputeId];
        address[] storage members = _committees[disputeId];
        bytes32 seed = keccak256(abi.encode(block.prevrandao, blockhash(block.number - 1), disputeId));
        address[] memory parties = new address[](1);
        parties[0] = d.challenger;
        address[] memory seats = VerifierDraw.draw(_staking, _market, jobId, seed, COMMITTEE_SIZE, parties);
        for (uint256 i; i < seats.length; ++i) {
            bool dup;
            for (uint256 j; j < members.length; ++j) dup = dup || members[j] == seats[i];
            if (!dup) members.push(seats[i]);
        }
        if (members.length == 0) revert AdjudicatorNoEligibleVerifiers(0, 1);
        emit CommitteeDrawn(disputeId, members);
    }

    function _voters(uint256 disputeId, uint8 vote) private view returns (address[] memory out) {
        address[] storage members = _committees[disputeId];
        uint256 n;
        for (uint256 i; i < members.length; ++i) if (_votes[disputeId][members[i]] == vote) ++n;
        out = new address[](n);
        n = 0;
        for (uint256 i; i < members.length; ++i) if (_votes[disputeId][members[i]] == vote) out[n++] = members[i];
    }

    function _close(uint256 disputeId, Dispute storage d, DisputeStatus status) private {
        d.status = status;
        _checks[_receiptKey(d.jobId, d.receiptId)].openDisputes -= 1;
        emit DisputeResolved(disputeId, d.jobId, d.accused, status);
    }

    function _payBond(Dispute storage d, address[] memory to, uint256[] memory amounts, IJobMarket.CreditKind kind) private {
        _market.payBond(d.jobId, to, amounts, kind);
    }

    function _one(address a) private pure returns (address[] memory out) {
        out = new address[](1);
        out[0] = a;
    }

    function _one(uint256 v) private pure returns (uint256[] memory out) {
        out = new uint256[](1);
        out[0] = v;
    }

    function _requireReceipt(JobId jobId, uint256 receiptId) private view returns (IJobMarket.Receipt memory r) {
        r = _market.receipt(jobId, receiptId);
        if (r.status == IJobMarket.ReceiptStatus.None) revert AdjudicatorBadSample(receiptId, 0);
    }

    function _requireOpenSample(JobId jobId, uint256 receiptId, uint256 sampleNo, ReceiptCheck storage c, IJobMarket.Receipt memory r)
        private
        view
        returns (Sample storage s)
    {
        if (sampleNo >= c.samples) revert AdjudicatorBadSample(sampleNo, c.samples);
        s = _samples[_sampleKey(jobId, receiptId, sampleNo)];
        if (s.resolved) revert AdjudicatorSampleResolved(sampleNo, receiptId);
        if (msg.sig != this.reportUnrevealed.selector) {
            uint256 deadline = _revealDeadline(jobId, r);
            if (_now() > deadline) revert AdjudicatorRevealWindowClosed(_now(), deadline);
        }
    }

    function _requireIndex(uint256 index, ReceiptCheck storage c, uint256 sampleNo, IJobMarket.Receipt memory r) private view {
        uint256 sampled = Sampling.sampleIndex(c.seed, sampleNo, c.samples, r.from, r.to - r.from);
        if (index != sampled) revert AdjudicatorWrongIndex(index, sampled);
    }

    function _requirePartsHash(IJobMarket.PartRecord[] calldata parts, bytes32 stored) private pure {
        bytes32 h = keccak256(abi.encode(parts));
        if (h != stored) revert IJobMarket.JobMarketPartsMismatch(h, stored);
    }

    function _requireOpenDispute(uint256 disputeId, DisputeKind kind) private view returns (Dispute storage d) {
        if (disputeId >= _disputes.length) revert AdjudicatorUnknownDispute(disputeId, _disputes.length);
        d = _disputes[disputeId];
        if (d.status != DisputeStatus.Open) revert AdjudicatorDisputeNotOpen(disputeId, d.status);
        if (d.kind != kind) revert AdjudicatorWrongDisputeKind(d.kind, kind);
    }

    function _requireMember(uint256 disputeId) private view {
        address[] storage members = _committees[disputeId];
        for (uint256 i; i < members.length; ++i) if (members[i] == msg.sender) return;
        revert AdjudicatorNotCommitteeMember(msg.sender, disputeId);
    }

    function _revealDeadline(JobId jobId, IJobMarket.Receipt memory r) private view returns (uint256) {
        return uint256(r.submittedAt) + _market.windowsOf(jobId).reveal;
    }

    function _receiptKey(JobId jobId, uint256 receiptId) private pure returns (bytes32) {
        return keccak256(abi.encode(jobId, receiptId));
    }

    function _sampleKey(JobId jobId, uint256 receiptId, uint256 sampleNo) private pure returns (bytes32) {
        return keccak256(abi.encode(jobId, receiptId, sampleNo));
    }

    function _now() private view returns (uint256) {
        return block.timestamp;
    }
}
