// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ShardToken} from "../token/ShardToken.sol";
import {ProviderStaking} from "../staking/ProviderStaking.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {TestBase} from "./TestBase.sol";

/// @notice Drives ProviderStaking as three providers and as its job market, with ghost sums.
contract StakingHandler is TestBase {
    ShardToken public immutable token;
    ProviderStaking public immutable staking;
    address[3] public actors = [address(0xA11CE), address(0xB0B), address(0xCA7)];

    uint256 public ghostStakedIn;
    uint256 public ghostWithdrawn;
    uint256 public ghostSlashed;
    mapping(address => uint256) public ghostLocked;
    bool public lockedEverReleasedByWithdraw;

    constructor() {
        token = new ShardToken(address(this), 1e30, 0);
        staking = new ProviderStaking(IERC20(address(token)), address(this), 2 days, 1e18);
    }

    /// Links the handler as job market (after construction: setJobMarket calls back into it).
    function init() external {
        staking.setJobMarket(address(this));
    }

    /// The handler is the job market: its longest challenge window.
    function longestChallengeWindow() external pure returns (uint256) {
        return 1 days;
    }

    function _actor(uint256 seed) private view returns (address) {
        return actors[seed % 3];
    }

    function stake(uint256 seed, uint256 amount) external {
        address a = _actor(seed);
        amount = bound(amount, 1, 1e24);
        token.transfer(a, amount);
        vm.startPrank(a);
        token.approve(address(staking), amount);
        staking.stake(amount);
        vm.stopPrank();
        ghostStakedIn += amount;
    }

    function requestUnstake(uint256 seed, uint256 amount) external {
        address a = _actor(seed);
        uint256 free = staking.freeStake(a);
        if (free == 0) return;
        amount = bound(amount, 1, free);
        vm.prank(a);
        staking.requestUnstake(amount);
    }

    function withdraw(uint256 seed, uint256 wait) external {
        address a = _actor(seed);
        IProviderStaking.Stake memory s = staking.stakeOf(a);
        vm.warp(block.timestamp + bound(wait, 0, 3 days));
        if (s.unbonding == 0 || block.timestamp < s.unbondingReleaseAt) return;
        vm.prank(a);
        staking.withdraw();
        ghostWithdrawn += s.unbonding;
        IProviderStaking.Stake memory after_ = staking.stakeOf(a);
        if (after_.locked != ghostLocked[a] || after_.staked < after_.locked) lockedEverReleasedByWithdraw = true;
    }

    function lock(uint256 seed, uint256 amount) external {
        address a = _actor(seed);
        uint256 free = staking.freeStake(a);
        if (free == 0) return;
        amount = bound(amount, 1, free);
        staking.lock(a, 1, amount);
        ghostLocked[a] += amount;
    }

    function unlock(uint256 seed, uint256 amount) external {
        address a = _actor(seed);
        if (ghostLocked[a] == 0) return;
        amount = bound(amount, 1, ghostLocked[a]);
        staking.unlock(a, 1, amount);
        ghostLocked[a] -= amount;
    }

    function slash(uint256 seed, uint256 amount) external {
        address a = _actor(seed);
        if (ghostLocked[a] == 0) return;
        amount = bound(amount, 1, ghostLocked[a]);
        uint256 before = token.balanceOf(address(this));
        staking.slash(a, 1, amount);
        assertEq(token.balanceOf(address(this)) - before, amount, "slash proceeds");
        ghostLocked[a] -= amount;
        ghostSlashed += amount;
    }

    function registerVerifier(uint256 seed) external {
        address a = _actor(seed);
        if (staking.stakeOf(a).staked < staking.minVerifierStake() || staking.isVerifier(a)) return;
        vm.prank(a);
        staking.registerVerifier();
    }

    function deregisterVerifier(uint256 seed) external {
        address a = _actor(seed);
        if (!staking.isVerifier(a)) return;
        vm.prank(a);
        staking.deregisterVerifier();
    }

    function actorCount() external pure returns (uint256) {
        return 3;
    }
}

/// @notice Invariants: the staking contract holds exactly stake + unbonding; locked ≤ staked;
///         slashing never exceeds what was staked; unbonding never releases locked collateral.
contract StakingInvariantTest is TestBase {
    StakingHandler internal handler;

    function setUp() public {
        handler = new StakingHandler();
        handler.init();
    }

    function targetContracts() public view returns (address[] memory targets) {
        targets = new address[](1);
        targets[0] = address(handler);
    }

    function invariant_balanceEqualsStakePlusUnbonding() public view {
        ProviderStaking staking = handler.staking();
        uint256 sum;
        for (uint256 i; i < 3; ++i) {
            IProviderStaking.Stake memory s = staking.stakeOf(handler.actors(i));
            sum += uint256(s.staked) + s.unbonding;
        }
        assertEq(handler.token().balanceOf(address(staking)), sum, "balance != stake + unbonding");
        assertEq(sum, handler.ghostStakedIn() - handler.ghostWithdrawn() - handler.ghostSlashed(), "ghost flow");
    }

    function invariant_lockedWithinStakeAndTracked() public view {
        ProviderStaking staking = handler.staking();
        for (uint256 i; i < 3; ++i) {
            address a = handler.actors(i);
            IProviderStaking.Stake memory s = staking.stakeOf(a);
            assertLe(s.locked, s.staked, "locked above staked");
            assertEq(s.locked, handler.ghostLocked(a), "locked differs from ghost");
        }
    }

    /// The draw's weights follow stake: a registered verifier weighs exactly its stake (at least the
    /// minimum), and the tree's total is the sum over registered verifiers.
    function invariant_verifierWeightsFollowStake() public view {
        ProviderStaking staking = handler.staking();
        uint256 sum;
        uint256 registered;
        for (uint256 i; i < 3; ++i) {
            address a = handler.actors(i);
            uint256 staked = staking.stakeOf(a).staked;
            if (staking.isVerifier(a)) {
                assertEq(staking.verifierWeight(a), staked, "verifier weight != stake");
                assertTrue(staked >= staking.minVerifierStake(), "verifier below the minimum");
                sum += staked;
                ++registered;
            }
        }
        assertEq(staking.totalVerifierWeight(), sum, "tree total != registered stake");
        assertEq(staking.verifierCount(), registered, "verifier count");
    }

    function invariant_slashingNeverExceedsStake() public view {
        assertLe(handler.ghostSlashed(), handler.ghostStakedIn(), "slashed more than staked");
    }

    function invariant_unbondingNeverReleasesLocked() public view {
        assertTrue(!handler.lockedEverReleasedByWithdraw(), "withdraw released locked collateral");
    }

    function testFuzz_unlockOrSlashAboveLockedReverts(uint96 stakeAmount, uint96 lockAmount, uint96 extra) public {
        vm.assume(stakeAmount > 0 && lockAmount > 0 && lockAmount <= stakeAmount && extra > 0);
        handler.stake(1, stakeAmount);
        handler.lock(1, lockAmount);
        address a = handler.actors(1);
        ProviderStaking staking = handler.staking();
        uint256 locked = staking.stakeOf(a).locked;
        bytes memory err = abi.encodeWithSelector(IProviderStaking.ProviderStakingInsufficientLocked.selector, locked, locked + extra);
        vm.expectRevert(err);
        vm.prank(address(handler));
        staking.unlock(a, 1, locked + extra);
        vm.expectRevert(err);
        vm.prank(address(handler));
        staking.slash(a, 1, locked + extra);
    }

    function testFuzz_requestUnstakeAboveFreeReverts(uint96 stakeAmount, uint96 lockAmount) public {
        vm.assume(stakeAmount > 0 && lockAmount > 0 && lockAmount <= stakeAmount);
        handler.stake(0, stakeAmount);
        handler.lock(0, lockAmount);
        address a = handler.actors(0);
        ProviderStaking staking = handler.staking();
        uint256 staked = staking.stakeOf(a).staked;
        uint256 free = staking.freeStake(a);
        vm.expectRevert(abi.encodeWithSelector(IProviderStaking.ProviderStakingInsufficientFreeStake.selector, free, staked));
        vm.prank(a);
        staking.requestUnstake(staked);
    }
}
