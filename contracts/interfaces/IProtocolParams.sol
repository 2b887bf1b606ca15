// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IProtocolParams
/// @notice Numbered parameter sets of the trust layer. A job keeps the version it opened under for
///         its whole life; the admin proposes a new set inside derived bounds, and anyone activates
///         it once PARAM_DELAY has passed (docs/PROTOCOL.md, "Parameters").
interface IProtocolParams {
    /// @notice One parameter set. Windows are seconds; shares and fees basis points; amounts token wei.
    ///         Packed in four slots.
    struct Params {
        uint32 reveal;
        uint32 challenge;
        uint32 handOff;
        uint32 answer;
        uint32 commit;
        uint32 voteReveal;
        uint32 appeal;
        uint32 maxJobDuration;
        uint16 verifierFeeBps;
        uint16 treasuryFeeBps;
        uint16 challengerShareBps;
        uint16 jurorShareBps;
        uint32 collateralMultipleBps;
        uint16 challengeBondBps;
        uint96 minCollateral;
        uint96 challengeBond;
        uint96 attestDeposit;
        uint96 jurorDeposit;
        address treasury;
    }

    /// @notice Field `field` (its position in Params, 0-based) is outside [min, max].
    error ProtocolParamsFieldOutOfBounds(uint256 field, uint256 value, uint256 min, uint256 max);
    /// @notice κ·λ = collateralMultiple × (1 − challengerShare − jurorShare) is below 1.5 (bps²).
    error ProtocolParamsCollateralTooLow(uint256 multipleTimesKeptShare, uint256 required);
    /// @notice σ × minCollateral is below the challenge bond: a challenge of the smallest job would not pay.
    error ProtocolParamsChallengeUnpaid(uint256 challengerReward, uint256 challengeBond);
    /// @notice No proposal is pending.
    error ProtocolParamsNothingPending(uint256 eta, uint256 required);
    /// @notice The pending proposal's delay has not passed.
    error ProtocolParamsDelayNotOver(uint256 nowTime, uint256 eta);
    /// @notice Unknown parameter version.
    error ProtocolParamsUnknownVersion(uint256 version, uint256 current);
    /// @notice New jobs are paused.
    error ProtocolParamsPaused(address pauser, uint256 since);

    /// @notice A parameter set was proposed; it can be activated from `eta`.
    event ParamsProposed(uint256 indexed version, Params params, uint256 eta);
    /// @notice A pending proposal was withdrawn.
    event ParamsProposalCancelled(uint256 indexed version);
    /// @notice A parameter set became current (for jobs opened from now on).
    event ParamsActivated(uint256 indexed version, Params params);
    /// @notice New jobs were paused (`paused` true) or resumed.
    event NewJobsPaused(address indexed by, bool paused);

    /// @notice Proposes the next parameter set (admin); checked against the bounds now.
    function propose(Params calldata p) external;

    /// @notice Withdraws the pending proposal (admin).
    function cancel() external;

    /// @notice Makes the pending proposal current once its delay has passed (anyone).
    function activate() external;

    /// @notice The version new jobs open under.
    function currentVersion() external view returns (uint32);

    /// @notice The current version and its parameters.
    function current() external view returns (uint32 version, Params memory params);

    /// @notice What openJob snapshots: the current version and its parameters; reverts
    ///         ProtocolParamsPaused while new jobs are paused.
    function openTerms() external view returns (uint32 version, Params memory params);

    /// @notice Pauses new jobs (pauser). Receipts, reveals, disputes, settlement and withdrawals of
    ///         open jobs go on: a pause cannot keep served work from being paid.
    function pause() external;

    /// @notice Resumes new jobs (pauser).
    function unpause() external;

    /// @notice Whether new jobs are paused.
    function paused() external view returns (bool);

    /// @notice The current version's treasury (fees and the rest of slashes are credited to it).
    function treasury() external view returns (address);

    /// @notice A parameter set by version (1-based).
    function paramsAt(uint256 version) external view returns (Params memory);

    /// @notice The pending proposal and when it can be activated (eta 0: none).
    function pending() external view returns (Params memory p, uint256 eta);

    /// @notice Longest a receipt can stay open under any version ever active: reveal + challenge +
    ///         hand-off claim + every dispute round (commit, vote reveal, appeal) or the zk answer.
    function longestWindowEver() external view returns (uint256);
}
