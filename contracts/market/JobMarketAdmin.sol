// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {IProtocolParams} from "../interfaces/IProtocolParams.sol";
import {IProviderStaking, IChallengeWindowSource} from "../interfaces/IProviderStaking.sol";

/// @title JobMarketAdmin
/// @notice The job market's wiring: token, staking, registry, the versioned parameters and the
///         one-time adjudicators link. The market has no admin: fees, collateral, windows, bonds,
///         the treasury and the pause of new jobs live in ProtocolParams (bounded, delayed, and
///         snapshotted per job where they touch one).
abstract contract JobMarketAdmin is IJobMarket, IChallengeWindowSource {
    IERC20 internal immutable _token;
    IProviderStaking internal immutable _staking;
    IModelRegistry internal immutable _registry;
    IProtocolParams internal immutable _params;
    /// @dev The only account that may link the adjudicators, once.
    address private immutable _deployer;
    address internal _spotCheck;
    address internal _disputes;

    constructor(IERC20 token_, IProviderStaking staking_, IModelRegistry registry_, IProtocolParams params_) {
        if (address(token_) == address(0)) revert JobMarketZeroAddress(0, 1);
        if (address(staking_) == address(0)) revert JobMarketZeroAddress(1, 1);
        if (address(registry_) == address(0)) revert JobMarketZeroAddress(2, 1);
        if (address(params_) == address(0)) revert JobMarketZeroAddress(5, 1);
        _token = token_;
        _staking = staking_;
        _registry = registry_;
        _params = params_;
        _deployer = msg.sender;
    }

    /// @notice Links the adjudicators, once, by the deployer (wiring, not administration: they
    ///         cannot be changed afterwards).
    /// @param spotCheck_ The SpotCheck contract (samples, reveals, attestations).
    /// @param disputes_ The Disputes contract (challenges, committees, zk answers).
    function setAdjudicators(address spotCheck_, address disputes_) external {
        if (msg.sender != _deployer) revert JobMarketNotDeployer(msg.sender, _deployer);
        if (_spotCheck != address(0)) revert JobMarketAdjudicatorAlreadySet(_spotCheck, spotCheck_);
        if (spotCheck_ == address(0) || disputes_ == address(0)) revert JobMarketZeroAddress(4, 1);
        _spotCheck = spotCheck_;
        _disputes = disputes_;
        emit AdjudicatorsSet(spotCheck_, disputes_);
    }

    /// @inheritdoc IChallengeWindowSource
    function longestChallengeWindow() external view returns (uint256) {
        return _params.longestWindowEver();
    }

    /// @notice Wiring: token, staking, registry, parameters, SpotCheck, Disputes.
    function config()
        external
        view
        returns (address token, address staking, address registry, address params, address spotCheck, address disputes)
    {
        return (address(_token), address(_staking), address(_registry), address(_params), _spotCheck, _disputes);
    }

    function _checkAdjudicator() internal view {
        if (msg.sender != _spotCheck && msg.sender != _disputes) revert JobMarketNotAdjudicator(msg.sender, _spotCheck);
    }

    function _now() internal view returns (uint256) {
        return block.timestamp;
    }
}
