// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IProtocolParams} from "../interfaces/IProtocolParams.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {ISpotCheck} from "../interfaces/ISpotCheck.sol";
import {FeeMath} from "../libraries/FeeMath.sol";
import {ReceiptHashing} from "../libraries/ReceiptHashing.sol";
import {Sampling} from "../libraries/Sampling.sol";
import {JobId, ModelId} from "../types/Ids.sol";
import {JobMarketAdmin} from "./JobMarketAdmin.sol";

/// @title JobMarket
/// @notice Jobs from signed quotes: escrow, session-key receipts with per-(stage, provider) roots,
///         counts and units, settlement into pull-payment credits, refunds, and slashing on faults
///         SpotCheck and Disputes prove. A job snapshots its ProtocolParams version when it opens.
///         ProtocolParams' pause stops new jobs only, never receipts, settlement or withdrawals.
contract JobMarket is IJobMarket, JobMarketAdmin, EIP712 {
    using SafeERC20 for IERC20;

    /// @notice Most quotes one job may accept.
    uint256 public constant MAX_QUOTES = 32;
    struct Membership {
        uint128 collateral;
        bool quoted;
        bool faulted;
    }

    uint256 private _jobCount;
    /// @dev Tokens held for the adjudicators: bonds, slashes and forfeited deposits awaiting payout.
    uint256 private _held;
    mapping(JobId jobId => Job) private _jobs;
    mapping(JobId jobId => mapping(uint256 receiptId => Receipt)) private _receipts;
    mapping(JobId jobId => mapping(bytes32 stageProvider => StageTerms)) private _terms;
    mapping(JobId jobId => mapping(address provider => Membership)) private _members;
    mapping(JobId jobId => address[]) private _memberList;
    mapping(address provider => mapping(uint256 nonce => bool)) private _usedNonces;
    /// @dev Credits plus CREDIT_SLOT_MARKER once an account was ever credited (0 before): withdraw
    ///      leaves the marker, so the slot never returns to zero and the next settlement after a
    ///      withdrawal updates a live slot (~5k gas) instead of re-creating it (~22k).
    mapping(address account => uint256) private _credits;
    uint256 private constant CREDIT_SLOT_MARKER = 1;

    /// @param token_ Payment token.
    /// @param staking_ Provider staking (this contract must be set as its job market).
    /// @param registry_ Model registry.
    /// @param params_ Versioned parameters (fees, collateral, windows, bonds, treasury, pause).
    constructor(IERC20 token_, IProviderStaking staking_, IModelRegistry registry_, IProtocolParams params_)
        JobMarketAdmin(token_, staking_, registry_, params_)
        EIP712("ShardMesh", "1")
    {}

    // ─── Jobs ────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IJobMarket
    function openJob(JobRequest calldata request, SignedQuote[] calldata quotes) external returns (JobId) {
        return _openJob(request, quotes);
    }

    /// @inheritdoc IJobMarket
    function openJobWithPermit(JobRequest calldata request, SignedQuote[] calldata quotes, PermitSig calldata permit)
        external
        returns (JobId)
    {
        uint256 needed = _escrowFor(request, quotes);
        // A front-run permit must not block the job: fall through to the existing allowance.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), needed, permit.deadline, permit.v, permit.r, permit.s) {}
            catch {}
        return _openJob(request, quotes);
    }

    /// @inheritdoc IJobMarket
    function escrowFor(JobRequest calldata request, SignedQuote[] calldata quotes) external view returns (uint256) {
        return _escrowFor(request, quotes);
    }

    /// @inheritdoc IJobMarket
    function cancelQuoteNonce(uint256 nonce) external {
        if (_usedNonces[msg.sender][nonce]) revert JobMarketQuoteNonceUsed(msg.sender, nonce);
        _usedNonces[msg.sender][nonce] = true;
        emit QuoteNonceCancelled(msg.sender, nonce);
    }

    /// @inheritdoc IJobMarket
    function closeJob(JobId jobId) external {
        Job storage j = _requireOpenJob(jobId);
        bool expired = _now() >= j.expiresAt;
        bool usedUp = msg.sender == j.buyer && j.units == j.maxUnits;
        if (j.pendingReceipts != 0 || !(expired || usedUp)) revert JobMarketCannotClose(jobId, j.pendingReceipts);
        uint256 refund = j.escrow;
        j.escrow = 0;
        j.status = JobStatus.Closed;
        if (refund > 0) _credit(j.buyer, jobId, j.modelId, refund, CreditKind.Refund);
        address[] storage list = _memberList[jobId];
        for (uint256 i; i < list.length; ++i) {
            Membership storage m = _members[jobId][list[i]];
            uint256 amount = m.collateral;
            if (amount == 0) continue;
            m.collateral = 0;
            _staking.unlock(list[i], JobId.unwrap(jobId), amount);
        }
        emit JobClosed(jobId, j.buyer, j.modelId, refund);
    }

    // ─── Receipts ────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IJobMarket
    function submitReceipt(
        JobId jobId,
        uint32 count,
        uint32 units,
        bytes32 outputRoot,
        bytes calldata sessionSignature,
        StagePart[] calldata parts
    ) external returns (uint256 receiptId) {
        Job storage j = _requireOpenJob(jobId);
        uint32 from = j.count;
        _requireValidReceiptHead(jobId, j, count, units, outputRoot, sessionSignature);
        // count > from and units - j.units >= count - from were checked.
        bytes32 partsHash;
        unchecked {
            partsHash = _recordParts(jobId, j.stageCount, count - from, units - j.units, outputRoot, parts);
        }
        receiptId = j.receiptCount;
        // receiptCount and pendingReceipts count receipts, each at least one unit, so they stay
        // below maxUnits (uint32).
        unchecked {
            j.receiptCount = uint32(receiptId + 1);
            j.pendingReceipts += 1;
        }
        j.count = count;
        j.units = units;
        _receipts[jobId][receiptId] = Receipt({
            outputRoot: outputRoot,
            partsHash: partsHash,
            submitter: msg.sender,
            from: from,
            to: count,
            submittedAt: uint32(_now()),
            submittedBlock: uint64(block.number),
            status: ReceiptStatus.Pending
        });
        emit ReceiptSubmitted(jobId, receiptId, msg.sender, from, count, units, outputRoot);
    }

    /// @inheritdoc IJobMarket
    function settle(JobId jobId, uint256 receiptId, PartRecord[] calldata parts) external {
        Job storage j = _requireJob(jobId);
        Receipt storage r = _requirePendingReceipt(jobId, j, receiptId);
        bytes32 partsHash = keccak256(abi.encode(parts));
        if (partsHash != r.partsHash) revert JobMarketPartsMismatch(partsHash, r.partsHash);
        (bool clear, uint256 openIssues, address[] memory attesters, uint256 samples, uint256 deposit) =
            ISpotCheck(_spotCheck).settlementCheck(jobId, receiptId);
        if (!clear) revert JobMarketReceiptNotClear(receiptId, openIssues);

        r.status = ReceiptStatus.Settled;
        j.pendingReceipts -= 1;
        ModelId modelId = j.modelId;
        uint256 providerPay;
        bool anyFaulted = j.faultedProviders != 0;
        for (uint256 i; i < parts.length; ++i) {
            PartRecord calldata p = parts[i];
            if (anyFaulted && _members[jobId][p.provider].faulted) continue;
            uint256 pay = uint256(p.newUnits) * _terms[jobId][_termsKey(p.stage, p.provider)].price;
            providerPay += pay;
            _credit(p.provider, jobId, modelId, pay, CreditKind.ProviderWork);
        }
        uint256 royalty = FeeMath.bps(providerPay, j.royaltyBps);
        // The verifier fee is split over the samples; only attested ones are paid, the rest stays
        // in escrow (refunded to the buyer when the job closes). samples >= attesters.length.
        uint256 perSample = samples == 0 ? 0 : FeeMath.bps(providerPay, j.verifierFeeBps) / samples;
        uint256 verifierFee = perSample * attesters.length;
        uint256 treasuryFee = FeeMath.bps(providerPay, j.treasuryFeeBps);
        uint256 total = providerPay + royalty + verifierFee + treasuryFee;
        if (total > j.escrow) revert JobMarketInsufficientEscrow(j.escrow, total);
        j.escrow -= total;
        if (royalty > 0) _credit(j.publisher, jobId, modelId, royalty, CreditKind.Royalty);
        for (uint256 i; i < attesters.length; ++i) {
            _staking.unlock(attesters[i], JobId.unwrap(jobId), deposit);
            if (perSample > 0) _credit(attesters[i], jobId, modelId, perSample, CreditKind.VerifierFee);
        }
        if (treasuryFee > 0) _credit(_params.treasury(), jobId, modelId, treasuryFee, CreditKind.TreasuryFee);
        emit ReceiptSettled(jobId, receiptId, modelId, providerPay, royalty, verifierFee, treasuryFee);
    }

    /// @inheritdoc IJobMarket
    function withdraw() external returns (uint256 amount) {
        amount = _creditsOf(msg.sender);
        if (amount == 0) revert JobMarketNothingToWithdraw(msg.sender, 0);
        _credits[msg.sender] = CREDIT_SLOT_MARKER;
        _token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ─── Adjudicator hooks ───────────────────────────────────────────────────────────────

    /// @inheritdoc IJobMarket
    function fault(JobId jobId, uint256 receiptId, address provider, FaultReason reason, bool hold) external returns (uint256 slashed) {
        _checkAdjudicator();
        Membership storage m = _members[jobId][provider];
        if (!m.quoted || m.faulted) return 0;
        m.faulted = true;
        // At most MAX_QUOTES (32) distinct providers per job.
        unchecked {
            _jobs[jobId].faultedProviders += 1;
        }
        slashed = m.collateral;
        m.collateral = 0;
        if (slashed > 0) {
            _staking.slash(provider, JobId.unwrap(jobId), slashed);
            if (hold) _held += slashed;
            else _credit(_params.treasury(), jobId, _jobs[jobId].modelId, slashed, CreditKind.SlashReward);
        }
        emit ProviderFaulted(jobId, provider, receiptId, reason, slashed);
    }

    /// @inheritdoc IJobMarket
    function takeBond(address from, uint256 amount) external {
        _checkAdjudicator();
        _held += amount;
        _token.safeTransferFrom(from, address(this), amount);
        emit BondTaken(from, amount);
    }

    /// @inheritdoc IJobMarket
    function payOut(JobId jobId, address[] calldata to, uint256[] calldata amounts, CreditKind kind) external {
        _checkAdjudicator();
        ModelId modelId = _jobs[jobId].modelId;
        address treasury;
        for (uint256 i; i < to.length; ++i) {
            if (amounts[i] == 0) continue;
            _held -= amounts[i];
            address who = to[i];
            if (who == address(0)) {
                if (treasury == address(0)) treasury = _params.treasury();
                who = treasury;
            }
            _credit(who, jobId, modelId, amounts[i], kind);
        }
    }

    /// @inheritdoc IJobMarket
    function lockStake(address account, JobId jobId, uint256 amount) external {
        _checkAdjudicator();
        _staking.lock(account, JobId.unwrap(jobId), amount);
    }

    /// @inheritdoc IJobMarket
    function unlockStake(address account, JobId jobId, uint256 amount) external {
        _checkAdjudicator();
        _staking.unlock(account, JobId.unwrap(jobId), amount);
    }

    /// @inheritdoc IJobMarket
    function slashStake(address account, JobId jobId, uint256 amount) external {
        _checkAdjudicator();
        _held += amount;
        _staking.slash(account, JobId.unwrap(jobId), amount);
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IJobMarket
    function job(JobId jobId) external view returns (Job memory) {
        return _requireJob(jobId);
    }

    /// @inheritdoc IJobMarket
    function receipt(JobId jobId, uint256 receiptId) external view returns (Receipt memory) {
        return _receipts[jobId][receiptId];
    }

    /// @inheritdoc IJobMarket
    function stageTerms(JobId jobId, uint256 stage, address provider) external view returns (StageTerms memory) {
        return _terms[jobId][_termsKey(stage, provider)];
    }

    /// @inheritdoc IJobMarket
    function isJobProvider(JobId jobId, address account) external view returns (bool) {
        return _members[jobId][account].quoted;
    }

    /// @inheritdoc IJobMarket
    function jobProviders(JobId jobId) external view returns (address[] memory) {
        return _memberList[jobId];
    }

    /// @inheritdoc IJobMarket
    function isFaulted(JobId jobId, address provider) external view returns (bool) {
        return _members[jobId][provider].faulted;
    }

    /// @inheritdoc IJobMarket
    function collateralOf(JobId jobId, address provider) external view returns (uint256) {
        return _members[jobId][provider].collateral;
    }

    /// @inheritdoc IJobMarket
    function credits(address account) external view returns (uint256) {
        return _creditsOf(account);
    }

    /// @inheritdoc IJobMarket
    function quoteNonceUsed(address provider, uint256 nonce) external view returns (bool) {
        return _usedNonces[provider][nonce];
    }

    /// @inheritdoc IJobMarket
    function jobCount() external view returns (uint256) {
        return _jobCount;
    }

    /// @notice Tokens held for the adjudicators (bonds, dispute slashes, forfeited deposits, unclaimed juror rewards).
    function bondsHeld() external view returns (uint256) {
        return _held;
    }

    /// @inheritdoc IJobMarket
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ─── Internals ───────────────────────────────────────────────────────────────────────

    function _openJob(JobRequest calldata request, SignedQuote[] calldata quotes) private returns (JobId jobId) {
        (uint32 version, IProtocolParams.Params memory p) = _params.openTerms();
        IModelRegistry.Model memory model = _requireValidRequest(request, quotes.length, p.maxJobDuration);
        jobId = JobId.wrap(++_jobCount);
        uint256 horizon = _horizon(request.maxUnits, model.params.samplingRatePpm);
        uint256[] memory maxPrice = new uint256[](model.params.stageCount);
        bool[] memory covered = new bool[](model.params.stageCount);
        for (uint256 i; i < quotes.length; ++i) {
            Quote calldata q = quotes[i].quote;
            _requireValidQuote(request, model, quotes[i]);
            _usedNonces[q.provider][q.nonce] = true;
            if (q.price > maxPrice[q.stage]) maxPrice[q.stage] = q.price;
            covered[q.stage] = true;
            uint256 collateral = _recordQuote(jobId, q, _collateral(p, q.price, horizon));
            emit QuoteAccepted(jobId, q.provider, q.modelId, q.stage, q.price, q.maxUnits, collateral, q.nonce);
        }
        uint256 priceSum;
        for (uint256 s; s < covered.length; ++s) {
            if (!covered[s]) revert JobMarketStageWithoutQuote(s, covered.length);
            priceSum += maxPrice[s];
        }
        uint256 escrow =
            request.maxUnits * FeeMath.perInference(priceSum, uint256(model.params.royaltyBps) + p.verifierFeeBps + p.treasuryFeeBps);
        Job storage j = _jobs[jobId];
        j.buyer = msg.sender;
        j.maxUnits = request.maxUnits;
        j.stageCount = model.params.stageCount;
        j.royaltyBps = model.params.royaltyBps;
        j.sessionKey = request.sessionKey;
        j.expiresAt = request.expiresAt;
        j.publisher = model.publisher;
        j.verifierFeeBps = p.verifierFeeBps;
        j.treasuryFeeBps = p.treasuryFeeBps;
        j.status = JobStatus.Open;
        j.paramsVersion = version;
        j.samplingRatePpm = model.params.samplingRatePpm;
        j.modelId = request.modelId;
        j.escrow = escrow;
        address[] storage list = _memberList[jobId];
        for (uint256 i; i < list.length; ++i) {
            _staking.lock(list[i], JobId.unwrap(jobId), _members[jobId][list[i]].collateral);
        }
        _token.safeTransferFrom(msg.sender, address(this), escrow);
        emit JobOpened(jobId, msg.sender, request.modelId, request.sessionKey, request.maxUnits, escrow, request.expiresAt, version);
    }

    /// @dev Requests per expected sample, H = min(maxUnits, ⌈1e6 / rate⌉): collateral covers this
    ///      many requests' worth (docs/PROTOCOL.md, Economics (a)).
    function _horizon(uint256 maxUnits, uint256 ratePpm) private pure returns (uint256) {
        uint256 perSample = (Sampling.PPM + ratePpm - 1) / ratePpm;
        return maxUnits < perSample ? maxUnits : perSample;
    }

    /// @dev C = max(minCollateral, ⌈κ · price · H⌉) for one quote.
    function _collateral(IProtocolParams.Params memory p, uint256 price, uint256 horizon) private pure returns (uint256) {
        uint256 c = FeeMath.ceilBps(price * horizon, p.collateralMultipleBps);
        return c > p.minCollateral ? c : p.minCollateral;
    }

    function _recordQuote(JobId jobId, Quote calldata q, uint256 collateral) private returns (uint256) {
        StageTerms storage t = _terms[jobId][_termsKey(q.stage, q.provider)];
        if (t.maxUnits != 0) revert JobMarketDuplicateQuote(q.stage, q.provider);
        t.price = q.price;
        t.maxUnits = q.maxUnits;
        Membership storage m = _members[jobId][q.provider];
        if (!m.quoted) {
            m.quoted = true;
            _memberList[jobId].push(q.provider);
        }
        m.collateral += uint128(collateral);
        return collateral;
    }

    function _escrowFor(JobRequest calldata request, SignedQuote[] calldata quotes) private view returns (uint256) {
        IModelRegistry.Model memory model = _registry.model(request.modelId);
        (, IProtocolParams.Params memory p) = _params.current();
        uint256[] memory maxPrice = new uint256[](model.params.stageCount);
        for (uint256 i; i < quotes.length; ++i) {
            Quote calldata q = quotes[i].quote;
            if (q.stage < maxPrice.length && q.price > maxPrice[q.stage]) maxPrice[q.stage] = q.price;
        }
        uint256 priceSum;
        for (uint256 s; s < maxPrice.length; ++s) priceSum += maxPrice[s];
        return request.maxUnits * FeeMath.perInference(priceSum, uint256(model.params.royaltyBps) + p.verifierFeeBps + p.treasuryFeeBps);
    }

    function _requireValidRequest(JobRequest calldata request, uint256 quoteCount, uint256 maxJobDuration)
        private
        view
        returns (IModelRegistry.Model memory model)
    {
        model = _registry.model(request.modelId);
        if (model.deprecated) revert JobMarketModelDeprecated(request.modelId, request.modelId);
        if (request.maxUnits == 0) revert JobMarketZeroUnits(0, 1);
        if (request.expiresAt <= _now()) revert JobMarketBadExpiry(request.expiresAt, _now());
        if (request.expiresAt > _now() + maxJobDuration) revert JobMarketJobTooLong(request.expiresAt, _now() + maxJobDuration);
        if (request.sessionKey == address(0)) revert JobMarketZeroSessionKey(address(0), msg.sender);
        if (quoteCount > MAX_QUOTES) revert JobMarketTooManyQuotes(quoteCount, MAX_QUOTES);
    }

    function _requireValidQuote(JobRequest calldata request, IModelRegistry.Model memory model, SignedQuote calldata sq)
        private
        view
    {
        Quote calldata q = sq.quote;
        if (ModelId.unwrap(q.modelId) != ModelId.unwrap(request.modelId)) {
            revert JobMarketQuoteModelMismatch(q.modelId, request.modelId);
        }
        if (q.stage >= model.params.stageCount) revert JobMarketQuoteStageOutOfRange(q.stage, model.params.stageCount);
        if (q.buyer != msg.sender) revert JobMarketQuoteWrongBuyer(q.buyer, msg.sender);
        if (q.expiry < _now()) revert JobMarketQuoteExpired(q.expiry, _now());
        if (request.expiresAt > q.maxJobExpiry) revert JobMarketJobOutlivesQuote(request.expiresAt, q.maxJobExpiry);
        uint256 floor = model.params.priceFloors[q.stage];
        if (q.price < floor) revert JobMarketQuoteBelowFloor(q.price, floor);
        if (q.maxUnits == 0) revert JobMarketQuoteMaxUnitsTooLow(0, 1);
        if (_usedNonces[q.provider][q.nonce]) revert JobMarketQuoteNonceUsed(q.provider, q.nonce);
        address signer = _recover(_hashTypedDataV4(ReceiptHashing.quoteHash(q)), sq.signature);
        if (signer != q.provider) revert JobMarketBadQuoteSignature(signer, q.provider);
    }

    function _requireValidReceiptHead(
        JobId jobId,
        Job storage j,
        uint32 count,
        uint32 units,
        bytes32 outputRoot,
        bytes calldata sessionSignature
    ) private view {
        if (_now() >= j.expiresAt) revert JobMarketJobExpired(j.expiresAt, _now());
        if (count <= j.count) revert JobMarketCountNotIncreasing(count, j.count);
        if (units > j.maxUnits) revert JobMarketUnitsAboveMax(units, j.maxUnits);
        if (units < j.units || units - j.units < count - j.count) revert JobMarketUnitsBelowCount(units, count - j.count);
        uint256 maxRequests = (Sampling.MAX_SAMPLES * Sampling.PPM) / j.samplingRatePpm;
        if (count - j.count > maxRequests) revert JobMarketReceiptTooLarge(count - j.count, maxRequests);
        bytes32 digest = _hashTypedDataV4(ReceiptHashing.buyerReceiptHash(JobId.unwrap(jobId), count, units, outputRoot));
        address signer = _recover(digest, sessionSignature);
        if (signer != j.sessionKey) revert JobMarketBadSessionSignature(signer, j.sessionKey);
    }

    /// @dev Checks every part (sorted by stage then provider; per stage the new counts add up to
    ///      the receipt's new requests and the new units to its new units), bumps each provider's
    ///      receipted counts and returns the parts hash.
    function _recordParts(
        JobId jobId,
        uint256 stageCount,
        uint256 newRequests,
        uint256 newUnits,
        bytes32 outputRoot,
        StagePart[] calldata parts
    ) private returns (bytes32) {
        PartRecord[] memory records = new PartRecord[](parts.length);
        bool submitterIsPart;
        uint256 stage;
        uint256 stageSum;
        uint256 unitSum;
        for (uint256 i; i < parts.length; ++i) {
            StagePart calldata p = parts[i];
            if (i > 0) {
                StagePart calldata prev = parts[i - 1];
                bool ordered = p.stage > prev.stage || (p.stage == prev.stage && p.provider > prev.provider);
                if (!ordered) revert JobMarketPartsNotSorted(i, p.stage);
            }
            if (p.stage != stage) {
                _requireStageTotals(stage, stageSum, newRequests, unitSum, newUnits);
                if (p.stage != stage + 1) revert JobMarketStageCountMismatch(stage + 1, p.stage, stage + 1);
                stage = p.stage;
                stageSum = 0;
                unitSum = 0;
            }
            records[i] = _recordPart(jobId, outputRoot, p);
            stageSum += records[i].newCount;
            unitSum += records[i].newUnits;
            if (p.provider == msg.sender) submitterIsPart = true;
        }
        if (parts.length == 0 || stage != stageCount - 1) revert JobMarketStageCountMismatch(stage, stageSum, newRequests);
        _requireStageTotals(stage, stageSum, newRequests, unitSum, newUnits);
        if (!submitterIsPart) revert JobMarketSubmitterNotProvider(msg.sender, jobId);
        return keccak256(abi.encode(records));
    }

    function _requireStageTotals(uint256 stage, uint256 counted, uint256 requests, uint256 unitsCounted, uint256 units) private pure {
        if (counted != requests) revert JobMarketStageCountMismatch(stage, counted, requests);
        if (unitsCounted != units) revert JobMarketStageUnitsMismatch(stage, unitsCounted, units);
    }

    function _recordPart(JobId jobId, bytes32 outputRoot, StagePart calldata p) private returns (PartRecord memory rec) {
        StageTerms storage t = _terms[jobId][_termsKey(p.stage, p.provider)];
        if (t.maxUnits == 0) revert JobMarketProviderNotQuoted(p.stage, p.provider);
        if (_members[jobId][p.provider].faulted) revert JobMarketProviderFaulted(p.provider, jobId);
        if (p.count <= t.served) revert JobMarketProviderCountNotIncreasing(p.count, t.served);
        if (p.units > t.maxUnits) revert JobMarketProviderUnitsAboveQuote(p.units, t.maxUnits);
        // p.count > t.served was checked above.
        uint32 newCount;
        unchecked {
            newCount = p.count - t.served;
        }
        if (p.units < t.servedUnits || p.units - t.servedUnits < newCount) {
            revert JobMarketProviderUnitsBelowCount(p.units, newCount);
        }
        bytes32 digest = _hashTypedDataV4(
            ReceiptHashing.providerReceiptHash(JobId.unwrap(jobId), p.stage, p.count, p.units, p.root, outputRoot)
        );
        address signer = _recover(digest, p.signature);
        if (signer != p.provider) revert JobMarketBadProviderSignature(signer, p.provider);
        // p.units >= t.servedUnits was checked above.
        unchecked {
            rec = PartRecord({stage: p.stage, provider: p.provider, newCount: newCount, newUnits: p.units - t.servedUnits, root: p.root});
        }
        t.served = p.count;
        t.servedUnits = p.units;
        emit ReceiptPartRecorded(jobId, _jobs[jobId].receiptCount, p.provider, p.stage, newCount, rec.newUnits, p.root);
    }

    function _credit(address account, JobId jobId, ModelId modelId, uint256 amount, CreditKind kind) private {
        uint256 held = _credits[account];
        _credits[account] = (held == 0 ? CREDIT_SLOT_MARKER : held) + amount;
        emit Credited(account, jobId, modelId, amount, kind);
    }

    function _creditsOf(address account) private view returns (uint256) {
        uint256 held = _credits[account];
        // A non-zero slot holds at least the marker.
        unchecked {
            return held == 0 ? 0 : held - CREDIT_SLOT_MARKER;
        }
    }

    function _recover(bytes32 digest, bytes calldata signature) private pure returns (address signer) {
        (signer,,) = ECDSA.tryRecoverCalldata(digest, signature);
    }

    function _requireJob(JobId jobId) private view returns (Job storage j) {
        j = _jobs[jobId];
        if (j.status == JobStatus.None) revert JobMarketUnknownJob(jobId, _jobCount);
    }

    function _requireOpenJob(JobId jobId) private view returns (Job storage j) {
        j = _requireJob(jobId);
        if (j.status != JobStatus.Open) revert JobMarketJobNotOpen(jobId, j.status);
    }

    function _requirePendingReceipt(JobId jobId, Job storage j, uint256 receiptId) private view returns (Receipt storage r) {
        if (receiptId >= j.receiptCount) revert JobMarketUnknownReceipt(receiptId, j.receiptCount);
        r = _receipts[jobId][receiptId];
        if (r.status != ReceiptStatus.Pending) revert JobMarketReceiptNotPending(receiptId, r.status);
    }

    function _termsKey(uint256 stage, address provider) private pure returns (bytes32) {
        return bytes32((stage << 160) | uint160(provider));
    }
}
