// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {JobId} from "../types/Ids.sol";

/// @title VerifierDraw
/// @notice Stake-weighted random choice of a verifier that is not a provider of the job.
///         Linear in the number of stakers (fine for the sizes this testnet protocol targets;
///         a sum tree would replace it at scale). Returns address(0) when no one is eligible.
library VerifierDraw {
    uint256 internal constant ATTEMPTS = 8;

    function draw(IProviderStaking staking, IJobMarket market, JobId jobId, bytes32 seed, address exclude, uint256 minStake)
        internal
        view
        returns (address)
    {
        uint256 total = staking.totalStaked();
        uint256 n = staking.providerCount();
        if (total == 0) return address(0);
        for (uint256 attempt; attempt < ATTEMPTS; ++attempt) {
            uint256 target = uint256(keccak256(abi.encode(seed, attempt))) % total;
            uint256 acc;
            for (uint256 i; i < n; ++i) {
                address p = staking.providerAt(i);
                uint256 w = staking.stakeOf(p).staked;
                acc += w;
                if (target < acc) {
                    if (p != exclude && w >= minStake && !market.isJobProvider(jobId, p)) return p;
                    break;
                }
            }
        }
        return address(0);
    }
}
