// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {JobId, ModelId} from "../types/Ids.sol";

/// @title IJobMarket
/// @notice Jobs: quotes, escrow, receipts and settlement. Samples and reveals live in SpotCheck,
///         challenges in Disputes (the two adjudicators), which report faults back here and hold
///         bonds, deposits and slashes in this contract. All payouts are pull-payment credits.
/// @dev Carries the token's ERC-6093 errors in its ABI: when the escrow or bond transfer fails
///      (`ERC20InsufficientAllowance`, `ERC20InsufficientBalance`), a caller holding only this
///      contract's ABI decodes the revert by name instead of "unknown custom error".
interface IJobMarket is IERC20Errors {
    /// @notice A provider's EIP-712 offer for one stage of one model, made out to one buyer: `price`
    ///         per unit (one per inference; a language model may count tokens) up to `maxUnits`,
    ///         usable in a job opened by `expiry` that ends by `maxJobExpiry`.
    struct Quote {
        ModelId modelId;
        uint16 stage;
        address provider;
        address buyer;
        uint96 price;
        uint32 maxUnits;
        uint64 expiry;
        uint64 maxJobExpiry;
        uint256 nonce;
    }

    /// @notice A quote with the provider's signature.
    struct SignedQuote {
        Quote quote;
        bytes signature;
    }

    /// @notice What the buyer asks for when opening a job.
    struct JobRequest {
        ModelId modelId;
        uint32 maxUnits;
        uint64 expiresAt;
        address sessionKey;
    }

    /// @notice EIP-2612 permit for the escrow, signed by the buyer.
    struct PermitSig {
        uint256 deadline;
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice One (stage, provider) part of a receipt as submitted: cumulative requests and units
    ///         at that stage, and the provider's signature.
    struct StagePart {
        uint16 stage;
        address provider;
        uint32 count;
        uint32 units;
        bytes32 root;
        bytes signature;
    }

    /// @notice One (stage, provider) part as recorded: `newCount` leaves worth `newUnits` units in
    ///         this receipt under `root`. The receipt stores keccak256(abi.encode(PartRecord[]));
    ///         reveal and settle pass them back.
    struct PartRecord {
        uint16 stage;
        address provider;
        uint32 newCount;
        uint32 newUnits;
        bytes32 root;
    }

    enum JobStatus {
        None,
        Open,
        Closed
    }

    enum ReceiptStatus {
        None,
        Pending,
        Settled
    }

    /// @notice A job. `count` counts requests (what receipts number and samples pick from),
    ///         `units` what is paid for. `paramsVersion` is the ProtocolParams version it opened
    ///         under (its windows, shares and bonds for life). Packed in 6 slots: (buyer, maxUnits,
    ///         count, stageCount, royaltyBps), (sessionKey, expiresAt, receiptCount), (publisher,
    ///         pendingReceipts, fees, status, faultedProviders), (units, paramsVersion,
    ///         samplingRatePpm), modelId, escrow.
    struct Job {
        address buyer;
        uint32 maxUnits;
        uint32 count;
        uint16 stageCount;
        uint16 royaltyBps;
        address sessionKey;
        uint64 expiresAt;
        uint32 receiptCount;
        address publisher;
        uint32 pendingReceipts;
        uint16 verifierFeeBps;
        uint16 treasuryFeeBps;
        JobStatus status;
        uint8 faultedProviders;
        uint32 units;
        uint32 paramsVersion;
        uint32 samplingRatePpm;
        ModelId modelId;
        uint256 escrow;
    }

    /// @notice A receipt: only roots and counts.
    struct Receipt {
        bytes32 outputRoot;
        bytes32 partsHash;
        address submitter;
        uint32 from;
        uint32 to;
        uint32 submittedAt;
        uint64 submittedBlock;
        ReceiptStatus status;
    }

    /// @notice A provider's terms for one stage of a job: price per unit, its unit cap, and the
    ///         requests and units receipted so far.
    struct StageTerms {
        uint96 price;
        uint32 maxUnits;
        uint32 served;
        uint32 servedUnits;
    }

    /// @notice Why a credit was made (for the earnings dashboard).
    enum CreditKind {
        ProviderWork,
        Royalty,
        VerifierFee,
        TreasuryFee,
        SlashReward,
        BondReturn,
        BondAward,
        CommitteeFee,
        Refund
    }

    /// @notice Why a provider was found at fault. HandOffMismatch: its leaf contradicts the buyer
    ///         leaf of a tree it signed (stage 0 / last stage), or both sides of a cut it served.
    ///         HandOffContradicted: it signed a HandOff for a value other than the one it revealed.
    ///         HandOffUnbacked: it revealed an input its upstream never signed for.
    enum FaultReason {
        Unrevealed,
        HandOffMismatch,
        ZkProofMissing,
        CommitteeVerdict,
        HandOffContradicted,
        HandOffUnbacked
    }

    error JobMarketUnknownJob(JobId jobId, uint256 jobCount);
    error JobMarketJobNotOpen(JobId jobId, JobStatus status);
    error JobMarketModelDeprecated(ModelId modelId, ModelId requested);
    error JobMarketZeroUnits(uint256 maxUnits, uint256 minimum);
    error JobMarketBadExpiry(uint256 expiresAt, uint256 nowTime);
    error JobMarketZeroSessionKey(address sessionKey, address buyer);
    error JobMarketQuoteModelMismatch(ModelId quoteModel, ModelId jobModel);
    error JobMarketQuoteStageOutOfRange(uint256 stage, uint256 stageCount);
    error JobMarketQuoteExpired(uint256 expiry, uint256 nowTime);
    error JobMarketQuoteBelowFloor(uint256 price, uint256 floor);
    error JobMarketQuoteMaxUnitsTooLow(uint256 maxUnits, uint256 minimum);
    /// @notice The quote is made out to another buyer.
    error JobMarketQuoteWrongBuyer(address quoteBuyer, address buyer);
    /// @notice The job would end after the latest job expiry the quote allows.
    error JobMarketJobOutlivesQuote(uint256 expiresAt, uint256 maxJobExpiry);
    /// @notice The job would last longer than the parameters' maximum job duration.
    error JobMarketJobTooLong(uint256 expiresAt, uint256 latest);
    /// @notice A receipt's units grow by less than its requests (every request is at least one unit).
    error JobMarketUnitsBelowCount(uint256 newUnits, uint256 newRequests);
    /// @notice More requests in one receipt than its sample bound allows (k = ceil(n·rate) ≤ MAX_SAMPLES).
    error JobMarketReceiptTooLarge(uint256 requests, uint256 maxRequests);
    error JobMarketQuoteNonceUsed(address provider, uint256 nonce);
    error JobMarketBadQuoteSignature(address signer, address provider);
    error JobMarketDuplicateQuote(uint256 stage, address provider);
    error JobMarketStageWithoutQuote(uint256 stage, uint256 stageCount);
    error JobMarketTooManyQuotes(uint256 count, uint256 maxQuotes);
    error JobMarketInsufficientEscrow(uint256 available, uint256 needed);
    error JobMarketJobExpired(uint256 expiresAt, uint256 nowTime);
    error JobMarketCountNotIncreasing(uint256 count, uint256 previous);
    error JobMarketUnitsAboveMax(uint256 units, uint256 maxUnits);
    error JobMarketBadSessionSignature(address signer, address sessionKey);
    error JobMarketPartsNotSorted(uint256 index, uint256 stage);
    error JobMarketProviderNotQuoted(uint256 stage, address provider);
    error JobMarketProviderFaulted(address provider, JobId jobId);
    error JobMarketBadProviderSignature(address signer, address provider);
    error JobMarketProviderCountNotIncreasing(uint256 count, uint256 previous);
    error JobMarketProviderUnitsAboveQuote(uint256 units, uint256 maxUnits);
    error JobMarketProviderUnitsBelowCount(uint256 newUnits, uint256 newCount);
    error JobMarketStageCountMismatch(uint256 stage, uint256 counted, uint256 required);
    error JobMarketStageUnitsMismatch(uint256 stage, uint256 counted, uint256 required);
    error JobMarketSubmitterNotProvider(address submitter, JobId jobId);
    error JobMarketUnknownReceipt(uint256 receiptId, uint256 receiptCount);
    error JobMarketReceiptNotPending(uint256 receiptId, ReceiptStatus status);
    error JobMarketReceiptNotClear(uint256 receiptId, uint256 openIssues);
    error JobMarketPartsMismatch(bytes32 partsHash, bytes32 storedHash);
    error JobMarketCannotClose(JobId jobId, uint256 pendingReceipts);
    error JobMarketNotBuyer(address caller, address buyer);
    error JobMarketNothingToWithdraw(address account, uint256 credit);
    error JobMarketNotAdjudicator(address caller, address adjudicator);
    error JobMarketAdjudicatorAlreadySet(address current, address proposed);
    error JobMarketNotDeployer(address caller, address deployer);
    error JobMarketZeroAddress(uint256 which, uint256 required);

    event JobOpened(
        JobId indexed jobId,
        address indexed buyer,
        ModelId indexed modelId,
        address sessionKey,
        uint256 maxUnits,
        uint256 escrow,
        uint256 expiresAt,
        uint256 paramsVersion
    );
    event QuoteAccepted(
        JobId indexed jobId,
        address indexed provider,
        ModelId indexed modelId,
        uint256 stage,
        uint256 price,
        uint256 maxUnits,
        uint256 collateral,
        uint256 nonce
    );
    event QuoteNonceCancelled(address indexed provider, uint256 nonce);
    event ReceiptSubmitted(
        JobId indexed jobId, uint256 indexed receiptId, address indexed submitter, uint256 from, uint256 to, uint256 units, bytes32 outputRoot
    );
    event ReceiptPartRecorded(
        JobId indexed jobId,
        uint256 indexed receiptId,
        address indexed provider,
        uint256 stage,
        uint256 newCount,
        uint256 newUnits,
        bytes32 root
    );
    event ReceiptSettled(
        JobId indexed jobId,
        uint256 indexed receiptId,
        ModelId indexed modelId,
        uint256 providerPay,
        uint256 royalty,
        uint256 verifierFee,
        uint256 treasuryFee
    );
    event Credited(address indexed account, JobId indexed jobId, ModelId indexed modelId, uint256 amount, CreditKind kind);
    event Withdrawn(address indexed account, uint256 amount);
    event JobClosed(JobId indexed jobId, address indexed buyer, ModelId indexed modelId, uint256 refund);
    event ProviderFaulted(JobId indexed jobId, address indexed provider, uint256 indexed receiptId, FaultReason reason, uint256 slashed);
    event BondTaken(address indexed from, uint256 amount);
    event AdjudicatorsSet(address indexed spotCheck, address indexed disputes);

    /// @notice Opens a job with quotes for every stage, pulling the escrow by transferFrom. Every
    ///         quote must be made out to the caller and allow the job's expiry; the job lasts at
    ///         most the parameters' maxJobDuration. Locks each provider's collateral
    ///         max(minCollateral, κ · price · min(maxUnits, ⌈1e6 / samplingRatePpm⌉)) per quote.
    /// @param request Model, max units, expiry and session key.
    /// @param quotes Signed quotes: at least one per stage, several per stage allowed.
    /// @return jobId The new job.
    function openJob(JobRequest calldata request, SignedQuote[] calldata quotes) external returns (JobId jobId);

    /// @notice Same as openJob, with an EIP-2612 permit for exactly the escrow amount.
    function openJobWithPermit(JobRequest calldata request, SignedQuote[] calldata quotes, PermitSig calldata permit)
        external
        returns (JobId jobId);

    /// @notice Escrow `openJob` would pull for these parameters.
    function escrowFor(JobRequest calldata request, SignedQuote[] calldata quotes) external view returns (uint256);

    /// @notice Invalidates one of the caller's quote nonces.
    function cancelQuoteNonce(uint256 nonce) external;

    /// @notice Submits a receipt for requests [previous count, count) of a job. The caller must be
    ///         one of the providers in `parts`. At most MAX_SAMPLES × 1e6 / samplingRatePpm requests.
    /// @param jobId The job.
    /// @param count Cumulative request count the buyer signed.
    /// @param units Cumulative units the buyer signed (each request at least one).
    /// @param outputRoot Merkle root of the buyer leaves of this receipt's requests.
    /// @param sessionSignature Session key's EIP-712 signature over (jobId, count, units, outputRoot).
    /// @param parts Per (stage, provider) parts, sorted by stage then provider, each signed by its provider.
    /// @return receiptId The receipt's index in the job.
    function submitReceipt(
        JobId jobId,
        uint32 count,
        uint32 units,
        bytes32 outputRoot,
        bytes calldata sessionSignature,
        StagePart[] calldata parts
    ) external returns (uint256 receiptId);

    /// @notice Settles a receipt once SpotCheck reports it clear (windows over, every sample resolved,
    ///         no open dispute): credits providers (not faulted ones), the publisher, each attesting
    ///         sample verifier its share of the verifier fee (unattested shares stay in escrow for
    ///         the buyer) and the treasury; returns the attestation deposits.
    function settle(JobId jobId, uint256 receiptId, PartRecord[] calldata parts) external;

    /// @notice Closes a job after expiry (anyone) or when fully used (buyer); refunds unused escrow
    ///         and releases collateral. No receipt may be pending.
    function closeJob(JobId jobId) external;

    /// @notice Withdraws the caller's credits. Never paused.
    function withdraw() external returns (uint256 amount);

    /// @notice Adjudicators only: marks a provider as at fault in a job (no pay for its unsettled
    ///         receipts) and slashes all its collateral there: to the treasury (`hold` false:
    ///         chain-proven faults pay nobody who could be the cheater's sybil) or into the held
    ///         pool for the adjudicator to pay out (`hold` true: dispute verdicts). 0 when the
    ///         provider was already faulted or has no quote in the job.
    function fault(JobId jobId, uint256 receiptId, address provider, FaultReason reason, bool hold) external returns (uint256 slashed);

    /// @notice Adjudicators only: pulls a bond from `from` (approved to this contract) into the held pool.
    function takeBond(address from, uint256 amount) external;

    /// @notice Adjudicators only: pays held tokens out as credits (`to[i]` zero: the treasury).
    function payOut(JobId jobId, address[] calldata to, uint256[] calldata amounts, CreditKind kind) external;

    /// @notice Adjudicators only: locks a deposit (a juror's seat, a verifier's attestation) from
    ///         `account`'s free stake.
    function lockStake(address account, JobId jobId, uint256 amount) external;

    /// @notice Adjudicators only: releases a deposit.
    function unlockStake(address account, JobId jobId, uint256 amount) external;

    /// @notice Adjudicators only: takes a locked deposit into the held pool.
    function slashStake(address account, JobId jobId, uint256 amount) external;

    /// @notice A job (reverts JobMarketUnknownJob for an unknown id).
    function job(JobId jobId) external view returns (Job memory);
    /// @notice A receipt of a job (status None when it does not exist).
    function receipt(JobId jobId, uint256 receiptId) external view returns (Receipt memory);
    /// @notice A provider's price, max count and served count for one stage of a job.
    function stageTerms(JobId jobId, uint256 stage, address provider) external view returns (StageTerms memory);
    /// @notice Whether `account` has an accepted quote in the job.
    function isJobProvider(JobId jobId, address account) external view returns (bool);
    /// @notice Every provider with an accepted quote in the job (at most MAX_QUOTES).
    function jobProviders(JobId jobId) external view returns (address[] memory);
    /// @notice Whether the provider was found at fault in the job (then unpaid and slashed).
    function isFaulted(JobId jobId, address provider) external view returns (bool);
    /// @notice Collateral still locked for the provider in the job.
    function collateralOf(JobId jobId, address provider) external view returns (uint256);
    /// @notice Withdrawable credits of an account.
    function credits(address account) external view returns (uint256);
    /// @notice Whether a provider's quote nonce was used or cancelled.
    function quoteNonceUsed(address provider, uint256 nonce) external view returns (bool);
    /// @notice The EIP-712 domain separator quotes, receipts, requests and hand-offs are signed under.
    function domainSeparator() external view returns (bytes32);
    /// @notice Number of jobs opened (ids run 1..jobCount).
    function jobCount() external view returns (uint256);
}
