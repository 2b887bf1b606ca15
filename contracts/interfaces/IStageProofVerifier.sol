// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @title IStageProofVerifier
/// @notice Checks a succinct proof that a model's zk stage turned a committed input into a
///         committed output with the weights registered for the model. The job market calls it
///         when a challenged provider of a zk stage answers a dispute (see docs/PROTOCOL.md).
interface IStageProofVerifier {
    /// @notice Verifies `proof` for one execution of the zk stage.
    /// @param weightsCommitment The model's registered Poseidon commitment to the stage weights.
    /// @param inputHash The revealed leaf's input hash (bagHash of the stage input).
    /// @param outputHash The revealed leaf's output hash (bagHash of the stage output).
    /// @param proof Verifier-specific encoding of the proof and any public data it needs.
    /// @return valid True when the proof shows outputHash was computed from inputHash with
    ///         the committed weights; false (never a revert) for any malformed or wrong proof.
    function verifyStage(bytes32 weightsCommitment, bytes32 inputHash, bytes32 outputHash, bytes calldata proof)
        external
        view
        returns (bool valid);
}
