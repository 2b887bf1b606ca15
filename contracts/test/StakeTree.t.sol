// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {StakeTree} from "../libraries/StakeTree.sol";
import {TestBase} from "./TestBase.sol";

/// @notice The sum tree against a plain array model: after any sequence of weight changes
///         (appends, raises, cuts, removals, slot reuse) every prefix sum and every `find` agrees
///         with a linear scan, and a draw never returns an excluded or weightless holder.
contract StakeTreeTest is TestBase {
    using StakeTree for StakeTree.Tree;

    StakeTree.Tree internal tree;
    address[] internal who;
    mapping(address => uint256) internal model;

    function _holder(uint256 i) private pure returns (address) {
        return address(uint160(0x1000 + i));
    }

    function _apply(uint256[] memory ops) private {
        for (uint256 i; i < 24; ++i) who.push(_holder(i));
        for (uint256 i; i < ops.length && i < 64; ++i) {
            address h = who[ops[i] % 24];
            // A third of the operations remove, the rest set a weight up to 2^96.
            uint256 w = (ops[i] >> 8) % 3 == 0 ? 0 : 1 + ((ops[i] >> 16) % (1 << 96));
            tree.set(h, w);
            model[h] = w;
        }
    }

    function _modelTotal() private view returns (uint256 sum) {
        for (uint256 i; i < who.length; ++i) sum += model[who[i]];
    }

    function testFuzz_matchesLinearModel(uint256[] memory ops, uint256 target) public {
        _apply(ops);
        uint256 total = _modelTotal();
        assertEq(tree.total, total, "total");
        uint256 n = tree.nodes.length;
        uint256 running;
        uint256 live;
        for (uint256 slot = 1; slot <= n; ++slot) {
            address h = tree.holders[slot - 1];
            assertEq(tree.weights[slot - 1], model[h], "slot weight");
            if (h != address(0)) {
                assertEq(tree.slotOf[h], slot, "slot index");
                ++live;
            }
            running += tree.weights[slot - 1];
            assertEq(tree.prefix(slot), running, "prefix");
        }
        assertEq(tree.count(), live, "count");
        if (total == 0) return;
        target %= total;
        // Linear scan: the slot whose range holds `target`.
        uint256 acc;
        uint256 expected;
        for (uint256 slot = 1; slot <= n; ++slot) {
            acc += tree.weights[slot - 1];
            if (target < acc) {
                expected = slot;
                break;
            }
        }
        assertEq(tree.find(target), expected, "find");
    }

    function testFuzz_drawSkipsExcludedExactly(uint256[] memory ops, bytes32 seed, uint8 excludeMask) public {
        _apply(ops);
        address[] memory exclude = new address[](8);
        uint256 excludedWeight;
        for (uint256 i; i < 8; ++i) {
            if (excludeMask & (1 << i) != 0) {
                exclude[i] = who[i];
                excludedWeight += model[who[i]];
            }
        }
        address[] memory got = tree.draw(seed, 16, exclude);
        if (tree.total == excludedWeight) {
            assertEq(got.length, 0, "nobody left to draw");
            return;
        }
        assertEq(got.length, 16, "draw count");
        for (uint256 d; d < got.length; ++d) {
            assertTrue(model[got[d]] > 0, "drew a holder without weight");
            for (uint256 i; i < 8; ++i) assertTrue(exclude[i] == address(0) || got[d] != exclude[i], "drew an excluded holder");
        }
    }

    /// Every unit of the non-excluded weight maps to its own holder: with weights 1..5 and the
    /// second holder excluded, units 0..12 of the remaining 13 land on holders 1, 3, 4, 5 in order.
    function test_exclusionMapsUnitsInOrder() public {
        for (uint256 i; i < 5; ++i) tree.set(_holder(i), i + 1);
        address[] memory exclude = new address[](1);
        exclude[0] = _holder(1);
        uint256[5] memory seen;
        // 13 units remain; seeds are arbitrary, so count where 2,000 draws land instead.
        address[] memory got = tree.draw(keccak256("spread"), 2_000, exclude);
        for (uint256 d; d < got.length; ++d) seen[uint160(got[d]) - 0x1000] += 1;
        assertEq(seen[1], 0, "excluded holder drawn");
        // Expected 2000 × w / 13: 154, 462, 615, 769; allow ±25 % of each.
        uint256[4] memory w = [uint256(1), 3, 4, 5];
        uint256[4] memory idx = [uint256(0), 2, 3, 4];
        for (uint256 j; j < 4; ++j) {
            uint256 expect = (2_000 * w[j]) / 13;
            assertTrue(seen[idx[j]] * 4 >= expect * 3 && seen[idx[j]] * 4 <= expect * 5, "draw share off its stake");
        }
    }
}
