// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IProviderStaking, IChallengeWindowSource} from "../interfaces/IProviderStaking.sol";
import {StakeTree} from "../libraries/StakeTree.sol";

/// @title ProviderStaking
/// @notice Provider stake, peer id binding, unbonding, and job collateral (locked / slashed by the
///         job market only). Locked stake cannot be unstaked; slashed stake leaves for the job market.
///         Stakers who run a verifier register as verifiers: only they are drawn to check samples
///         and sit on committees, stake-weighted, from a sum tree kept in step with their stake.
contract ProviderStaking is IProviderStaking, AccessControl {
    using SafeERC20 for IERC20;
    using StakeTree for StakeTree.Tree;

    /// @notice Longest accepted peer id (multihash bytes).
    uint256 public constant MAX_PEER_ID_LENGTH = 128;

    IERC20 private immutable _token;
    /// @dev Stake a verifier needs to register and to stay registered (immutable: no admin can
    ///      move the bar under registered verifiers).
    uint256 private immutable _minVerifierStake;
    address private _jobMarket;
    uint256 private _unbondingPeriod;
    uint256 private _totalStaked;
    mapping(address provider => Stake) private _stakes;
    mapping(address provider => bytes) private _peerIds;
    mapping(address provider => string) private _metadataURIs;
    mapping(bytes32 peerIdHash => address provider) private _peerOwners;
    StakeTree.Tree private _verifiers;

    /// @param token_ The staking token.
    /// @param admin Holds DEFAULT_ADMIN_ROLE (sets the job market once and the unbonding period).
    /// @param unbondingPeriod_ Initial unbonding period, seconds (checked against the market when it is set).
    /// @param minVerifierStake_ Stake a verifier needs (> 0): a bar against dust registrations.
    constructor(IERC20 token_, address admin, uint256 unbondingPeriod_, uint256 minVerifierStake_) {
        if (minVerifierStake_ == 0) revert ProviderStakingZeroAmount(0, 1);
        _token = token_;
        _unbondingPeriod = unbondingPeriod_;
        _minVerifierStake = minVerifierStake_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    /// @inheritdoc IProviderStaking
    function registerVerifier() external {
        uint256 staked = _stakes[msg.sender].staked;
        if (staked < _minVerifierStake) revert ProviderStakingBelowVerifierMinimum(staked, _minVerifierStake);
        if (_verifiers.weightOf(msg.sender) != 0) revert ProviderStakingAlreadyVerifier(msg.sender);
        _verifiers.set(msg.sender, staked);
        emit VerifierRegistered(msg.sender, staked);
    }

    /// @inheritdoc IProviderStaking
    function deregisterVerifier() external {
        if (_verifiers.weightOf(msg.sender) == 0) revert ProviderStakingNotVerifier(msg.sender);
        _verifiers.set(msg.sender, 0);
        emit VerifierDeregistered(msg.sender);
    }

    /// @inheritdoc IProviderStaking
    function stake(uint256 amount) external {
        _stake(msg.sender, amount);
    }

    /// @inheritdoc IProviderStaking
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external {
        // A front-run permit (already used) must not block the stake: fall through to the allowance.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _stake(msg.sender, amount);
    }

    /// @inheritdoc IProviderStaking
    function bindPeer(bytes calldata peerId, string calldata metadataURI) external {
        if (peerId.length == 0 || peerId.length > MAX_PEER_ID_LENGTH) {
            revert ProviderStakingBadPeerId(peerId.length, MAX_PEER_ID_LENGTH);
        }
        bytes32 key = keccak256(peerId);
        address owner = _peerOwners[key];
        if (owner != address(0) && owner != msg.sender) revert ProviderStakingPeerIdTaken(owner, msg.sender);
        bytes storage previous = _peerIds[msg.sender];
        if (previous.length > 0) delete _peerOwners[keccak256(previous)];
        _peerOwners[key] = msg.sender;
        _peerIds[msg.sender] = peerId;
        _metadataURIs[msg.sender] = metadataURI;
        emit PeerBound(msg.sender, peerId, metadataURI);
    }

    /// @inheritdoc IProviderStaking
    function requestUnstake(uint256 amount) external {
        Stake storage s = _stakes[msg.sender];
        uint256 free = s.staked - s.locked;
        if (amount == 0) revert ProviderStakingZeroAmount(amount, 1);
        if (amount > free) revert ProviderStakingInsufficientFreeStake(free, amount);
        uint256 releaseAt = _now() + _unbondingPeriod;
        // amount <= free <= staked, and unbonding + amount <= total supply < 2^128.
        s.staked -= uint128(amount);
        s.unbonding += uint128(amount);
        s.unbondingReleaseAt = uint64(releaseAt);
        _totalStaked -= amount;
        _syncVerifier(msg.sender, s.staked);
        emit UnstakeRequested(msg.sender, amount, s.unbonding, releaseAt);
    }

    /// @inheritdoc IProviderStaking
    function withdraw() external {
        Stake storage s = _stakes[msg.sender];
        uint256 amount = s.unbonding;
        if (amount == 0) revert ProviderStakingZeroAmount(0, 1);
        if (_now() < s.unbondingReleaseAt) revert ProviderStakingUnbondingNotOver(_now(), s.unbondingReleaseAt);
        s.unbonding = 0;
        s.unbondingReleaseAt = 0;
        _token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @inheritdoc IProviderStaking
    function lock(address provider, uint256 jobId, uint256 amount) external {
        _checkJobMarket();
        Stake storage s = _stakes[provider];
        uint256 free = s.staked - s.locked;
        if (amount > free) revert ProviderStakingInsufficientFreeStake(free, amount);
        s.locked += uint128(amount);
        emit CollateralLocked(provider, jobId, amount);
    }

    /// @inheritdoc IProviderStaking
    function unlock(address provider, uint256 jobId, uint256 amount) external {
        _checkJobMarket();
        Stake storage s = _stakes[provider];
        if (amount > s.locked) revert ProviderStakingInsufficientLocked(s.locked, amount);
        s.locked -= uint128(amount);
        emit CollateralUnlocked(provider, jobId, amount);
    }

    /// @inheritdoc IProviderStaking
    function slash(address provider, uint256 jobId, uint256 amount) external {
        _checkJobMarket();
        Stake storage s = _stakes[provider];
        if (amount > s.locked) revert ProviderStakingInsufficientLocked(s.locked, amount);
        // locked <= staked, so both subtractions are safe.
        s.locked -= uint128(amount);
        s.staked -= uint128(amount);
        _totalStaked -= amount;
        _syncVerifier(provider, s.staked);
        _token.safeTransfer(msg.sender, amount);
        emit Slashed(provider, jobId, amount);
    }

    /// @notice Sets the job market once (admin); checks the unbonding period against its windows.
    /// @param market The JobMarket contract.
    function setJobMarket(address market) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_jobMarket != address(0)) revert ProviderStakingJobMarketAlreadySet(_jobMarket, market);
        uint256 longest = IChallengeWindowSource(market).longestChallengeWindow();
        if (_unbondingPeriod <= longest) revert ProviderStakingUnbondingTooShort(_unbondingPeriod, longest);
        _jobMarket = market;
        emit JobMarketSet(market);
    }

    /// @notice Sets the unbonding period (admin); must exceed the market's longest challenge window.
    /// @param period Seconds.
    function setUnbondingPeriod(uint256 period) external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 longest = _jobMarket == address(0) ? 0 : IChallengeWindowSource(_jobMarket).longestChallengeWindow();
        if (period <= longest) revert ProviderStakingUnbondingTooShort(period, longest);
        emit UnbondingPeriodUpdated(_unbondingPeriod, period);
        _unbondingPeriod = period;
    }

    /// @inheritdoc IProviderStaking
    function stakeOf(address provider) external view returns (Stake memory) {
        return _stakes[provider];
    }

    /// @inheritdoc IProviderStaking
    function freeStake(address provider) external view returns (uint256) {
        Stake storage s = _stakes[provider];
        return s.staked - s.locked;
    }

    /// @inheritdoc IProviderStaking
    function peerIdOf(address provider) external view returns (bytes memory) {
        return _peerIds[provider];
    }

    /// @inheritdoc IProviderStaking
    function metadataURIOf(address provider) external view returns (string memory) {
        return _metadataURIs[provider];
    }

    /// @inheritdoc IProviderStaking
    function providerOfPeer(bytes calldata peerId) external view returns (address) {
        return _peerOwners[keccak256(peerId)];
    }

    /// @inheritdoc IProviderStaking
    function unbondingPeriod() external view returns (uint256) {
        return _unbondingPeriod;
    }

    /// @inheritdoc IProviderStaking
    function totalStaked() external view returns (uint256) {
        return _totalStaked;
    }

    /// @inheritdoc IProviderStaking
    function isVerifier(address account) external view returns (bool) {
        return _verifiers.weightOf(account) != 0;
    }

    /// @inheritdoc IProviderStaking
    function verifierWeight(address account) external view returns (uint256) {
        return _verifiers.weightOf(account);
    }

    /// @inheritdoc IProviderStaking
    function verifierCount() external view returns (uint256) {
        return _verifiers.count();
    }

    /// @inheritdoc IProviderStaking
    function totalVerifierWeight() external view returns (uint256) {
        return _verifiers.total;
    }

    /// @inheritdoc IProviderStaking
    function minVerifierStake() external view returns (uint256) {
        return _minVerifierStake;
    }

    /// @inheritdoc IProviderStaking
    function drawVerifiers(bytes32 seed, uint256 count, address[] calldata exclude) external view returns (address[] memory) {
        return _verifiers.draw(seed, count, exclude);
    }

    /// @notice The staking token.
    function token() external view returns (IERC20) {
        return _token;
    }

    /// @notice The job market allowed to lock, unlock and slash.
    function jobMarket() external view returns (address) {
        return _jobMarket;
    }

    function _stake(address provider, uint256 amount) private {
        if (amount == 0) revert ProviderStakingZeroAmount(amount, 1);
        Stake storage s = _stakes[provider];
        s.staked += SafeCast.toUint128(amount);
        _totalStaked += amount;
        _syncVerifier(provider, s.staked);
        _token.safeTransferFrom(provider, address(this), amount);
        emit Staked(provider, amount, s.staked);
    }

    /// @dev Keeps a registered verifier's weight equal to its stake; below the minimum it drops out
    ///      (and must register again once it has the stake).
    function _syncVerifier(address account, uint256 staked) private {
        if (_verifiers.weightOf(account) == 0) return;
        if (staked >= _minVerifierStake) {
            _verifiers.set(account, staked);
        } else {
            _verifiers.set(account, 0);
            emit VerifierDeregistered(account);
        }
    }

    function _checkJobMarket() private view {
        if (msg.sender != _jobMarket) revert ProviderStakingNotJobMarket(msg.sender, _jobMarket);
    }

    function _now() private view returns (uint256) {
        return block.timestamp;
    }
}
