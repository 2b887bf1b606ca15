// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Sampling
/// @notice Which requests of a receipt are spot-checked: k = ceil(n * rate / 1e6) clamped to
///         [1, MAX_SAMPLES], index j = from + keccak256(seed, j) mod n.
library Sampling {
    uint256 internal constant PPM = 1_000_000;
    uint256 internal constant MAX_SAMPLES = 8;

    /// @notice Number of samples for `n` requests at `ratePpm`.
    function sampleCount(uint256 n, uint256 ratePpm) internal pure returns (uint256 k) {
        k = (n * ratePpm + PPM - 1) / PPM;
        if (k == 0) k = 1;
        if (k > MAX_SAMPLES) k = MAX_SAMPLES;
    }

    /// @notice The request index of sample `j` among requests [from, from + n).
    function sampleIndex(bytes32 seed, uint256 j, uint256 from, uint256 n) internal pure returns (uint256) {
        return from + (uint256(keccak256(abi.encode(seed, j))) % n);
    }
}
