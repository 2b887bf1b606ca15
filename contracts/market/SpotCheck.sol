// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {MessageHashUtils} from "@openzeppelin/contracts/utils/cryptography/MessageHashUtils.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IProtocolParams} from "../interfaces/IProtocolParams.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {ISpotCheck} from "../interfaces/ISpotCheck.sol";
import {ReceiptHashing} from "../libraries/ReceiptHashing.sol";
import {Sampling} from "../libraries/Sampling.sol";
import {Seeds} from "../libraries/Seeds.sol";
import {JobId} from "../types/Ids.sol";

/// @title SpotCheck
/// @notice Spot checks of job receipts (issue 10; docs/PROTOCOL.md, "Trust"). The seed comes
///         from a block after submission (Seeds: re-anchored, never replaced by a present value)
///         and picks k = ceil(n · rate) stratified samples and one registered verifier per sample.
///         Anyone reveals sampled leaves with Merkle proofs. Every party answers for its own leaf:
///         - a missing buyer leaf faults the submitter, a missing stage leaf only its provider;
///         - stage 0's input differing from the buyer leaf's request hash, or the last stage's
///           output from its response hash, faults that stage (it signed a part over a buyer tree
///           contradicting its own leaf, which an honest provider refuses to do);
///         - a broken middle hand-off opens a claim: the upstream's HandOff signature over the
///           downstream's revealed input faults the upstream; none by the deadline faults the
///           downstream (an honest downstream checked and kept that signature before working).
///         Chain-proven faults pay no prover share (a sybil reporting its partner gets nothing).
///         Sample verifiers attest with a deposit; Disputes handles challenges.
contract SpotCheck is ISpotCheck {
    IJobMarket private immutable _market;
    IProviderStaking private immutable _staking;
    IProtocolParams private immutable _params;
    address private immutable _deployer;
    address private _disputes;

    mapping(bytes32 receiptKey => ReceiptCheck) private _checks;
    mapping(bytes32 sampleKey => Sample) private _samples;
    mapping(bytes32 sampleKey => mapping(uint256 stage => StageReveal)) private _reveals;

    /// @param market The job market (links this contract with setAdjudicators).
    /// @param staking Provider staking (the verifier draw).
    /// @param params Versioned parameters (windows and deposits, per job).
    constructor(IJobMarket market, IProviderStaking staking, IProtocolParams params) {
        _market = market;
        _staking = staking;
        _params = params;
        _deployer = msg.sender;
    }

    /// @notice Links the Disputes contract, once, by the deployer.
    function setDisputes(address disputes_) external {
        if (msg.sender != _deployer) revert SpotCheckNotDeployer(msg.sender, _deployer);
        if (_disputes != address(0)) revert SpotCheckDisputesAlreadySet(_disputes, disputes_);
        _disputes = disputes_;
    }

    // ─── Seeds and samples ───────────────────────────────────────────────────────────────

    /// @inheritdoc ISpotCheck
    function drawSamples(JobId jobId, uint256 receiptId) external {
        IJobMarket.Receipt memory r = _requireReceipt(jobId, receiptId);
        ReceiptCheck storage c = _checks[_receiptKey(jobId, receiptId)];
        if (c.seededAt != 0) return;
        uint256 anchor = c.anchorBlock == 0 ? r.submittedBlock : c.anchorBlock;
        (Seeds.Outcome o, bytes32 seed, uint256 next) = Seeds.fix(anchor, keccak256(abi.encode("samples", jobId, receiptId)));
        if (o == Seeds.Outcome.NotReady) revert SpotCheckSeedNotReady(block.number, Seeds.readyAt(anchor));
        if (o == Seeds.Outcome.Reanchored) {
            c.anchorBlock = uint64(next);
            // Saturating: the count is informative, 255 re-anchors take 65,000 blocks.
            if (c.reanchors < type(uint8).max) c.reanchors += 1;
            emit SeedReanchored(jobId, receiptId, next, c.reanchors);
            return;
        }
        // k <= MAX_SAMPLES (32): the job market bounds a receipt to MAX_SAMPLES / rate requests.
        uint256 k = Sampling.sampleCount(r.to - r.from, _market.job(jobId).samplingRatePpm);
        c.seed = seed;
        c.anchorBlock = uint64(anchor);
        c.seededAt = uint32(block.timestamp);
        c.samples = uint8(k);
        address[] memory verifiers = _staking.drawVerifiers(keccak256(abi.encode(seed, "verifiers")), k, _market.jobProviders(jobId));
        for (uint256 j; j < verifiers.length; ++j) _samples[_sampleKey(jobId, receiptId, j)].verifier = verifiers[j];
        emit SamplesDrawn(jobId, receiptId, seed, k, verifiers);
    }

    /// @inheritdoc ISpotCheck
    function sampleIndices(JobId jobId, uint256 receiptId) external view returns (uint256[] memory indices) {
        IJobMarket.Receipt memory r = _requireReceipt(jobId, receiptId);
        ReceiptCheck storage c = _requireSeeded(jobId, receiptId);
        uint256 k = c.samples;
        indices = new uint256[](k);
        for (uint256 j; j < k; ++j) indices[j] = Sampling.sampleIndex(c.seed, j, k, r.from, r.to - r.from);
    }

    // ─── Reveals ─────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISpotCheck
    function revealBuyerLeaf(
        JobId jobId,
        uint256 receiptId,
        uint256 sampleNo,
        BuyerLeaf calldata leaf,
        bytes32[] calldata proof,
        address[] calldata route,
        IJobMarket.PartRecord[] calldata parts
    ) external {
        Ctx memory x = _ctx(jobId, receiptId, sampleNo);
        _revealBuyer(x, leaf, proof, route, parts);
    }

    /// @inheritdoc ISpotCheck
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
        Ctx memory x = _ctx(jobId, receiptId, sampleNo);
        Sample storage s = _openSample(x);
        if (!s.buyerRevealed) revert SpotCheckBuyerLeafNotRevealed(sampleNo, receiptId);
        bytes32 routeHash = ReceiptHashing.hashRoute(route);
        if (routeHash != s.routeHash) revert SpotCheckRouteMismatch(routeHash, s.routeHash);
        _requirePartsHash(parts, x.receipt.partsHash);
        _revealStage(x, s, partIndex, leaf, proof, route, parts);
    }

    /// @inheritdoc ISpotCheck
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
        Ctx memory x = _ctx(jobId, receiptId, sampleNo);
        Sample storage s = _openSample(x);
        if (!s.buyerRevealed) {
            _revealBuyer(x, leaf, buyerProof, route, parts);
        } else {
            bytes32 routeHash = ReceiptHashing.hashRoute(route);
            if (routeHash != s.routeHash) revert SpotCheckRouteMismatch(routeHash, s.routeHash);
            _requirePartsHash(parts, x.receipt.partsHash);
        }
        for (uint256 i; i < stageLeaves.length; ++i) {
            _revealStage(x, s, partIndexes[i], stageLeaves[i], stageProofs[i], route, parts);
        }
    }

    /// @inheritdoc ISpotCheck
    function presentHandOff(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 boundary, bytes calldata signature) external {
        Ctx memory x = _ctx(jobId, receiptId, sampleNo);
        Sample storage s = _samples[x.sampleKey];
        if (s.resolved) revert SpotCheckSampleResolved(sampleNo, receiptId);
        if (boundary == 0 || boundary > 15 || s.claimMask & (1 << boundary) == 0) revert SpotCheckNoClaim(sampleNo, boundary);
        if (block.timestamp > s.claimDeadline) revert SpotCheckClaimExpired(block.timestamp, s.claimDeadline);
        address upstream = _reveals[x.sampleKey][boundary - 1].provider;
        bytes32 digest = MessageHashUtils.toTypedDataHash(
            _market.domainSeparator(),
            ReceiptHashing.handOffHash(JobId.unwrap(jobId), s.nonce, uint16(boundary), _reveals[x.sampleKey][boundary].inputHash)
        );
        (address signer,,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (signer != upstream) revert SpotCheckBadHandOffSignature(signer, upstream);
        s.claimMask &= ~uint16(1 << boundary);
        _fault(x, s, upstream, IJobMarket.FaultReason.HandOffContradicted);
        emit HandOffClaimAnswered(jobId, receiptId, sampleNo, boundary, upstream);
        _resolveIfDone(x, s);
    }

    /// @inheritdoc ISpotCheck
    function reportMissing(JobId jobId, uint256 receiptId, uint256 sampleNo, address[] calldata route) external {
        Ctx memory x = _ctx(jobId, receiptId, sampleNo);
        Sample storage s = _samples[x.sampleKey];
        if (s.resolved) revert SpotCheckSampleResolved(sampleNo, receiptId);
        if (block.timestamp <= x.revealDeadline) revert SpotCheckRevealWindowOpen(block.timestamp, x.revealDeadline);
        if (s.claimMask != 0 && block.timestamp <= s.claimDeadline) revert SpotCheckClaimsPending(block.timestamp, s.claimDeadline);
        if (!s.buyerRevealed) {
            _fault(x, s, x.receipt.submitter, IJobMarket.FaultReason.Unrevealed);
        } else {
            bytes32 routeHash = ReceiptHashing.hashRoute(route);
            if (routeHash != s.routeHash) revert SpotCheckRouteMismatch(routeHash, s.routeHash);
            for (uint256 st; st < route.length; ++st) {
                if (s.stageMask & (1 << st) == 0) _fault(x, s, route[st], IJobMarket.FaultReason.Unrevealed);
                // Claims only ever open at boundaries 1..S-1 (bit st), against the downstream stage st.
                if (s.claimMask & (1 << st) != 0) _fault(x, s, route[st], IJobMarket.FaultReason.HandOffUnbacked);
            }
            s.claimMask = 0;
        }
        _resolve(x, s);
    }

    // ─── Attestations ────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISpotCheck
    function attest(JobId jobId, uint256 receiptId, uint256 sampleNo) external {
        Ctx memory x = _ctx(jobId, receiptId, sampleNo);
        Sample storage s = _samples[x.sampleKey];
        if (msg.sender != s.verifier) revert SpotCheckNotSampleVerifier(msg.sender, s.verifier);
        if (block.timestamp >= x.challengeDeadline) revert SpotCheckAttestWindowClosed(block.timestamp, x.challengeDeadline);
        uint256 full = (1 << x.stageCount) - 1;
        if (!s.buyerRevealed || s.stageMask != full) revert SpotCheckNotFullyRevealed(s.stageMask, full);
        if (s.attested) revert SpotCheckAlreadyAttested(sampleNo, receiptId);
        s.attested = true;
        // samples <= 32, so attested fits uint8.
        unchecked {
            _checks[_receiptKey(jobId, receiptId)].attested += 1;
        }
        uint256 deposit = _params.paramsAt(x.paramsVersion).attestDeposit;
        _market.lockStake(msg.sender, jobId, deposit);
        emit SampleAttested(jobId, receiptId, sampleNo, msg.sender, deposit);
    }

    // ─── Disputes hooks ──────────────────────────────────────────────────────────────────

    /// @inheritdoc ISpotCheck
    function noteDispute(JobId jobId, uint256 receiptId, bool opened) external {
        _checkDisputes();
        ReceiptCheck storage c = _checks[_receiptKey(jobId, receiptId)];
        if (opened) c.openDisputes += 1;
        else c.openDisputes -= 1;
    }

    /// @inheritdoc ISpotCheck
    function forfeitAttestation(JobId jobId, uint256 receiptId, uint256 sampleNo) external returns (address verifier, uint256 deposit) {
        _checkDisputes();
        Sample storage s = _samples[_sampleKey(jobId, receiptId, sampleNo)];
        if (!s.attested || s.attestationForfeited) return (address(0), 0);
        s.attestationForfeited = true;
        verifier = s.verifier;
        deposit = _params.paramsAt(_market.job(jobId).paramsVersion).attestDeposit;
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────

    /// @inheritdoc ISpotCheck
    function settlementCheck(JobId jobId, uint256 receiptId)
        external
        view
        returns (bool clear, uint256 openIssues, address[] memory attesters, uint256 samples, uint256 deposit)
    {
        ReceiptCheck storage c = _checks[_receiptKey(jobId, receiptId)];
        if (c.seededAt == 0) return (false, type(uint256).max, attesters, 0, 0);
        IProtocolParams.Params memory p = _params.paramsAt(_market.job(jobId).paramsVersion);
        samples = c.samples;
        openIssues = samples - c.resolved + c.openDisputes;
        if (block.timestamp < uint256(c.seededAt) + p.reveal + p.challenge) openIssues += 1;
        clear = openIssues == 0;
        deposit = p.attestDeposit;
        attesters = new address[](c.attested);
        uint256 n;
        for (uint256 j; j < samples && n < attesters.length; ++j) {
            Sample storage s = _samples[_sampleKey(jobId, receiptId, j)];
            if (s.attested && !s.attestationForfeited) attesters[n++] = s.verifier;
        }
        // Forfeited attestations leave trailing empty entries: trim them.
        assembly ("memory-safe") {
            mstore(attesters, n)
        }
    }

    /// @inheritdoc ISpotCheck
    function receiptCheck(JobId jobId, uint256 receiptId) external view returns (ReceiptCheck memory) {
        return _checks[_receiptKey(jobId, receiptId)];
    }

    /// @inheritdoc ISpotCheck
    function sample(JobId jobId, uint256 receiptId, uint256 sampleNo) external view returns (Sample memory) {
        return _samples[_sampleKey(jobId, receiptId, sampleNo)];
    }

    /// @inheritdoc ISpotCheck
    function stageReveal(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external view returns (StageReveal memory) {
        return _reveals[_sampleKey(jobId, receiptId, sampleNo)][stage];
    }

    /// @inheritdoc ISpotCheck
    function deadlines(JobId jobId, uint256 receiptId) external view returns (uint256 reveal, uint256 challenge) {
        ReceiptCheck storage c = _checks[_receiptKey(jobId, receiptId)];
        if (c.seededAt == 0) return (0, 0);
        IProtocolParams.Params memory p = _params.paramsAt(_market.job(jobId).paramsVersion);
        reveal = uint256(c.seededAt) + p.reveal;
        challenge = reveal + p.challenge;
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────

    /// @dev What every sample operation needs, read once.
    struct Ctx {
        JobId jobId;
        uint256 receiptId;
        uint256 sampleNo;
        bytes32 sampleKey;
        IJobMarket.Receipt receipt;
        ReceiptCheck check;
        uint256 stageCount;
        uint256 paramsVersion;
        uint256 revealDeadline;
        uint256 challengeDeadline;
        uint256 handOffWindow;
    }

    function _ctx(JobId jobId, uint256 receiptId, uint256 sampleNo) private view returns (Ctx memory x) {
        x.jobId = jobId;
        x.receiptId = receiptId;
        x.sampleNo = sampleNo;
        x.receipt = _requireReceipt(jobId, receiptId);
        x.check = _requireSeeded(jobId, receiptId);
        if (sampleNo >= x.check.samples) revert SpotCheckBadSample(sampleNo, x.check.samples);
        x.sampleKey = _sampleKey(jobId, receiptId, sampleNo);
        IJobMarket.Job memory j = _market.job(jobId);
        x.stageCount = j.stageCount;
        x.paramsVersion = j.paramsVersion;
        IProtocolParams.Params memory p = _params.paramsAt(j.paramsVersion);
        x.revealDeadline = uint256(x.check.seededAt) + p.reveal;
        x.challengeDeadline = x.revealDeadline + p.challenge;
        x.handOffWindow = p.handOff;
    }

    function _openSample(Ctx memory x) private view returns (Sample storage s) {
        s = _samples[x.sampleKey];
        if (s.resolved) revert SpotCheckSampleResolved(x.sampleNo, x.receiptId);
        if (block.timestamp > x.revealDeadline) revert SpotCheckRevealWindowClosed(block.timestamp, x.revealDeadline);
    }

    function _revealBuyer(
        Ctx memory x,
        BuyerLeaf calldata leaf,
        bytes32[] calldata proof,
        address[] calldata route,
        IJobMarket.PartRecord[] calldata parts
    ) private {
        Sample storage s = _openSample(x);
        if (s.buyerRevealed) revert SpotCheckAlreadyRevealed(x.sampleNo, type(uint256).max);
        _requireIndex(x, leaf.index);
        bytes32 node = ReceiptHashing.buyerLeaf(leaf.index, leaf.nonce, leaf.units, leaf.requestHash, leaf.responseHash, leaf.routeHash);
        if (!MerkleProof.verifyCalldata(proof, x.receipt.outputRoot, node)) revert SpotCheckBadProof(leaf.index, x.receipt.outputRoot);
        bytes32 routeHash = ReceiptHashing.hashRoute(route);
        if (routeHash != leaf.routeHash) revert SpotCheckRouteMismatch(routeHash, leaf.routeHash);
        _requirePartsHash(parts, x.receipt.partsHash);
        if (route.length != x.stageCount) revert SpotCheckRouteLength(route.length, x.stageCount);
        for (uint256 st; st < route.length; ++st) {
            bool found;
            for (uint256 i; i < parts.length && !found; ++i) found = parts[i].stage == st && parts[i].provider == route[st];
            if (!found) revert SpotCheckRouteProviderMissing(st, route[st]);
        }
        s.requestHash = leaf.requestHash;
        s.responseHash = leaf.responseHash;
        s.routeHash = routeHash;
        s.nonce = leaf.nonce;
        s.units = leaf.units;
        s.buyerRevealed = true;
        emit BuyerLeafRevealed(x.jobId, x.receiptId, x.sampleNo, leaf.index, leaf.nonce, routeHash);
    }

    /// @dev Route and parts were checked by the caller.
    function _revealStage(
        Ctx memory x,
        Sample storage s,
        uint256 partIndex,
        StageLeaf calldata leaf,
        bytes32[] calldata proof,
        address[] calldata route,
        IJobMarket.PartRecord[] calldata parts
    ) private {
        IJobMarket.PartRecord calldata part = parts[partIndex];
        uint256 stage = part.stage;
        if (part.provider != route[stage]) revert SpotCheckWrongPart(partIndex, stage);
        if (s.stageMask & (1 << stage) != 0) revert SpotCheckAlreadyRevealed(x.sampleNo, stage);
        _requireIndex(x, leaf.index);
        if (!MerkleProof.verifyCalldata(proof, part.root, ReceiptHashing.stageLeaf(leaf.index, leaf.inputHash, leaf.outputHash))) {
            revert SpotCheckBadProof(leaf.index, part.root);
        }
        _reveals[x.sampleKey][stage] = StageReveal({inputHash: leaf.inputHash, outputHash: leaf.outputHash, provider: part.provider});
        s.stageMask |= uint16(1 << stage);
        emit StageLeafRevealed(x.jobId, x.receiptId, part.provider, x.sampleNo, stage, leaf.inputHash, leaf.outputHash);
        _checkHandOffs(x, s, stage, route);
    }

    /// @dev Boundaries 0 and S against the buyer leaf (the stage signed both), middle boundaries
    ///      against the neighbours revealed so far (a claim, answered by HandOff signatures).
    function _checkHandOffs(Ctx memory x, Sample storage s, uint256 stage, address[] calldata route) private {
        StageReveal storage rev = _reveals[x.sampleKey][stage];
        uint256 last = route.length - 1;
        if (stage == 0 && rev.inputHash != s.requestHash) _fault(x, s, route[0], IJobMarket.FaultReason.HandOffMismatch);
        if (stage == last && rev.outputHash != s.responseHash) _fault(x, s, route[last], IJobMarket.FaultReason.HandOffMismatch);
        if (stage > 0 && s.stageMask & (1 << (stage - 1)) != 0 && _reveals[x.sampleKey][stage - 1].outputHash != rev.inputHash) {
            _openClaim(x, s, stage, route);
        }
        if (stage < last && s.stageMask & (1 << (stage + 1)) != 0 && _reveals[x.sampleKey][stage + 1].inputHash != rev.outputHash) {
            _openClaim(x, s, stage + 1, route);
        }
        _resolveIfDone(x, s);
    }

    function _openClaim(Ctx memory x, Sample storage s, uint256 boundary, address[] calldata route) private {
        if (route[boundary - 1] == route[boundary]) {
            // One provider on both sides of the cut contradicted itself.
            _fault(x, s, route[boundary], IJobMarket.FaultReason.HandOffMismatch);
            return;
        }
        uint256 deadline = block.timestamp + x.handOffWindow;
        s.claimMask |= uint16(1 << boundary);
        s.claimDeadline = uint32(deadline);
        emit HandOffClaimOpened(x.jobId, x.receiptId, x.sampleNo, boundary, deadline);
    }

    function _resolveIfDone(Ctx memory x, Sample storage s) private {
        if (s.buyerRevealed && s.stageMask == (1 << x.stageCount) - 1 && s.claimMask == 0) _resolve(x, s);
    }

    function _resolve(Ctx memory x, Sample storage s) private {
        s.resolved = true;
        // samples <= 32, so resolved fits uint8.
        unchecked {
            _checks[_receiptKey(x.jobId, x.receiptId)].resolved += 1;
        }
        emit SampleResolved(x.jobId, x.receiptId, x.sampleNo, !s.faulted);
    }

    /// @dev A chain-proven fault: the whole slash goes to the treasury, nothing to whoever reported it.
    function _fault(Ctx memory x, Sample storage s, address provider, IJobMarket.FaultReason reason) private {
        s.faulted = true;
        _market.fault(x.jobId, x.receiptId, provider, reason, false);
    }

    function _requireIndex(Ctx memory x, uint256 index) private pure {
        uint256 k = x.check.samples;
        uint256 sampled = Sampling.sampleIndex(x.check.seed, x.sampleNo, k, x.receipt.from, x.receipt.to - x.receipt.from);
        if (index != sampled) revert SpotCheckWrongIndex(index, sampled);
    }

    function _requireReceipt(JobId jobId, uint256 receiptId) private view returns (IJobMarket.Receipt memory r) {
        r = _market.receipt(jobId, receiptId);
        if (r.status == IJobMarket.ReceiptStatus.None) revert SpotCheckUnknownReceipt(receiptId, 0);
    }

    function _requireSeeded(JobId jobId, uint256 receiptId) private view returns (ReceiptCheck storage c) {
        c = _checks[_receiptKey(jobId, receiptId)];
        if (c.seededAt == 0) revert SpotCheckSeedNotFixed(receiptId, c.anchorBlock);
    }

    function _requirePartsHash(IJobMarket.PartRecord[] calldata parts, bytes32 stored) private pure {
        bytes32 h = keccak256(abi.encode(parts));
        if (h != stored) revert IJobMarket.JobMarketPartsMismatch(h, stored);
    }

    function _checkDisputes() private view {
        if (msg.sender != _disputes) revert SpotCheckNotDisputes(msg.sender, _disputes);
    }

    function _receiptKey(JobId jobId, uint256 receiptId) private pure returns (bytes32) {
        return keccak256(abi.encode(jobId, receiptId));
    }

    function _sampleKey(JobId jobId, uint256 receiptId, uint256 sampleNo) private pure returns (bytes32) {
        return keccak256(abi.encode(jobId, receiptId, sampleNo));
    }
}
