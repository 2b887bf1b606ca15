// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Sampling
/// @notice Which requests of a receipt are spot-checked (issue 10, item 8): k = ceil(n · rate / 1e6)
///         samples with no clamp (the job market bounds a receipt to MAX_SAMPLES · 1e6 / rate
///         requests instead, so the submitter cannot dilute the rate), stratified: the receipt's
///         range is cut into k strata of near-equal size and sample j is uniform in stratum j, so
///         the samples are distinct and, for any placement of m fakes, the chance none is hit is at
///         most (1 − m/n)^k.
library Sampling {
    uint256 internal constant PPM = 1_000_000;
    /// @notice Most samples one receipt may need (bounds its size for a given rate).
    uint256 internal constant MAX_SAMPLES = 32;

    /// @notice Number of samples for `n` requests at `ratePpm` (at least 1 when both are non-zero).
    function sampleCount(uint256 n, uint256 ratePpm) internal pure returns (uint256) {
        return (n * ratePpm + PPM - 1) / PPM;
    }

    /// @notice The request index of sample `j` of `k` among requests [from, from + n): uniform in
    ///         stratum j = [from + ⌊j·n/k⌋, from + ⌊(j+1)·n/k⌋), never empty since k ≤ n.
    function sampleIndex(bytes32 seed, uint256 j, uint256 k, uint256 from, uint256 n) internal pure returns (uint256) {
        uint256 lo = (j * n) / k;
        uint256 hi = ((j + 1) * n) / k;
        return from + lo + (uint256(keccak256(abi.encode(seed, j))) % (hi - lo));
    }
}
