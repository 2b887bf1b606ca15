// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {JobId} from "../types/Ids.sol";

/// @title IDisputes
/// @notice Challenges of revealed stage leaves (docs/PROTOCOL.md, "Disputes"). A zk stage is
///         settled by the accused's proof. Other stages go to committee rounds: seats drawn with
///         replacement, stake-weighted, among registered verifiers (never a provider of the job or
///         a party to the dispute) from a seed anchored after the challenge or appeal; each seat
///         locks a juror deposit; the verdict after round r is the seat-weighted majority of all
///         votes revealed so far (ties reject); anyone may appeal within the appeal window with
///         twice the previous bond; a round's non-voters lose their deposit.
interface IDisputes {
    enum DisputeKind {
        None,
        ZkProof,
        Committee
    }

    /// @notice Open: waiting for the committee draw, votes or the zk answer. Appealable: a verdict
    ///         stands and can be appealed until `verdictAt + appeal`. Upheld / Rejected: final.
    enum DisputeStatus {
        None,
        Open,
        Appealable,
        Upheld,
        Rejected
    }

    /// @notice A challenge against one revealed stage leaf (3 slots).
    struct Dispute {
        JobId jobId;
        uint32 receiptId;
        uint8 sampleNo;
        uint16 stage;
        DisputeKind kind;
        DisputeStatus status;
        uint8 round;
        bool verdictFraud;
        address accused;
        uint64 anchorBlock;
        uint32 phaseStart;
        address challenger;
        uint32 votesFraud;
        uint32 votesHonest;
        uint32 verdictAt;
        uint96 bond;
        uint32 paramsVersion;
    }

    /// @notice A bond posted on one side: round 0's by the challenger (fraud side), each appeal's
    ///         by its appellant (against the verdict it appeals).
    struct Stake {
        address who;
        bool fraudSide;
        uint96 amount;
    }

    /// @notice A juror's seats and vote in one round (vote: 0 none, 1 fraud, 2 honest).
    struct Juror {
        uint8 seats;
        uint8 vote;
        bool paid;
        bytes32 commitment;
    }

    error DisputesUnknownDispute(uint256 disputeId, uint256 disputeCount);
    error DisputesStageNotRevealed(uint256 sampleNo, uint256 stage);
    error DisputesAlreadyDisputed(uint256 sampleNo, uint256 stage);
    error DisputesChallengeWindowClosed(uint256 nowTime, uint256 deadline);
    error DisputesNotEligibleChallenger(address challenger, uint256 weight);
    error DisputesAlreadyFaulted(address provider, JobId jobId);
    error DisputesWrongStatus(uint256 disputeId, DisputeStatus status);
    error DisputesWrongKind(DisputeKind kind, DisputeKind required);
    error DisputesInvalidProof(uint256 disputeId, address verifier);
    error DisputesDeadlinePassed(uint256 nowTime, uint256 deadline);
    error DisputesDeadlineNotReached(uint256 nowTime, uint256 deadline);
    error DisputesSeedNotReady(uint256 blockNumber, uint256 readyAt);
    error DisputesCommitteeNotDrawn(uint256 disputeId, uint256 round);
    error DisputesCommitteeAlreadyDrawn(uint256 disputeId, uint256 round);
    error DisputesNotJuror(address caller, uint256 disputeId);
    error DisputesAlreadyCommitted(address juror, uint256 disputeId);
    error DisputesCommitPhaseOpen(uint256 nowTime, uint256 commitEnd);
    error DisputesBadVoteReveal(address juror, bytes32 commitment);
    error DisputesNoMoreRounds(uint256 round, uint256 maxRounds);
    error DisputesNothingToClaim(address juror, uint256 disputeId);

    event DisputeOpened(
        uint256 indexed disputeId, JobId indexed jobId, address indexed accused, uint256 receiptId, uint256 sampleNo, uint256 stage, address challenger, DisputeKind kind, uint256 bond
    );
    event CommitteeSeedReanchored(uint256 indexed disputeId, uint256 round, uint256 anchorBlock);
    event CommitteeDrawn(uint256 indexed disputeId, uint256 round, address[] jurors, uint8[] seats);
    event VoteCommitted(uint256 indexed disputeId, uint256 round, address indexed juror);
    event VoteRevealed(uint256 indexed disputeId, uint256 round, address indexed juror, bool fraud, uint256 seats);
    event RoundClosed(uint256 indexed disputeId, uint256 round, bool verdictFraud, uint256 votesFraud, uint256 votesHonest);
    event DisputeAppealed(uint256 indexed disputeId, uint256 round, address indexed appellant, bool fraudSide, uint256 bond);
    event DisputeResolved(uint256 indexed disputeId, JobId indexed jobId, address indexed accused, DisputeStatus status);
    event JurorRewarded(uint256 indexed disputeId, address indexed juror, uint256 amount);

    /// @notice Challenges revealed stage `stage` of a sample, posting the bond
    ///         max(challengeBond, challengeBondBps × the accused's collateral) (approved to the job
    ///         market). Registered verifiers only, never a provider of the job; strictly before the
    ///         receipt's challenge deadline; one dispute per (sample, stage), appeals instead of
    ///         re-challenges.
    function challenge(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external returns (uint256 disputeId);

    /// @notice zk stage: the accused answers with a proof within the answer window; a valid proof
    ///         rejects the challenge at once.
    function answerWithProof(uint256 disputeId, bytes calldata proof) external;

    /// @notice Draws the current round's committee once its seed block is mined (anyone; re-anchors
    ///         when the seed block's hash is gone). The commit phase starts now.
    function drawCommittee(uint256 disputeId) external;

    /// @notice Commits a vote for the current round: keccak256(abi.encode(disputeId, round, juror, fraud, salt)).
    function commitVote(uint256 disputeId, bytes32 commitment) external;

    /// @notice Reveals a committed vote once the commit phase is over, within the vote-reveal window.
    function revealVote(uint256 disputeId, bool fraud, bytes32 salt) external;

    /// @notice After the vote-reveal window (or the zk answer window): the verdict so far; jurors'
    ///         deposits return to voters and are taken from non-voters. A zk dispute without a proof
    ///         is final (upheld); a committee verdict becomes appealable.
    function closeRound(uint256 disputeId) external;

    /// @notice Appeals the current verdict (anyone, within the appeal window, before the last
    ///         round), posting twice the previous bond on the opposite side; a larger committee is
    ///         drawn from a new seed.
    function appeal(uint256 disputeId) external;

    /// @notice Makes an appealable verdict final once its appeal window is over (or after the last
    ///         round): slashes the accused when upheld, returns the winning side's bonds, splits the
    ///         losing side's bonds and forfeited deposits (half to coherent jurors, half to the
    ///         winning side), and forfeits the sample's attestation when upheld.
    function finalize(uint256 disputeId) external;

    /// @notice A coherent juror's share of the dispute's juror pool (pull payment, after finalize).
    function claimJurorReward(uint256 disputeId) external returns (uint256 amount);

    /// @notice The commitment a juror submits in a round.
    function voteCommitment(uint256 disputeId, uint256 round, address juror, bool fraud, bytes32 salt) external pure returns (bytes32);

    function dispute(uint256 disputeId) external view returns (Dispute memory);
    function disputeCount() external view returns (uint256);
    /// @notice Jurors (distinct) of a round and their seats.
    function committee(uint256 disputeId, uint256 round) external view returns (address[] memory jurors, uint8[] memory seats);
    function juror(uint256 disputeId, uint256 round, address who) external view returns (Juror memory);
    /// @notice Bonds posted per round (index = round).
    function stakes(uint256 disputeId) external view returns (Stake[] memory);
    /// @notice The dispute on a (sample, stage), as id + 1 (0: none).
    function disputeOf(JobId jobId, uint256 receiptId, uint256 sampleNo, uint256 stage) external view returns (uint256);
    /// @notice Deadlines of the current phase: commit end, vote-reveal end, appeal end (0 when not applicable).
    function phaseDeadlines(uint256 disputeId) external view returns (uint256 commitEnd, uint256 revealEnd, uint256 appealEnd);
}
