// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {TestBase} from "../test/TestBase.sol";
import {DigitsHeadVerifier} from "../verifiers/DigitsHeadVerifier.sol";
import {Int8HeadStageVerifier} from "./Int8HeadStageVerifier.sol";

/// @notice Fuzz tests of the zk stage adapter: whatever the proof bytes and hashes, verifyStage
///         returns false and never reverts (Disputes relies on a clean false). Real
///         proofs are checked in test/circuits/ (onchain.test.ts, dispute.test.ts).
contract Int8HeadStageVerifierTest is TestBase {
    Int8HeadStageVerifier internal adapter;
    uint256 internal constant PROOF_BYTES = 32 * (8 + 3 + 1); // 64→10 head: 3 xPacked, 1 yPacked

    constructor() {
        adapter = new Int8HeadStageVerifier(address(new DigitsHeadVerifier()), 64, 10);
    }

    /// Random bytes of any length are rejected without a revert.
    function testFuzz_randomBytesNeverVerify(bytes32 commitment, bytes32 inputHash, bytes32 outputHash, bytes calldata proof)
        public
        view
    {
        assertTrue(!adapter.verifyStage(commitment, inputHash, outputHash, proof), "random proof verified");
    }

    /// Well-sized proofs of random words whose packings hash to the given leaf are rejected by
    /// the pairing check (or as off-curve points), again without a revert.
    function testFuzz_wellSizedRandomProofNeverVerifies(uint256 seed, uint256 commitment) public view {
        bytes memory proof = new bytes(PROOF_BYTES);
        for (uint256 i; i < 8; ++i) {
            bytes32 w = keccak256(abi.encode(seed, i));
            assembly ("memory-safe") {
                mstore(add(add(proof, 32), mul(i, 32)), w)
            }
        }
        // Canonical packings: x bytes 0..63 in 3 words, y bytes in 1 word (all offset 0x80 = zero tensors).
        uint256 xWord = 0;
        for (uint256 j; j < 31; ++j) xWord |= uint256(0x80) << (8 * j);
        uint256 lastX = 0x8080;
        uint256 yWord = 0;
        for (uint256 j; j < 10; ++j) yWord |= uint256(0x80) << (8 * j);
        assembly ("memory-safe") {
            let p := add(proof, 32)
            mstore(add(p, 256), xWord)
            mstore(add(p, 288), xWord)
            mstore(add(p, 320), lastX)
            mstore(add(p, 352), yWord)
        }
        bytes32 inputHash = keccak256(abi.encodePacked(keccak256(abi.encodePacked(uint8(3), uint8(2), uint32(1), uint32(64), new bytes(64)))));
        bytes32 outputHash = keccak256(abi.encodePacked(keccak256(abi.encodePacked(uint8(3), uint8(2), uint32(1), uint32(10), new bytes(10)))));
        // A field element, so the adapter gets as far as the pairing check.
        commitment %= 21888242871839275222246405745257275088548364400416034343698204186575808495617;
        assertTrue(!this.callVerify(bytes32(commitment), inputHash, outputHash, proof), "random proof verified");
    }

    /// Helper so the memory proof reaches verifyStage as calldata.
    function callVerify(bytes32 commitment, bytes32 inputHash, bytes32 outputHash, bytes calldata proof) external view returns (bool) {
        return adapter.verifyStage(commitment, inputHash, outputHash, proof);
    }

    /// The adapter reports the head shape and signal count it was deployed for.
    function test_shapeAndSignalCount() public view {
        (uint256 m, uint256 n) = adapter.shape();
        assertEq(m, 64, "inputs");
        assertEq(n, 10, "outputs");
        assertEq(adapter.publicSignalCount(), 5, "public signals");
    }
}
