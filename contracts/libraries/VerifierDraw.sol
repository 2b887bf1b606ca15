// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {JobId} from "../types/Ids.sol";

/// @title VerifierDraw
/// @notice Stake-weighted draws among registered verifiers (ProviderStaking's sum tree) that never
///         pick a provider of the job or one of the given parties: their weight is skipped exactly.
library VerifierDraw {
    /// @notice `count` verifiers drawn with replacement from `seed`, none a provider of `jobId` nor
    ///         in `parties`; empty when no registered verifier is left after the exclusions.
    function draw(IProviderStaking staking, IJobMarket market, JobId jobId, bytes32 seed, uint256 count, address[] memory parties)
        internal
        view
        returns (address[] memory)
    {
        address[] memory providers = market.jobProviders(jobId);
        address[] memory exclude = new address[](providers.length + parties.length);
        for (uint256 i; i < providers.length; ++i) exclude[i] = providers[i];
        for (uint256 i; i < parties.length; ++i) exclude[providers.length + i] = parties[i];
        return staking.drawVerifiers(seed, count, exclude);
    }
}
