// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {JobId} from "../types/Ids.sol";

/// @title VerifierDraw
/// @notice Stake-weighted random choice of a verifier that is not a provider of the job.
///         Linear in the number of stakers, so it only scans the first MAX_SCAN of them: a bounded
///         cost keeps reveals (which draw the receipt's verifier) from ever running out of gas.
///         A sum tree would replace it at scale. Returns address(0) only when no one is eligible:
///         after ATTEMPTS draws over all stake have hit ineligible stakers (the job's providers
///         holding most of it), one more draw runs over the eligible stake alone, so the choice
///         stays stake-weighted among the eligible and an eligible verifier is never missed.
library VerifierDraw {
    uint256 internal constant ATTEMPTS = 8;
    uint256 internal constant MAX_SCAN = 64;

    function draw(IProviderStaking staking, IJobMarket market, JobId jobId, bytes32 seed, address exclude, uint256 minStake)
        internal
        view
        returns (address)
    {
        uint256 n = staking.providerCount();
        if (n > MAX_SCAN) n = MAX_SCAN;
        address[] memory who = new address[](n);
        uint256[] memory weight = new uint256[](n);
        uint256 total;
        for (uint256 i; i < n; ++i) {
            (who[i], weight[i]) = staking.weightAt(i);
            total += weight[i];
        }
        if (total == 0) return address(0);
        for (uint256 attempt; attempt < ATTEMPTS; ++attempt) {
            uint256 target = uint256(keccak256(abi.encode(seed, attempt))) % total;
            uint256 acc;
            for (uint256 i; i < n; ++i) {
                acc += weight[i];
                if (target < acc) {
                    address p = who[i];
                    if (_eligible(market, jobId, p, weight[i], exclude, minStake)) return p;
                    break;
                }
            }
        }
        bool[] memory ok = new bool[](n);
        uint256 eligibleTotal;
        for (uint256 i; i < n; ++i) {
            if (weight[i] != 0 && _eligible(market, jobId, who[i], weight[i], exclude, minStake)) {
                ok[i] = true;
                eligibleTotal += weight[i];
            }
        }
        if (eligibleTotal == 0) return address(0);
        uint256 t = uint256(keccak256(abi.encode(seed, ATTEMPTS))) % eligibleTotal;
        uint256 sum;
        for (uint256 i; i < n; ++i) {
            if (!ok[i]) continue;
            sum += weight[i];
            if (t < sum) return who[i];
        }
        return address(0);
    }

    function _eligible(IJobMarket market, JobId jobId, address p, uint256 weight, address exclude, uint256 minStake)
        private
        view
        returns (bool)
    {
        return p != exclude && weight >= minStake && !market.isJobProvider(jobId, p);
    }
}
