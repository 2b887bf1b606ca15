// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";

/// @title IProviderStaking
/// @notice Provider stake: the collateral behind open jobs, the weight in verifier draws, and the
///         on-chain binding between a provider's address and its libp2p peer id.
/// @dev Carries the token's ERC-6093 errors in its ABI, so that a stake whose transfer fails
///      (allowance or balance too small) decodes by name with this contract's ABI alone.
interface IProviderStaking is IERC20Errors {
    /// @notice A provider's balances. `staked` includes `locked`; `unbonding` is on its way out.
    struct Stake {
        uint128 staked;
        uint128 locked;
        uint128 unbonding;
        uint64 unbondingReleaseAt;
    }

    /// @notice The amount is zero.
    error ProviderStakingZeroAmount(uint256 amount, uint256 minimum);
    /// @notice Not enough stake that is neither locked nor unbonding.
    error ProviderStakingInsufficientFreeStake(uint256 free, uint256 needed);
    /// @notice Not enough locked collateral for this unlock or slash.
    error ProviderStakingInsufficientLocked(uint256 locked, uint256 needed);
    /// @notice The unbonding period has not ended yet.
    error ProviderStakingUnbondingNotOver(uint256 nowTime, uint256 releaseAt);
    /// @notice The peer id is empty or longer than MAX_PEER_ID_LENGTH.
    error ProviderStakingBadPeerId(uint256 length, uint256 maxLength);
    /// @notice The peer id is already bound to another provider.
    error ProviderStakingPeerIdTaken(address owner, address caller);
    /// @notice Only the job market may do this.
    error ProviderStakingNotJobMarket(address caller, address jobMarket);
    /// @notice The job market was already set.
    error ProviderStakingJobMarketAlreadySet(address current, address proposed);
    /// @notice The unbonding period must exceed the job market's longest challenge window.
    error ProviderStakingUnbondingTooShort(uint256 unbondingPeriod, uint256 longestChallengeWindow);
    /// @notice Registering as a verifier needs at least the minimum verifier stake.
    error ProviderStakingBelowVerifierMinimum(uint256 staked, uint256 minimum);
    /// @notice The caller is already a registered verifier.
    error ProviderStakingAlreadyVerifier(address account);
    /// @notice The caller is not a registered verifier.
    error ProviderStakingNotVerifier(address account);

    /// @notice Tokens were staked.
    event Staked(address indexed provider, uint256 amount, uint256 totalStaked);
    /// @notice A provider bound (or re-bound) its libp2p peer id and metadata.
    event PeerBound(address indexed provider, bytes peerId, string metadataURI);
    /// @notice Stake moved to unbonding; it can be withdrawn at `releaseAt`.
    event UnstakeRequested(address indexed provider, uint256 amount, uint256 totalUnbonding, uint256 releaseAt);
    /// @notice Unbonded tokens were withdrawn.
    event Withdrawn(address indexed provider, uint256 amount);
    /// @notice Collateral was locked for a job.
    event CollateralLocked(address indexed provider, uint256 indexed jobId, uint256 amount);
    /// @notice Collateral was released after a job.
    event CollateralUnlocked(address indexed provider, uint256 indexed jobId, uint256 amount);
    /// @notice Locked stake was slashed and sent to the job market for distribution.
    event Slashed(address indexed provider, uint256 indexed jobId, uint256 amount);
    /// @notice The unbonding period changed.
    event UnbondingPeriodUpdated(uint256 oldPeriod, uint256 newPeriod);
    /// @notice The job market was set.
    event JobMarketSet(address indexed jobMarket);
    /// @notice A staker registered as a verifier with `weight` (its stake).
    event VerifierRegistered(address indexed verifier, uint256 weight);
    /// @notice A verifier left the draw (by itself, or its stake fell below the minimum).
    event VerifierDeregistered(address indexed verifier);

    /// @notice Stakes `amount` (after an ERC20 approval).
    /// @param amount Token wei.
    function stake(uint256 amount) external;

    /// @notice Stakes `amount` using an EIP-2612 permit signed by the caller.
    /// @param amount Token wei (also the permit value).
    /// @param deadline Permit deadline.
    /// @param v Permit signature v.
    /// @param r Permit signature r.
    /// @param s Permit signature s.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Binds the caller's libp2p peer id (its multihash bytes) and a metadata URI.
    /// @param peerId Peer id bytes (`peerId.toMultihash().bytes`).
    /// @param metadataURI Where the provider's public metadata (addresses, hardware) lives.
    function bindPeer(bytes calldata peerId, string calldata metadataURI) external;

    /// @notice Moves free stake to unbonding; restarts the unbonding clock for the whole unbonding balance.
    /// @param amount Token wei.
    function requestUnstake(uint256 amount) external;

    /// @notice Withdraws the unbonding balance once the unbonding period is over.
    function withdraw() external;

    /// @notice Locks `amount` of a provider's free stake as collateral for a job (job market only).
    function lock(address provider, uint256 jobId, uint256 amount) external;

    /// @notice Releases job collateral (job market only).
    function unlock(address provider, uint256 jobId, uint256 amount) external;

    /// @notice Slashes locked collateral and sends it to the job market (job market only).
    function slash(address provider, uint256 jobId, uint256 amount) external;

    /// @notice A provider's balances.
    function stakeOf(address provider) external view returns (Stake memory);

    /// @notice Free stake: staked minus locked.
    function freeStake(address provider) external view returns (uint256);

    /// @notice The provider's bound peer id (empty when none).
    function peerIdOf(address provider) external view returns (bytes memory);

    /// @notice The provider's metadata URI.
    function metadataURIOf(address provider) external view returns (string memory);

    /// @notice Reverse lookup: the provider a peer id is bound to (zero when none).
    function providerOfPeer(bytes calldata peerId) external view returns (address);

    /// @notice Unbonding period, seconds.
    function unbondingPeriod() external view returns (uint256);

    /// @notice Total active stake (weight for verifier draws).
    function totalStaked() external view returns (uint256);

    /// @notice Registers the caller as a verifier (a running verifier does this when it starts):
    ///         from now on it is drawn to check samples and to sit on committees, weighted by its
    ///         stake. Needs at least `minVerifierStake`.
    function registerVerifier() external;

    /// @notice Leaves the verifier draw (a verifier that stops running should).
    function deregisterVerifier() external;

    /// @notice Whether `account` is a registered verifier.
    function isVerifier(address account) external view returns (bool);

    /// @notice A registered verifier's draw weight (its stake; 0 when not registered).
    function verifierWeight(address account) external view returns (uint256);

    /// @notice Number of registered verifiers.
    function verifierCount() external view returns (uint256);

    /// @notice Sum of registered verifiers' weights.
    function totalVerifierWeight() external view returns (uint256);

    /// @notice Stake needed to register and stay registered as a verifier (fixed at deployment).
    function minVerifierStake() external view returns (uint256);

    /// @notice `count` registered verifiers drawn with replacement, stake-weighted, never one in
    ///         `exclude` (their weight is skipped exactly); empty when nobody else is registered.
    ///         O(|exclude| log n + count (|exclude| + log n)).
    function drawVerifiers(bytes32 seed, uint256 count, address[] calldata exclude) external view returns (address[] memory);
}

/// @notice Implemented by the job market so the staking contract can check the unbonding period.
interface IChallengeWindowSource {
    /// @notice Longest time from receipt submission to the last possible dispute resolution, seconds.
    function longestChallengeWindow() external view returns (uint256);
}
