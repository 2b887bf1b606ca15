// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IProtocolParams} from "../interfaces/IProtocolParams.sol";

/// @title ProtocolParams
/// @notice Versioned, bounded and delayed parameters (issue 10, item 7). The admin can only
///         propose a set that passes the bounds derived in docs/PROTOCOL.md ("Parameters",
///         "Economics"); it becomes current PARAM_DELAY later, and only jobs opened afterwards use
///         it: a job keeps the version it opened under, so nothing changes under a pending receipt.
contract ProtocolParams is IProtocolParams, AccessControl {
    /// @notice Time between a proposal and its activation.
    uint256 public constant PARAM_DELAY = 2 days;
    /// @notice May pause and resume new jobs.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Dispute rounds (Disputes.MAX_ROUNDS): the longest-window bound counts them all.
    uint256 public constant DISPUTE_ROUNDS = 5;

    uint256 private constant BPS = 10_000;
    uint256 private constant MINUTE = 60;
    uint256 private constant DAY = 1 days;
    /// @dev The local development chain (Hardhat, anvil) and its shortest window.
    uint256 private constant DEV_CHAIN_ID = 31337;
    uint256 private constant DEV_MIN_WINDOW = 10 seconds;

    mapping(uint256 version => Params) private _params;
    uint32 private _current;
    Params private _pending;
    uint64 private _pendingEta;
    uint256 private _longestEver;
    uint64 private _pausedSince;
    address private _pausedBy;

    /// @param admin Holds DEFAULT_ADMIN_ROLE (proposes and cancels) and PAUSER_ROLE.
    /// @param initial Version 1, current from deployment (checked against the bounds).
    constructor(address admin, Params memory initial) {
        _requireValid(initial);
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _current = 1;
        _params[1] = initial;
        _longestEver = _longest(initial);
        emit ParamsActivated(1, initial);
    }

    /// @inheritdoc IProtocolParams
    function propose(Params calldata p) external onlyRole(DEFAULT_ADMIN_ROLE) {
        _requireValid(p);
        _pending = p;
        uint256 eta = block.timestamp + PARAM_DELAY;
        _pendingEta = uint64(eta);
        emit ParamsProposed(uint256(_current) + 1, p, eta);
    }

    /// @inheritdoc IProtocolParams
    function cancel() external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_pendingEta == 0) revert ProtocolParamsNothingPending(0, 1);
        _pendingEta = 0;
        emit ParamsProposalCancelled(uint256(_current) + 1);
    }

    /// @inheritdoc IProtocolParams
    function activate() external {
        uint256 eta = _pendingEta;
        if (eta == 0) revert ProtocolParamsNothingPending(0, 1);
        if (block.timestamp < eta) revert ProtocolParamsDelayNotOver(block.timestamp, eta);
        Params memory p = _pending;
        _pendingEta = 0;
        // Versions count activations, one per PARAM_DELAY at most: far below 2^32.
        unchecked {
            _current += 1;
        }
        _params[_current] = p;
        uint256 longest = _longest(p);
        if (longest > _longestEver) _longestEver = longest;
        emit ParamsActivated(_current, p);
    }

    /// @inheritdoc IProtocolParams
    function currentVersion() external view returns (uint32) {
        return _current;
    }

    /// @inheritdoc IProtocolParams
    function pause() external onlyRole(PAUSER_ROLE) {
        _pausedSince = uint64(block.timestamp);
        _pausedBy = msg.sender;
        emit NewJobsPaused(msg.sender, true);
    }

    /// @inheritdoc IProtocolParams
    function unpause() external onlyRole(PAUSER_ROLE) {
        _pausedSince = 0;
        emit NewJobsPaused(msg.sender, false);
    }

    /// @inheritdoc IProtocolParams
    function paused() external view returns (bool) {
        return _pausedSince != 0;
    }

    /// @inheritdoc IProtocolParams
    function treasury() external view returns (address) {
        return _params[_current].treasury;
    }

    /// @inheritdoc IProtocolParams
    function current() external view returns (uint32 version, Params memory params) {
        version = _current;
        params = _params[version];
    }

    /// @inheritdoc IProtocolParams
    function openTerms() external view returns (uint32 version, Params memory params) {
        if (_pausedSince != 0) revert ProtocolParamsPaused(_pausedBy, _pausedSince);
        version = _current;
        params = _params[version];
    }

    /// @inheritdoc IProtocolParams
    function paramsAt(uint256 version) external view returns (Params memory) {
        if (version == 0 || version > _current) revert ProtocolParamsUnknownVersion(version, _current);
        return _params[version];
    }

    /// @inheritdoc IProtocolParams
    function pending() external view returns (Params memory p, uint256 eta) {
        eta = _pendingEta;
        if (eta != 0) p = _pending;
    }

    /// @inheritdoc IProtocolParams
    function longestWindowEver() external view returns (uint256) {
        return _longestEver;
    }

    /// @dev The bounds of docs/PROTOCOL.md "Parameters", field by field (field numbers follow the
    ///      struct order), then the two economic conditions that tie fields together. On the local
    ///      development chain (31337) windows may be as short as DEV_MIN_WINDOW, so a demo settles
    ///      in minutes.
    function _requireValid(Params memory p) private view {
        bool dev = block.chainid == DEV_CHAIN_ID;
        _within(0, p.reveal, dev ? DEV_MIN_WINDOW : 10 * MINUTE, 7 * DAY);
        _within(1, p.challenge, dev ? DEV_MIN_WINDOW : 10 * MINUTE, 7 * DAY);
        _within(2, p.handOff, dev ? DEV_MIN_WINDOW : 5 * MINUTE, 7 * DAY);
        _within(3, p.answer, dev ? DEV_MIN_WINDOW : 10 * MINUTE, 7 * DAY);
        _within(4, p.commit, dev ? DEV_MIN_WINDOW : 5 * MINUTE, 3 * DAY);
        _within(5, p.voteReveal, dev ? DEV_MIN_WINDOW : 5 * MINUTE, 3 * DAY);
        _within(6, p.appeal, dev ? DEV_MIN_WINDOW : 5 * MINUTE, 3 * DAY);
        _within(7, p.maxJobDuration, 1 hours, 365 * DAY);
        _within(8, p.verifierFeeBps, 0, 1_000);
        _within(9, p.treasuryFeeBps, 0, 1_000);
        _within(10, p.challengerShareBps, 1_000, 5_000);
        _within(11, p.jurorShareBps, 0, 2_000);
        _within(12, p.collateralMultipleBps, BPS, 100 * BPS);
        _within(13, p.challengeBondBps, 1, 1_000);
        _within(14, p.minCollateral, 1, type(uint96).max);
        _within(15, p.challengeBond, 1, type(uint96).max);
        _within(16, p.attestDeposit, 1, type(uint96).max);
        _within(17, p.jurorDeposit, 1, type(uint96).max);
        _within(18, uint160(p.treasury), 1, type(uint160).max);
        // (a): κ·λ ≥ 1/(1 − α) = 1.5 at α = 1/3, with λ = 1 − σ − γ (≥ 0.4 by the share bounds).
        uint256 kept = BPS - p.challengerShareBps - p.jurorShareBps;
        uint256 product = uint256(p.collateralMultipleBps) * kept;
        if (product * 2 < 3 * BPS * BPS) revert ProtocolParamsCollateralTooLow(product, (3 * BPS * BPS + 1) / 2);
        // (b): the challenger's share of the smallest collateral covers at least the bond.
        uint256 reward = (uint256(p.minCollateral) * p.challengerShareBps) / BPS;
        if (reward < p.challengeBond) revert ProtocolParamsChallengeUnpaid(reward, p.challengeBond);
    }

    function _within(uint256 field, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert ProtocolParamsFieldOutOfBounds(field, value, min, max);
    }

    function _longest(Params memory p) private pure returns (uint256) {
        uint256 round = uint256(p.commit) + p.voteReveal + p.appeal;
        uint256 dispute = DISPUTE_ROUNDS * round > p.answer ? DISPUTE_ROUNDS * round : p.answer;
        return uint256(p.reveal) + p.challenge + p.handOff + dispute;
    }
}
