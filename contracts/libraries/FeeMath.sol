// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title FeeMath
/// @notice Escrow and fee arithmetic. Fees are basis points of the providers' pay; the escrow
///         reserve rounds up and settlement rounds down, so settlement never exceeds the reserve.
library FeeMath {
    uint256 internal constant BPS = 10_000;

    /// @notice Escrow per inference: stage prices plus royalty, verifier and treasury fees, rounded up.
    function perInference(uint256 stagePriceSum, uint256 feesBps) internal pure returns (uint256) {
        return stagePriceSum + ceilBps(stagePriceSum, feesBps);
    }

    /// @notice `amount * bps / 10_000`, rounded down.
    function bps(uint256 amount, uint256 basisPoints) internal pure returns (uint256) {
        return (amount * basisPoints) / BPS;
    }

    /// @notice `amount * bps / 10_000`, rounded up.
    function ceilBps(uint256 amount, uint256 basisPoints) internal pure returns (uint256) {
        return (amount * basisPoints + BPS - 1) / BPS;
    }
}
