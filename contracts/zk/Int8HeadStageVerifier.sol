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
    uint8 private constant _DTYPE_INT8 = 3;

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
        bytes memory data = abi.encodePacked(
            _selector, proof[:32 * _PROOF_WORDS], weightsCommitment, proof[32 * _PROOF_WORDS:]
        );
        (bool ok, bytes memory ret) = _groth16.staticcall(data);
        return ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1;
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
        bytes memory data = new bytes(n);
        uint256 elements = (n + _BYTES_PER_ELEMENT - 1) / _BYTES_PER_ELEMENT;
        // Indices stay below n < 2^16 and the word offsets below proof.length: no overflow.
        unchecked {
            for (uint256 k; k < elements; ++k) {
                uint256 word = uint256(bytes32(proof[32 * (firstWord + k):32 * (firstWord + k + 1)]));
                uint256 end = n < (k + 1) * _BYTES_PER_ELEMENT ? n : (k + 1) * _BYTES_PER_ELEMENT;
                for (uint256 j = k * _BYTES_PER_ELEMENT; j < end; ++j) {
                    // Offset byte v + 128 back to two's complement: flip the top bit.
                    data[j] = bytes1(uint8(word) ^ 0x80);
                    word >>= 8;
                }
                if (word != 0) return (false, bytes32(0));
            }
        }
        // Canonical tensor bytes: dtype, rank, big-endian dims, raw data (PROTOCOL.md).
        bytes32 tensorHash = keccak256(abi.encodePacked(_DTYPE_INT8, uint8(2), uint32(1), uint32(n), data));
        return (true, keccak256(abi.encodePacked(tensorHash)));
    }
}
