// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {JobId} from "../types/Ids.sol";
import {IJobMarket} from "./IJobMarket.sol";

/// @title ISpotCheck
/// @notice Spot checks of receipts (docs/PROTOCOL.md, "Trust"): a seed fixed from a block after
///         submission picks k stratified samples and one registered verifier per sample; sampled
///         leaves are revealed with Merkle proofs by anyone; every party is judged on its own leaf
///         (a missing leaf faults only its owner; a contradiction with a signed buyer tree faults
///         the stage that signed both; a broken middle hand-off opens a claim the downstream side
///         answers with the upstream's HandOff signature); sample verifiers attest with a deposit.
interface ISpotCheck {
    /// @notice The buyer's leaf for a request: `routeHash` = keccak256(abi.encode(address[] route)),
    ///         route[s] being the provider that served stage s; `nonce` the buyer's request nonce;
    ///         `units` what the request is paid for (1 for an inference).
    struct BuyerLeaf {
        uint256 index;
        uint64 nonce;
        uint32 units;
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

    /// @notice Spot-check state of a receipt (2 slots). `seededAt` is 0 until the seed is fixed;
    ///         every window counts from it.
    struct ReceiptCheck {
        bytes32 seed;
        uint64 anchorBlock;
        uint32 seededAt;
        uint8 samples;
        uint8 resolved;
        uint8 reanchors;
        uint8 openDisputes;
        uint8 attested;
    }

    /// @notice One sample: the revealed buyer leaf, its verifier, which stages are revealed
    ///         (`stageMask`), which middle boundaries have an open hand-off claim (`claimMask`,
    ///         bit b for the cut between stage b-1 and b) and until when they can be answered.
    struct Sample {
        bytes32 requestHash;
        bytes32 responseHash;
        bytes32 routeHash;
        address verifier;
        uint64 nonce;
        uint16 stageMask;
        uint16 claimMask;
        uint32 units;
        uint32 claimDeadline;
        bool buyerRevealed;
        bool resolved;
        bool faulted;
        bool attested;
        bool attestationForfeited;
    }

    /// @notice A stage leaf as revealed.
    struct StageReveal {
        bytes32 inputHash;
        bytes32 outputHash;
        address provider;
    }

    error SpotCheckUnknownReceipt(uint256 receiptId, uint256 status);
    error SpotCheckSeedNotReady(uint256 blockNumber, uint256 readyAt);
    error SpotCheckSeedNotFixed(uint256 receiptId, uint256 anchorBlock);
    error SpotCheckBadSample(uint256 sampleNo, uint256 samples);
    error SpotCheckWrongIndex(uint256 index, uint256 sampledIndex);
    error SpotCheckBadProof(uint256 index, bytes32 root);
    error SpotCheckAlreadyRevealed(uint256 sampleNo, uint256 stage);
    error SpotCheckBuyerLeafNotRevealed(uint256 sampleNo, uint256 receiptId);
    error SpotCheckRouteMismatch(bytes32 routeHash, bytes32 revealedRouteHash);
    error SpotCheckRouteLength(uint256 length, uint256 stageCount);
    error SpotCheckRouteProviderMissing(uint256 stage, address provider);
    error SpotCheckWrongPart(uint256 partIndex, uint256 stage);
    error SpotCheckRevealWindowClosed(uint256 nowTime, uint256 deadline);
    error SpotCheckRevealWindowOpen(uint256 nowTime, uint256 deadline);
    error SpotCheckClaimsPending(uint256 nowTime, uint256 claimDeadline);
    error SpotCheckNoClaim(uint256 sampleNo, uint256 boundary);
    error SpotCheckClaimExpired(uint256 nowTime, uint256 claimDeadline);
    error SpotCheckBadHandOffSignature(address signer, address upstream);
    error SpotCheckSampleResolved(uint256 sampleNo, uint256 receiptId);
    error SpotCheckNotSampleVerifier(address caller, address verifier);
    error SpotCheckAttestWindowClosed(uint256 nowTime, uint256 deadline);
    error SpotCheckNotFullyRevealed(uint256 stageMask, uint256 required);
    error SpotCheckAlreadyAttested(uint256 sampleNo, uint256 receiptId);
    error SpotCheckNotDisputes(address caller, address disputes);
    error SpotCheckNotDeployer(address caller, address deployer);
    error SpotCheckDisputesAlreadySet(address current, address proposed);

    event SeedReanchored(JobId indexed jobId, uint256 indexed receiptId, uint256 anchorBlock, uint256 reanchors);
    event SamplesDrawn(JobId indexed jobId, uint256 indexed receiptId, bytes32 seed, uint256 samples, address[] verifiers);
    event BuyerLeafRevealed(
        JobId indexed jobId, uint256 indexed receiptId, uint256 sampleNo, uint256 index, uint64 nonce, bytes32 routeHash
    );
    event StageLeafRevealed(
        JobId indexed jobId, uint256 indexed receiptId, address indexed provider, uint256 sampleNo, uint256 stage, bytes32 inputHash, bytes32 outputHash
    );
    event HandOffClaimOpened(JobId indexed jobId, uint256 indexed receiptId, uint256 sampleNo, uint256 boundary, uint256 deadline);
    event HandOffClaimAnswered(JobId indexed jobId, uint256 indexed receiptId, uint256 sampleNo, uint256 boundary, address upstream);
    event SampleResolved(JobId indexed jobId, uint256 indexed receiptId, uint256 sampleNo, bool clean);
    event SampleAttested(JobId indexed jobId, uint256 indexed receiptId, uint256 sampleNo, address indexed verifier, uint256 deposit);

    /// @notice Fixes the receipt's seed (once the block after submission is mined) and draws its
    ///         samples and one verifier per sample; re-anchors when that block's hash is gone.
    ///         Anyone may call it; honest watchers call it as soon as they can.
    function drawSamples(JobId jobId, uint256 receiptId) external;

    /// @notice Request indices sampled for a receipt (the seed must be fixed).
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

    /// @notice Reveals the stage leaf of a sample from the routed provider's part; checks the
    ///         hand-offs with the buyer leaf and the neighbours revealed so far.
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

    /// @notice The buyer leaf (when not yet revealed) and any stage leaves of a sample in one
    ///         transaction, with the same checks as the single reveals.
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

    /// @notice Answers a hand-off claim at `boundary` with the upstream provider's EIP-712
    ///         `HandOff(jobId, nonce, boundary, inputHash of stage boundary)` signature: the upstream
    ///         signed the value the downstream revealed but revealed another, so it is faulted.
    function presentHandOff(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 boundary, bytes calldata signature) external;

    /// @notice After the reveal window (and any hand-off claim's deadline), faults exactly the
    ///         parties that did not do their part: the submitter for a missing buyer leaf, else the
    ///         provider of each missing stage leaf and the downstream side of each unanswered claim.
    function reportMissing(JobId jobId, uint256 receiptId, uint256 sampleNo, address[] calldata route) external;

    /// @notice The sample's drawn verifier attests it re-executed every stage of the sample (and
    ///         challenged any it found wrong), locking `attestDeposit` of its stake until
    ///         settlement; it is lost if a dispute on the sample is upheld without it among the
    ///         challengers. Only attested samples earn their share of the verifier fee.
    function attest(JobId jobId, uint256 receiptId, uint256 sampleNo) external;

    /// @notice What settlement needs: whether the receipt can settle (seed fixed, windows over,
    ///         every sample resolved, no open dispute), how many issues remain, the verifiers whose
    ///         attestations count (one entry per attested sample, deposits not forfeited), the
    ///         sample count and the deposit each attestation locked.
    function settlementCheck(JobId jobId, uint256 receiptId)
        external
        view
        returns (bool clear, uint256 openIssues, address[] memory attesters, uint256 samples, uint256 deposit);

    /// @notice Disputes only: a dispute on the receipt opened (+1) or closed (-1).
    function noteDispute(JobId jobId, uint256 receiptId, bool opened) external;

    /// @notice Disputes only: marks the sample's attestation forfeited (settlement neither returns
    ///         its deposit nor pays its fee share) and returns who attested and the deposit to
    ///         slash (zero address when the sample was not attested or already forfeited).
    function forfeitAttestation(JobId jobId, uint256 receiptId, uint256 sampleNo) external returns (address verifier, uint256 deposit);

    /// @notice Seed, progress and counters of a receipt's spot check.
    function receiptCheck(JobId jobId, uint256 receiptId) external view returns (ReceiptCheck memory);
    /// @notice What was revealed for one sample.
    function sample(JobId jobId, uint256 receiptId, uint256 sampleNo) external view returns (Sample memory);
    /// @notice A revealed stage leaf of one sample.
    function stageReveal(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external view returns (StageReveal memory);
    /// @notice End of the reveal window and of the attest/challenge window (0, 0 until seeded).
    function deadlines(JobId jobId, uint256 receiptId) external view returns (uint256 reveal, uint256 challenge);
}
