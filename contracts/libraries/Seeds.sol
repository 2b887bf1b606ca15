// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title Seeds
/// @notice Randomness for samples and committees (issue 10, item 2). A seed is anchored at the
///         block of the transaction that needs it and comes from the hash of the next block, which
///         nobody knew when the anchor was set. Anyone may fix it once that block is mined; if its
///         hash has left the 256-block window, the seed re-anchors to a new future block instead
///         of falling back to any value the caller could time. Windows are counted from the moment
///         a seed is fixed, so waiting gains nothing.
///         What remains: the producer of the target block can grind its hash (it chooses the
///         block's contents); on a chain with one sequencer, plug a VRF or a relayed beacon in here
///         (docs/PROTOCOL.md, "Seeds").
library Seeds {
    /// @notice Blocks between the anchor and the block whose hash is the seed.
    uint256 internal constant DELAY = 1;
    /// @notice How far back `blockhash` reaches.
    uint256 internal constant HORIZON = 256;

    enum Outcome {
        NotReady,
        Fixed,
        Reanchored
    }

    /// @notice Tries to turn an anchor into a seed, bound to `domain` (what the seed is for).
    /// @return outcome NotReady (target not mined yet), Fixed (seed returned) or Reanchored
    ///         (target hash gone: `newAnchor` is this block, the caller stores it and tries later).
    function fix(uint256 anchor, bytes32 domain) internal view returns (Outcome outcome, bytes32 seed, uint256 newAnchor) {
        uint256 target = anchor + DELAY;
        if (block.number <= target) return (Outcome.NotReady, bytes32(0), anchor);
        bytes32 h = blockhash(target);
        if (h == bytes32(0)) return (Outcome.Reanchored, bytes32(0), block.number);
        return (Outcome.Fixed, keccak256(abi.encode(h, domain)), anchor);
    }

    /// @notice First block at which `fix` can succeed for `anchor`.
    function readyAt(uint256 anchor) internal pure returns (uint256) {
        return anchor + DELAY + 1;
    }
}
