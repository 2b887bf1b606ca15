// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title StakeTree
/// @notice Weighted set of holders for stake-weighted random draws: a Fenwick (binary indexed) tree
///         over slots, growing by one slot at a time, with freed slots reused. Setting a weight,
///         a prefix sum and finding the slot that holds a given unit of weight are O(log n); a draw
///         that skips a set of excluded holders exactly costs O(e log n) once plus O(e + log n) per
///         draw, e being the number of excluded holders (no retries, no scans).
library StakeTree {
    /// @dev Slots are 1-based; `nodes[i - 1]` is the Fenwick node of slot i (the sum over slots
    ///      (i - lowbit(i), i]); `weights[i - 1]` and `holders[i - 1]` are slot i's own weight and
    ///      holder (zero when free).
    struct Tree {
        uint256[] nodes;
        uint256[] weights;
        address[] holders;
        uint256[] free;
        uint256 total;
        mapping(address holder => uint256 slot) slotOf;
    }

    /// @notice More excluded holders than a draw takes.
    error StakeTreeTooManyExcluded(uint256 count, uint256 max);

    /// @notice Most holders one draw may exclude.
    uint256 internal constant MAX_EXCLUDED = 64;

    /// @notice Sets `holder`'s weight (0 removes it and frees its slot).
    function set(Tree storage t, address holder, uint256 weight) internal {
        uint256 slot = t.slotOf[holder];
        if (slot == 0) {
            if (weight == 0) return;
            if (t.free.length > 0) {
                slot = t.free[t.free.length - 1];
                t.free.pop();
                t.holders[slot - 1] = holder;
                t.weights[slot - 1] = weight;
                _add(t, slot, weight, true);
            } else {
                slot = t.nodes.length + 1;
                // The new node covers slots (slot - lowbit(slot), slot]: its own weight plus the
                // sum of the slots before it in that range.
                uint256 low = slot & (~slot + 1);
                t.nodes.push(weight + prefix(t, slot - 1) - prefix(t, slot - low));
                t.weights.push(weight);
                t.holders.push(holder);
            }
            t.slotOf[holder] = slot;
            t.total += weight;
            return;
        }
        uint256 old = t.weights[slot - 1];
        if (weight == old) return;
        if (weight == 0) {
            _add(t, slot, old, false);
            t.weights[slot - 1] = 0;
            t.holders[slot - 1] = address(0);
            t.free.push(slot);
            delete t.slotOf[holder];
            t.total -= old;
        } else if (weight > old) {
            _add(t, slot, weight - old, true);
            t.weights[slot - 1] = weight;
            t.total += weight - old;
        } else {
            _add(t, slot, old - weight, false);
            t.weights[slot - 1] = weight;
            t.total -= old - weight;
        }
    }

    /// @notice Weight held by `holder` (0 when absent).
    function weightOf(Tree storage t, address holder) internal view returns (uint256) {
        uint256 slot = t.slotOf[holder];
        return slot == 0 ? 0 : t.weights[slot - 1];
    }

    /// @notice Number of holders with a weight.
    function count(Tree storage t) internal view returns (uint256) {
        return t.nodes.length - t.free.length;
    }

    /// @notice Sum of the weights of slots 1..i.
    function prefix(Tree storage t, uint256 i) internal view returns (uint256 sum) {
        // i never exceeds the slot count and each step clears its lowest set bit, so it ends at 0;
        // the sum is at most the total weight (token supply).
        unchecked {
            for (; i > 0; i &= i - 1) sum += t.nodes[i - 1];
        }
    }

    /// @notice The slot holding unit `target` (0-based) of the total weight: the smallest i with
    ///         prefix(i) > target. Requires target < total.
    function find(Tree storage t, uint256 target) internal view returns (uint256 slot) {
        uint256 n = t.nodes.length;
        uint256 step = 1;
        while (step <= n >> 1) step <<= 1;
        // slot + step <= n is checked before each read, target only drops by a node it is at
        // least as large as, and step halves to 0.
        unchecked {
            for (; step > 0; step >>= 1) {
                uint256 next = slot + step;
                if (next <= n) {
                    uint256 node = t.nodes[next - 1];
                    if (node <= target) {
                        target -= node;
                        slot = next;
                    }
                }
            }
            return slot + 1;
        }
    }

    /// @notice `count` holders drawn with replacement, each with probability proportional to its
    ///         weight among the holders not in `exclude`, from `seed`. Returns an empty list when
    ///         no weight is left after the exclusions.
    function draw(Tree storage t, bytes32 seed, uint256 count_, address[] memory exclude)
        internal
        view
        returns (address[] memory out)
    {
        if (exclude.length > MAX_EXCLUDED) revert StakeTreeTooManyExcluded(exclude.length, MAX_EXCLUDED);
        // Excluded slots, ascending, with where each one's weight starts and its weight.
        uint256[] memory start = new uint256[](exclude.length);
        uint256[] memory width = new uint256[](exclude.length);
        uint256[] memory slots = new uint256[](exclude.length);
        uint256 e;
        uint256 excluded;
        for (uint256 i; i < exclude.length; ++i) {
            uint256 slot = t.slotOf[exclude[i]];
            if (slot == 0) continue;
            bool dup;
            for (uint256 j; j < e && !dup; ++j) dup = slots[j] == slot;
            if (dup) continue;
            // Insertion sort: e <= MAX_EXCLUDED.
            uint256 pos = e;
            while (pos > 0 && slots[pos - 1] > slot) {
                slots[pos] = slots[pos - 1];
                pos--;
            }
            slots[pos] = slot;
            ++e;
        }
        for (uint256 j; j < e; ++j) {
            start[j] = prefix(t, slots[j] - 1);
            width[j] = t.weights[slots[j] - 1];
            excluded += width[j];
        }
        uint256 available = t.total - excluded;
        if (available == 0) return new address[](0);
        out = new address[](count_);
        for (uint256 d; d < count_; ++d) {
            // The d-th unit among the non-excluded weight, mapped to the full tree by stepping
            // over every excluded range that starts at or before it (ranges in ascending order).
            uint256 unit = uint256(keccak256(abi.encode(seed, d))) % available;
            for (uint256 j; j < e; ++j) if (start[j] <= unit) unit += width[j];
            out[d] = t.holders[find(t, unit) - 1];
        }
    }

    function _add(Tree storage t, uint256 slot, uint256 delta, bool up) private {
        uint256 n = t.nodes.length;
        // Indices: slot <= n and adding the lowest set bit moves strictly up, stopping past n.
        // Sums: every node is a sum of weights (at most the token supply, far below 2^256), and
        // a node covering `slot` includes its weight, so taking `delta` (<= that weight) off it
        // cannot underflow.
        unchecked {
            for (uint256 i = slot; i <= n; i += i & (~i + 1)) {
                if (up) t.nodes[i - 1] += delta;
                else t.nodes[i - 1] -= delta;
            }
        }
    }
}
