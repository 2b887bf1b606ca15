// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {FeeMath} from "../libraries/FeeMath.sol";
import {Sampling} from "../libraries/Sampling.sol";
import {ReceiptHashing} from "../libraries/ReceiptHashing.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {TestBase} from "./TestBase.sol";

/// @notice Fuzz tests of the pure libraries: escrow always covers settlement (nothing is paid
///         beyond what was escrowed), sampling stays in range, single-leaf trees verify.
contract LibrariesTest is TestBase {
    /// Escrow reserved at open covers any split of the served requests over receipts and stages.
    function testFuzz_escrowCoversSettlement(uint96 p0, uint96 p1, uint96 p2, uint16 royalty, uint16 fees, uint32 n, uint32 cut)
        public
        pure
    {
        n = uint32(bound(n, 1, 1_000_000));
        uint256 feeBps = bound(royalty, 0, 2000) + bound(fees, 0, 2000);
        uint256 priceSum = uint256(p0) + p1 + p2;
        uint256 reserve = uint256(n) * FeeMath.perInference(priceSum, feeBps);
        uint256 a = bound(cut, 0, n);
        uint256 paid;
        // two receipts [0, a) and [a, n), each paying stage prices plus floor fees
        for (uint256 r; r < 2; ++r) {
            uint256 count = r == 0 ? a : n - a;
            uint256 pay = count * priceSum;
            paid += pay + FeeMath.bps(pay, feeBps);
        }
        assertLe(paid, reserve, "settlement exceeds escrow");
    }

    /// Three fee kinds rounded down separately never exceed the combined rounded-up reserve.
    function testFuzz_separateFeesWithinReserve(uint128 pay, uint16 a, uint16 b, uint16 c) public pure {
        uint256 ba = bound(a, 0, 2000);
        uint256 bb = bound(b, 0, 1000);
        uint256 bc = bound(c, 0, 1000);
        uint256 sum = FeeMath.bps(pay, ba) + FeeMath.bps(pay, bb) + FeeMath.bps(pay, bc);
        assertLe(sum, FeeMath.ceilBps(pay, ba + bb + bc), "fees exceed reserve");
    }

    /// k = ceil(n·rate): at least one sample, never more than requests, no cap the submitter can
    /// dilute (item 8: a 4,000-request receipt at 1 % gets 40 samples, not 8).
    function testFuzz_sampleCountFollowsRate(uint32 n, uint32 rate) public pure {
        n = uint32(bound(n, 1, type(uint32).max));
        rate = uint32(bound(rate, 1, 1_000_000));
        uint256 k = Sampling.sampleCount(n, rate);
        assertTrue(k >= 1 && k <= n, "k out of [1, n]");
        assertTrue(k * 1_000_000 >= uint256(n) * rate && (k - 1) * 1_000_000 < uint256(n) * rate, "k != ceil(n * rate)");
        assertEq(Sampling.sampleCount(4_000, 10_000), 40, "4,000 requests at 1 %");
    }

    /// Stratified samples: each in its own stratum of the receipt, so all distinct and in range.
    function testFuzz_stratifiedSamplesDistinctInRange(bytes32 seed, uint32 from, uint16 n, uint8 k) public pure {
        n = uint16(bound(n, 1, 5_000));
        k = uint8(bound(k, 1, n < 32 ? n : 32));
        uint256 prev;
        for (uint256 j; j < k; ++j) {
            uint256 i = Sampling.sampleIndex(seed, j, k, from, n);
            assertTrue(i >= from && i < uint256(from) + n, "sample outside the receipt");
            assertTrue(i >= uint256(from) + (j * n) / k && i < uint256(from) + ((j + 1) * n) / k, "sample outside its stratum");
            if (j > 0) assertTrue(i > prev, "samples not distinct and ordered");
            prev = i;
        }
    }

    function testFuzz_singleLeafTreeVerifies(uint32 index, bytes32 a, bytes32 b) public pure {
        bytes32 leaf = ReceiptHashing.stageLeaf(index, a, b);
        bytes32[] memory proof;
        assertTrue(MerkleProof.verify(proof, leaf, leaf), "single-leaf root");
        assertTrue(leaf != ReceiptHashing.buyerLeaf(index, 0, 1, a, b, bytes32(0)), "buyer and stage leaves differ");
    }
}
