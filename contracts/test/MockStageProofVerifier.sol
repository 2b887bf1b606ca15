// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IStageProofVerifier} from "../interfaces/IStageProofVerifier.sol";

/// @title MockStageProofVerifier
/// @notice Test double for the zk stage verifier: a "proof" is valid when it equals
///         abi.encode(keccak256(abi.encode(weightsCommitment, inputHash, outputHash))).
///         Lets Disputes' zk answer paths be tested without a proving setup.
contract MockStageProofVerifier is IStageProofVerifier {
    /// @inheritdoc IStageProofVerifier
    function verifyStage(bytes32 weightsCommitment, bytes32 inputHash, bytes32 outputHash, bytes calldata proof)
        external
        pure
        returns (bool)
    {
        return keccak256(proof) == keccak256(abi.encode(keccak256(abi.encode(weightsCommitment, inputHash, outputHash))));
    }
}
