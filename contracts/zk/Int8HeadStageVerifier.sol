// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IStageProofVerifier} from "../interfaces/IStageProofVerifier.sol";

/// @title Int8HeadStageVerifier
/// @notice IStageProofVerifier for a model's int8 dense head (docs/PROTOCOL.md, "The int8 dense
///         head"), backed by a Groth16 verifier generated from circuits/ (contracts/verifiers/).
/// @dev The circuit's public signals are [weightsCommitment, xPacked..., yPacked...]. The proof
///      bytes carry the Groth16 proof and the packed input and output; this adapter rebuilds the
///      canonical bytes of x ([1, M] int8) and y ([1, N] int8) from the packings, checks their
///      bag hashes against the revealed leaf's inputHash and outputHash, and asks the generated
///      verifier about the proof with the registered weights commitment as signal 0. So a valid
///      answer proves: these exact tensors, these exact committed weights.
///
///      Proof bytes: 32-byte words, `abi.encodePacked(uint256[8] groth16, uint256[⌈M/31⌉] xPacked,
///      uint256[⌈N/31⌉] yPacked)` with groth16 = (a.x, a.y, b.x1, b.x0, b.y1, b.y0, c.x, c.y), the
///      order of snarkjs' `exportSolidityCallData` (node/src/zk/proof.ts encodes it).
contract Int8HeadStageVerifier is IStageProofVerifier {
    /// @notice The head shape is empty or too large for the circuit family.
    error Int8HeadStageVerifierInvalidShape(uint256 inputs, uint256 outputs);
    /// @notice The Groth16 verifier address has no code.
    error Int8HeadStageVerifierNotAContract(address verifier);

    /// @dev BN254 scalar field order: public signals must be below it.
    uint256 private constant _SNARK_FIELD =
        21888242871839275222246405745257275088548364400416034343698204186575808495617;
    /// @dev Offset int8 bytes per packed field element.
    uint256 private constant _BYTES_PER_ELEMENT = 31;
    /// @dev Words of a Groth16 proof (a: 2, b: 4, c: 2).
    uint256 private constant _PROOF_WORDS = 8;
    /// @dev ONNX TensorProto.DataType of int8.
    uint256 private constant _DTYPE_INT8 = 3;
    /// @dev Canonical tensor header: uint8 dtype, uint8 rank, two uint32 dims.
    uint256 private constant _HEADER_BYTES = 10;

    address private immutable _groth16;
    uint256 private immutable _inputs;
    uint256 private immutable _outputs;
    uint256 private immutable _xElements;
    uint256 private immutable _yElements;
    bytes4 private immutable _selector;

    /// @param groth16Verifier_ The generated verifier of the circuit instance for this head shape.
    /// @param inputs M, the head's input size (x is an int8 tensor of shape [1, M]).
    /// @param outputs N, the head's output size (y is an int8 tensor of shape [1, N]).
    constructor(address groth16Verifier_, uint256 inputs, uint256 outputs) {
        if (inputs == 0 || outputs == 0 || inputs >= 65_536 || outputs >= 65_536) {
            revert Int8HeadStageVerifierInvalidShape(inputs, outputs);
        }
        if (groth16Verifier_.code.length == 0) revert Int8HeadStageVerifierNotAContract(groth16Verifier_);
        _groth16 = groth16Verifier_;
        _inputs = inputs;
        _outputs = outputs;
        _xElements = (inputs + _BYTES_PER_ELEMENT - 1) / _BYTES_PER_ELEMENT;
        _yElements = (outputs + _BYTES_PER_ELEMENT - 1) / _BYTES_PER_ELEMENT;
        uint256 nPublic = 1 + _xElements + _yElements;
        _selector = bytes4(
            keccak256(
                bytes(
                    string.concat(
                        "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[", Strings.toString(nPublic), "])"
                    )
                )
            )
        );
    }

    /// @inheritdoc IStageProofVerifier
    function verifyStage(bytes32 weightsCommitment, bytes32 inputHash, bytes32 outputHash, bytes calldata proof)
        external
        view
        returns (bool valid)
    {
        if (proof.length != 32 * (_PROOF_WORDS + _xElements + _yElements)) return false;
        if (uint256(weightsCommitment) >= _SNARK_FIELD) return false;
        (bool xOk, bytes32 xHash) = _unpackedBagHash(proof, _PROOF_WORDS, _inputs);
        if (!xOk || xHash != inputHash) return false;
        (bool yOk, bytes32 yHash) = _unpackedBagHash(proof, _PROOF_WORDS + _xElements, _outputs);
        if (!yOk || yHash != outputHash) return false;

        // verifyProof(a, b, c, [weightsCommitment, xPacked..., yPacked...]): static arrays are
        // encoded inline, so the call data is the proof words with the commitment spliced in.
        address target = _groth16;
        bytes4 selector = _selector;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            mstore(ptr, selector)
            calldatacopy(add(ptr, 4), proof.offset, 256)
            mstore(add(ptr, 260), weightsCommitment)
            calldatacopy(add(ptr, 292), add(proof.offset, 256), sub(proof.length, 256))
            let size := add(36, proof.length)
            let success := staticcall(gas(), target, ptr, size, 0, 32)
            valid := and(success, and(eq(returndatasize(), 32), eq(mload(0), 1)))
        }
    }

    /// @notice The generated Groth16 verifier this adapter calls.
    function groth16Verifier() external view returns (address) {
        return _groth16;
    }

    /// @notice The head shape (M inputs, N outputs) this adapter checks proofs for.
    function shape() external view returns (uint256 inputs, uint256 outputs) {
        return (_inputs, _outputs);
    }

    /// @notice Number of public signals of the circuit: 1 + ⌈M/31⌉ + ⌈N/31⌉.
    function publicSignalCount() external view returns (uint256) {
        return 1 + _xElements + _yElements;
    }

    /// @dev bagHash of the one-tensor bag holding the int8 tensor of shape [1, n] whose packing
    ///      starts at word `firstWord` of `proof`. ok is false when a packed element is not a
    ///      canonical packing (bytes beyond the n values).
    function _unpackedBagHash(bytes calldata proof, uint256 firstWord, uint256 n)
        private
        pure
        returns (bool ok, bytes32 bag)
    {
        // Canonical tensor bytes (PROTOCOL.md): uint8 dtype, uint8 rank, uint32 dims (big-endian),
        // then the raw int8 data. Built in scratch memory with mstore8: the byte loop runs once
        // per tensor element, and Solidity's bounds-checked bytes writes cost several times more.
        bytes32 tensorHash;
        ok = true;
        assembly ("memory-safe") {
            let buf := mload(0x40)
            mstore8(buf, _DTYPE_INT8)
            mstore8(add(buf, 1), 2) // rank
            mstore(add(buf, 2), shl(224, 1)) // dim 0 = 1, big-endian uint32
            mstore(add(buf, 6), shl(224, n)) // dim 1 = n
            let data := add(buf, _HEADER_BYTES)
            let elements := div(add(n, sub(_BYTES_PER_ELEMENT, 1)), _BYTES_PER_ELEMENT)
            let src := add(proof.offset, mul(firstWord, 32))
            for { let k := 0 } lt(k, elements) { k := add(k, 1) } {
                let word := calldataload(add(src, mul(k, 32)))
                let start := mul(k, _BYTES_PER_ELEMENT)
                let end := add(start, _BYTES_PER_ELEMENT)
                if gt(end, n) { end := n }
                for { let j := start } lt(j, end) { j := add(j, 1) } {
                    // Offset byte v + 128 back to two's complement: flip the top bit.
                    mstore8(add(data, j), xor(and(word, 0xff), 0x80))
                    word := shr(8, word)
                }
                if word { ok := 0 }
            }
            tensorHash := keccak256(buf, add(_HEADER_BYTES, n))
        }
        if (!ok) return (false, bytes32(0));
        // A bag of one tensor still hashes once more.
        assembly ("memory-safe") {
            mstore(0, tensorHash)
            bag := keccak256(0, 32)
        }
    }
}
