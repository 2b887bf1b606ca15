// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IProviderStaking, IChallengeWindowSource} from "../interfaces/IProviderStaking.sol";

/// @title JobMarketAdmin
/// @notice The job market's wiring and parameters: fees, collateral ratio, windows, treasury,
///         the one-time adjudicator link, and the emergency pause. Every change emits old and new.
abstract contract JobMarketAdmin is IJobMarket, IChallengeWindowSource, AccessControl, Pausable {
    /// @notice May pause and unpause new jobs and receipts.
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    /// @notice Highest treasury or verifier fee, basis points.
    uint256 public constant MAX_FEE_BPS = 1_000;

    IERC20 internal immutable _token;
    IProviderStaking internal immutable _staking;
    IModelRegistry internal immutable _registry;
    address internal _treasury;
    address internal _adjudicator;
    uint16 internal _treasuryFeeBps;
    uint16 internal _verifierFeeBps = 100;
    uint32 internal _collateralRatioBps = 20_000;
    Windows internal _windows = Windows({reveal: 1 hours, challenge: 1 hours, answer: 1 hours, commit: 30 minutes, voteReveal: 30 minutes});

    constructor(IERC20 token_, IProviderStaking staking_, IModelRegistry registry_, address treasury_, address admin) {
        if (address(token_) == address(0)) revert JobMarketZeroAddress(0, 1);
        if (address(staking_) == address(0)) revert JobMarketZeroAddress(1, 1);
        if (address(registry_) == address(0)) revert JobMarketZeroAddress(2, 1);
        if (treasury_ == address(0)) revert JobMarketZeroAddress(3, 1);
        _token = token_;
        _staking = staking_;
        _registry = registry_;
        _treasury = treasury_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    /// @notice Links the adjudicator once (admin).
    /// @param adjudicator_ The Adjudicator contract.
    function setAdjudicator(address adjudicator_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_adjudicator != address(0)) revert JobMarketAdjudicatorAlreadySet(_adjudicator, adjudicator_);
        if (adjudicator_ == address(0)) revert JobMarketZeroAddress(4, 1);
        _adjudicator = adjudicator_;
        emit AdjudicatorSet(adjudicator_);
    }

    /// @notice Sets the treasury fee for new jobs (admin), at most MAX_FEE_BPS; may be 0.
    /// @param feeBps Basis points of the providers' pay.
    function setTreasuryFeeBps(uint16 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeBps > MAX_FEE_BPS) revert JobMarketFeeTooHigh(feeBps, MAX_FEE_BPS);
        emit TreasuryFeeUpdated(_treasuryFeeBps, feeBps);
        _treasuryFeeBps = feeBps;
    }

    /// @notice Sets the verifier fee for new jobs (admin), at most MAX_FEE_BPS.
    /// @param feeBps Basis points of the providers' pay.
    function setVerifierFeeBps(uint16 feeBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (feeBps > MAX_FEE_BPS) revert JobMarketFeeTooHigh(feeBps, MAX_FEE_BPS);
        emit VerifierFeeUpdated(_verifierFeeBps, feeBps);
        _verifierFeeBps = feeBps;
    }

    /// @notice Sets the collateral ratio for new quotes (admin): collateral = quoted work value × ratio.
    /// @param ratioBps Basis points of the quoted work value.
    function setCollateralRatioBps(uint32 ratioBps) external onlyRole(DEFAULT_ADMIN_ROLE) {
        emit CollateralRatioUpdated(_collateralRatioBps, ratioBps);
        _collateralRatioBps = ratioBps;
    }

    /// @notice Sets the treasury (admin).
    /// @param treasury_ New treasury address.
    function setTreasury(address treasury_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (treasury_ == address(0)) revert JobMarketZeroAddress(3, 1);
        emit TreasuryUpdated(_treasury, treasury_);
        _treasury = treasury_;
    }

    /// @notice Sets the time windows (admin); the longest challenge window must stay below the
    ///         staking unbonding period.
    /// @param w New windows, seconds.
    function setWindows(Windows calldata w) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 longest = _longest(w);
        uint256 unbonding = _staking.unbondingPeriod();
        if (longest >= unbonding) revert JobMarketWindowsTooLong(longest, unbonding);
        emit WindowsUpdated(_windows, w);
        _windows = w;
    }

    /// @notice Pauses new jobs and receipts (pauser). Settlement, closing and withdrawals go on.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Lifts the pause (pauser).
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    /// @inheritdoc IChallengeWindowSource
    function longestChallengeWindow() external view returns (uint256) {
        return _longest(_windows);
    }

    /// @inheritdoc IJobMarket
    function windows() external view returns (Windows memory) {
        return _windows;
    }

    /// @notice Wiring and fees: token, staking, registry, adjudicator, treasury, treasury fee,
    ///         verifier fee, collateral ratio.
    function config()
        external
        view
        returns (
            address token,
            address staking,
            address registry,
            address adjudicator,
            address treasury,
            uint256 treasuryFeeBps,
            uint256 verifierFeeBps,
            uint256 collateralRatioBps
        )
    {
        return (
            address(_token),
            address(_staking),
            address(_registry),
            _adjudicator,
            _treasury,
            _treasuryFeeBps,
            _verifierFeeBps,
            _collateralRatioBps
        );
    }

    function _longest(Windows memory w) internal pure returns (uint256) {
        uint256 vote = uint256(w.commit) + w.voteReveal;
        return uint256(w.reveal) + w.challenge + (w.answer > vote ? w.answer : vote);
    }

    function _checkAdjudicator() internal view {
        if (msg.sender != _adjudicator) revert JobMarketNotAdjudicator(msg.sender, _adjudicator);
    }

    function _now() internal view returns (uint256) {
        return block.timestamp;
    }
}
