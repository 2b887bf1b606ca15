// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {JobId} from "../types/Ids.sol";
import {IJobMarket} from "./IJobMarket.sol";

/// @title IAdjudicator
/// @notice Spot checks of receipts: sampling, reveals with Merkle proofs, on-chain hand-off
///         checks, and disputes (zk proof or stake-weighted committee vote).
interface IAdjudicator {
    /// @notice The buyer's leaf for a request: `routeHash` = keccak256(abi.encode(address[] route)),
    ///         route[s] being the provider that served stage s of this request.
    struct BuyerLeaf {
        uint256 index;
        bytes32 requestHash;
        bytes32 responseHash;
        bytes32 routeHash;
    }

    /// @notice A stage provider's leaf for a request.
    struct StageLeaf {
        uint256 index;
        bytes32 inputHash;
        bytes32 outputHash;
    }

    /// @notice Spot-check state of a receipt.
    struct ReceiptCheck {
        bytes32 seed;
        address verifier;
        uint8 samples;
        uint8 resolved;
        uint8 openDisputes;
    }

    /// @notice State of one sample of a receipt.
    struct Sample {
        bytes32 requestHash;
        bytes32 responseHash;
        bytes32 routeHash;
        uint32 stageMask;
        bool buyerRevealed;
        bool resolved;
    }

    /// @notice A stage leaf as revealed.
    struct StageReveal {
        bytes32 inputHash;
        bytes32 outputHash;
        address provider;
    }

    enum DisputeKind {
        None,
        ZkProof,
        Committee
    }

    enum DisputeStatus {
        None,
        Open,
        Upheld,
        Rejected
    }

    /// @notice A challenge against one revealed stage leaf.
    struct Dispute {
        JobId jobId;
        uint32 receiptId;
        uint8 sampleNo;
        uint16 stage;
        DisputeKind kind;
        DisputeStatus status;
        address accused;
        address challenger;
        uint64 openedAt;
        uint8 votesFraud;
        uint8 votesHonest;
        uint256 bond;
    }

    error AdjudicatorSeedNotReady(uint256 blockNumber, uint256 readyAt);
    error AdjudicatorBadSample(uint256 sampleNo, uint256 samples);
    error AdjudicatorWrongIndex(uint256 index, uint256 sampledIndex);
    error AdjudicatorBadProof(uint256 index, bytes32 root);
    error AdjudicatorAlreadyRevealed(uint256 sampleNo, uint256 stage);
    error AdjudicatorBuyerLeafNotRevealed(uint256 sampleNo, uint256 receiptId);
    error AdjudicatorRouteMismatch(bytes32 routeHash, bytes32 revealedRouteHash);
    error AdjudicatorRouteLength(uint256 length, uint256 stageCount);
    error AdjudicatorRouteProviderMissing(uint256 stage, address provider);
    error AdjudicatorWrongPart(uint256 partIndex, uint256 stage);
    error AdjudicatorRevealWindowClosed(uint256 nowTime, uint256 deadline);
    error AdjudicatorRevealWindowOpen(uint256 nowTime, uint256 deadline);
    error AdjudicatorSampleResolved(uint256 sampleNo, uint256 receiptId);
    error AdjudicatorChallengeWindowClosed(uint256 nowTime, uint256 deadline);
    error AdjudicatorStageNotRevealed(uint256 sampleNo, uint256 stage);
    error AdjudicatorNotEligibleChallenger(address challenger, uint256 stake);
    error AdjudicatorUnknownDispute(uint256 disputeId, uint256 disputeCount);
    error AdjudicatorDisputeNotOpen(uint256 disputeId, DisputeStatus status);
    error AdjudicatorWrongDisputeKind(DisputeKind kind, DisputeKind required);
    error AdjudicatorInvalidProof(uint256 disputeId, address verifier);
    error AdjudicatorDeadlinePassed(uint256 nowTime, uint256 deadline);
    error AdjudicatorDeadlineNotReached(uint256 nowTime, uint256 deadline);
    error AdjudicatorNotCommitteeMember(address caller, uint256 disputeId);
    error AdjudicatorAlreadyCommitted(address voter, uint256 disputeId);
    error AdjudicatorBadVoteReveal(address voter, bytes32 commitment);
    /// @notice A vote reveal before the commit phase ended (`commitEnd` = openedAt + commit window;
    ///         reveals are accepted from commitEnd + 1).
    error AdjudicatorCommitPhaseOpen(uint256 nowTime, uint256 commitEnd);
    error AdjudicatorNoEligibleVerifiers(uint256 found, uint256 required);
    error AdjudicatorAlreadyFaulted(address provider, JobId jobId);

    event SamplesDrawn(JobId indexed jobId, uint256 indexed receiptId, bytes32 seed, uint256 samples, address verifier);
    event BuyerLeafRevealed(JobId indexed jobId, uint256 indexed receiptId, uint256 sampleNo, uint256 index, bytes32 routeHash);
    event StageLeafRevealed(
        JobId indexed jobId, uint256 indexed receiptId, address indexed provider, uint256 sampleNo, uint256 stage, bytes32 inputHash, bytes32 outputHash
    );
    event SampleResolved(JobId indexed jobId, uint256 indexed receiptId, uint256 sampleNo, bool clean);
    event DisputeOpened(
        uint256 indexed disputeId, JobId indexed jobId, address indexed accused, uint256 receiptId, uint256 stage, address challenger, DisputeKind kind, uint256 bond
    );
    event CommitteeDrawn(uint256 indexed disputeId, address[] members);
    event VoteCommitted(uint256 indexed disputeId, address indexed voter);
    event VoteRevealed(uint256 indexed disputeId, address indexed voter, bool fraud);
    event DisputeResolved(uint256 indexed disputeId, JobId indexed jobId, address indexed accused, DisputeStatus status);
    event BondUpdated(uint256 oldBond, uint256 newBond);

    /// @notice Fixes the receipt's sampling seed (blockhash of the block after submission) and draws its verifier.
    function drawSamples(JobId jobId, uint256 receiptId) external;

    /// @notice Request indices sampled for a receipt (requires the seed to be fixed or fixable).
    function sampleIndices(JobId jobId, uint256 receiptId) external view returns (uint256[] memory);

    /// @notice Reveals the buyer leaf of a sample; every route provider must have a part at its stage.
    function revealBuyerLeaf(
        JobId jobId,
        uint256 receiptId,
        uint256 sampleNo,
        BuyerLeaf calldata leaf,
        bytes32[] calldata proof,
        address[] calldata route,
        IJobMarket.PartRecord[] calldata parts
    ) external;

    /// @notice Reveals the stage leaf of a sample from the routed provider's part; checks hand-offs.
    function revealStageLeaf(
        JobId jobId,
        uint256 receiptId,
        uint256 sampleNo,
        uint256 partIndex,
        StageLeaf calldata leaf,
        bytes32[] calldata proof,
        address[] calldata route,
        IJobMarket.PartRecord[] calldata parts
    ) external;

    /// @notice Reveals a whole sample in one transaction: the buyer leaf, then stage leaves (in any
    ///         order, `partIndexes[i]` naming the routed provider's part for `stageLeaves[i]`), with
    ///         the same checks as the single reveals. Cheaper when one party holds every proof.
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
    ) external;

    /// @notice After the reveal window, faults whoever did not reveal a sample: the receipt's
    ///         submitter for a missing buyer leaf, else each routed provider of a missing stage leaf.
    function reportUnrevealed(JobId jobId, uint256 receiptId, uint256 sampleNo, address[] calldata route) external;

    /// @notice Challenges a revealed stage leaf with a bond (staked verifier, not a provider of the job).
    function challenge(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external returns (uint256 disputeId);

    /// @notice Answers a zk-stage dispute with a proof; a valid proof rejects the challenge.
    function answerWithProof(uint256 disputeId, bytes calldata proof) external;

    /// @notice Commits a committee vote: keccak256(abi.encode(disputeId, voter, fraud, salt)).
    ///         Only during the commit phase: until openedAt + commit window, inclusive.
    function commitVote(uint256 disputeId, bytes32 commitment) external;

    /// @notice Reveals a committee vote. Only after the commit phase (from openedAt + commit
    ///         window + 1) until its end plus the vote-reveal window, so no vote is visible while
    ///         another member can still commit.
    function revealVote(uint256 disputeId, bool fraud, bytes32 salt) external;

    /// @notice Resolves a dispute after its deadline (zk: no valid proof → upheld; committee: majority).
    function resolveDispute(uint256 disputeId) external;

    /// @notice Whether all samples of a receipt are resolved and no dispute is open.
    function isClear(JobId jobId, uint256 receiptId) external view returns (bool clear, uint256 openIssues);

    /// @notice isClear and receiptVerifier in one call (what settlement needs).
    function settlementCheck(JobId jobId, uint256 receiptId) external view returns (bool clear, uint256 openIssues, address verifier);

    /// @notice The verifier assigned to a receipt (zero when none was eligible).
    function receiptVerifier(JobId jobId, uint256 receiptId) external view returns (address);

    /// @notice Seed, verifier, sample count and progress of a receipt's spot check.
    function receiptCheck(JobId jobId, uint256 receiptId) external view returns (ReceiptCheck memory);
    /// @notice What was revealed for one sample.
    function sample(JobId jobId, uint256 receiptId, uint256 sampleNo) external view returns (Sample memory);
    /// @notice A revealed stage leaf of one sample.
    function stageReveal(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external view returns (StageReveal memory);
    /// @notice Whether a stage leaf of a sample was already challenged (stays true after the
    ///         dispute is resolved: a stage is challenged at most once, so `challenge` on it reverts
    ///         with AdjudicatorStageNotRevealed). Lets a second challenger skip a reverting transaction.
    function isDisputed(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external view returns (bool);
    /// @notice A dispute.
    function dispute(uint256 disputeId) external view returns (Dispute memory);
    /// @notice The committee drawn for a dispute (empty for zk disputes).
    function committee(uint256 disputeId) external view returns (address[] memory);
    /// @notice Number of disputes opened (ids run 0..disputeCount-1).
    function disputeCount() external view returns (uint256);
}
