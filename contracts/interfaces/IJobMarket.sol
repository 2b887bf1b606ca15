// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {JobId, ModelId} from "../types/Ids.sol";

/// @title IJobMarket
/// @notice Jobs: quotes, escrow, receipts and settlement. Samples, reveals and disputes live in
///         the Adjudicator, which reports faults back here. All payouts are pull-payment credits.
interface IJobMarket {
    /// @notice A provider's EIP-712 offer for one stage of one model.
    struct Quote {
        ModelId modelId;
        uint16 stage;
        address provider;
        uint96 price;
        uint32 maxCount;
        uint64 expiry;
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
        uint32 maxInferences;
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

    /// @notice One (stage, provider) part of a receipt as submitted: cumulative count and signature.
    struct StagePart {
        uint16 stage;
        address provider;
        uint32 count;
        bytes32 root;
        bytes signature;
    }

    /// @notice One (stage, provider) part as recorded: `newCount` leaves in this receipt under `root`.
    ///         The receipt stores keccak256(abi.encode(PartRecord[])); reveal and settle pass them back.
    struct PartRecord {
        uint16 stage;
        address provider;
        uint32 newCount;
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

    /// @notice A job. Packed in 5 slots: (buyer, maxInferences, count, stageCount, royaltyBps),
    ///         (sessionKey, expiresAt, receiptCount), (publisher, pendingReceipts, fees, status,
    ///         faultedProviders), modelId, escrow.
    struct Job {
        address buyer;
        uint32 maxInferences;
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

    /// @notice A provider's terms for one stage of a job.
    struct StageTerms {
        uint96 price;
        uint32 maxCount;
        uint32 served;
    }

    /// @notice Time windows, seconds, counted from a receipt's submission (reveal, challenge) or a
    ///         dispute's opening (answer, commit, voteReveal).
    struct Windows {
        uint64 reveal;
        uint64 challenge;
        uint64 answer;
        uint64 commit;
        uint64 voteReveal;
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

    /// @notice Why a provider was found at fault.
    enum FaultReason {
        Unrevealed,
        HandOffMismatch,
        ZkProofMissing,
        CommitteeVerdict
    }

    error JobMarketUnknownJob(JobId jobId, uint256 jobCount);
    error JobMarketJobNotOpen(JobId jobId, JobStatus status);
    error JobMarketModelDeprecated(ModelId modelId, ModelId requested);
    error JobMarketZeroInferences(uint256 maxInferences, uint256 minimum);
    error JobMarketBadExpiry(uint256 expiresAt, uint256 nowTime);
    error JobMarketZeroSessionKey(address sessionKey, address buyer);
    error JobMarketQuoteModelMismatch(ModelId quoteModel, ModelId jobModel);
    error JobMarketQuoteStageOutOfRange(uint256 stage, uint256 stageCount);
    error JobMarketQuoteExpired(uint256 expiry, uint256 nowTime);
    error JobMarketQuoteBelowFloor(uint256 price, uint256 floor);
    error JobMarketQuoteMaxCountTooLow(uint256 maxCount, uint256 minimum);
    error JobMarketQuoteNonceUsed(address provider, uint256 nonce);
    error JobMarketBadQuoteSignature(address signer, address provider);
    error JobMarketDuplicateQuote(uint256 stage, address provider);
    error JobMarketStageWithoutQuote(uint256 stage, uint256 stageCount);
    error JobMarketTooManyQuotes(uint256 count, uint256 maxQuotes);
    error JobMarketInsufficientEscrow(uint256 available, uint256 needed);
    error JobMarketJobExpired(uint256 expiresAt, uint256 nowTime);
    error JobMarketCountNotIncreasing(uint256 count, uint256 previous);
    error JobMarketCountAboveMax(uint256 count, uint256 maxInferences);
    error JobMarketBadSessionSignature(address signer, address sessionKey);
    error JobMarketPartsNotSorted(uint256 index, uint256 stage);
    error JobMarketProviderNotQuoted(uint256 stage, address provider);
    error JobMarketProviderFaulted(address provider, JobId jobId);
    error JobMarketBadProviderSignature(address signer, address provider);
    error JobMarketProviderCountNotIncreasing(uint256 count, uint256 previous);
    error JobMarketProviderCountAboveQuote(uint256 count, uint256 maxCount);
    error JobMarketStageCountMismatch(uint256 stage, uint256 counted, uint256 required);
    error JobMarketSubmitterNotProvider(address submitter, JobId jobId);
    error JobMarketUnknownReceipt(uint256 receiptId, uint256 receiptCount);
    error JobMarketReceiptNotPending(uint256 receiptId, ReceiptStatus status);
    error JobMarketChallengeWindowOpen(uint256 nowTime, uint256 settlesAt);
    error JobMarketReceiptNotClear(uint256 receiptId, uint256 openIssues);
    error JobMarketPartsMismatch(bytes32 partsHash, bytes32 storedHash);
    error JobMarketCannotClose(JobId jobId, uint256 pendingReceipts);
    error JobMarketNotBuyer(address caller, address buyer);
    error JobMarketNothingToWithdraw(address account, uint256 credit);
    error JobMarketNotAdjudicator(address caller, address adjudicator);
    error JobMarketAdjudicatorAlreadySet(address current, address proposed);
    error JobMarketFeeTooHigh(uint256 feeBps, uint256 maxFeeBps);
    error JobMarketWindowsTooLong(uint256 longestWindow, uint256 unbondingPeriod);
    error JobMarketZeroAddress(uint256 which, uint256 required);

    event JobOpened(
        JobId indexed jobId,
        address indexed buyer,
        ModelId indexed modelId,
        address sessionKey,
        uint256 maxInferences,
        uint256 escrow,
        uint256 expiresAt
    );
    event QuoteAccepted(
        JobId indexed jobId,
        address indexed provider,
        ModelId indexed modelId,
        uint256 stage,
        uint256 price,
        uint256 maxCount,
        uint256 collateral,
        uint256 nonce
    );
    event QuoteNonceCancelled(address indexed provider, uint256 nonce);
    event ReceiptSubmitted(
        JobId indexed jobId, uint256 indexed receiptId, address indexed submitter, uint256 from, uint256 to, bytes32 outputRoot
    );
    event ReceiptPartRecorded(
        JobId indexed jobId, uint256 indexed receiptId, address indexed provider, uint256 stage, uint256 newCount, bytes32 root
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
    event ProviderFaulted(
        JobId indexed jobId, address indexed provider, uint256 indexed receiptId, FaultReason reason, uint256 slashed, address prover
    );
    event BondTaken(address indexed from, uint256 amount);
    event TreasuryFeeUpdated(uint256 oldFeeBps, uint256 newFeeBps);
    event VerifierFeeUpdated(uint256 oldFeeBps, uint256 newFeeBps);
    event CollateralRatioUpdated(uint256 oldRatioBps, uint256 newRatioBps);
    event TreasuryUpdated(address oldTreasury, address newTreasury);
    event WindowsUpdated(Windows oldWindows, Windows newWindows);
    event AdjudicatorSet(address indexed adjudicator);

    /// @notice Opens a job with quotes for every stage, pulling the escrow by transferFrom.
    /// @param request Model, max inferences, expiry and session key.
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
    ///         one of the providers in `parts`.
    /// @param jobId The job.
    /// @param count Cumulative request count the buyer signed.
    /// @param outputRoot Merkle root of the buyer leaves of this receipt's requests.
    /// @param sessionSignature Session key's EIP-712 signature over (jobId, count, outputRoot).
    /// @param parts Per (stage, provider) parts, sorted by stage then provider, each signed by its provider.
    /// @return receiptId The receipt's index in the job.
    function submitReceipt(
        JobId jobId,
        uint32 count,
        bytes32 outputRoot,
        bytes calldata sessionSignature,
        StagePart[] calldata parts
    ) external returns (uint256 receiptId);

    /// @notice Settles a receipt after its challenge window: credits providers, publisher, verifier, treasury.
    function settle(JobId jobId, uint256 receiptId, PartRecord[] calldata parts) external;

    /// @notice Closes a job after expiry (anyone) or when fully used (buyer); refunds unused escrow
    ///         and releases collateral. No receipt may be pending.
    function closeJob(JobId jobId) external;

    /// @notice Withdraws the caller's credits. Never paused.
    function withdraw() external returns (uint256 amount);

    /// @notice Adjudicator only: marks a provider as having cheated in a job and slashes its collateral.
    function fault(JobId jobId, uint256 receiptId, address provider, FaultReason reason, address prover, address[] calldata rewardees)
        external
        returns (uint256 slashed);

    /// @notice Adjudicator only: pulls a challenge bond from `from` (approved to this contract).
    function takeBond(address from, uint256 amount) external;

    /// @notice Adjudicator only: pays out a held bond as credits.
    function payBond(JobId jobId, address[] calldata to, uint256[] calldata amounts, CreditKind kind) external;

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
    /// @notice Current reveal, challenge, answer, commit and vote-reveal windows (seconds).
    function windows() external view returns (Windows memory);
    /// @notice Number of jobs opened (ids run 1..jobCount).
    function jobCount() external view returns (uint256);
}
