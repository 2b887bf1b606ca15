// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ModelId} from "../types/Ids.sol";
import {IStageProofVerifier} from "./IStageProofVerifier.sol";

/// @title IModelRegistry
/// @notice Models published to the ShardMesh marketplace: content hashes, shard plan, prices,
///         royalty and verification parameters. The marketplace lists models from events alone.
interface IModelRegistry {
    /// @notice Everything a publisher declares about a model.
    /// @param onnxSha256 sha256 of the whole ONNX file (the model's identity off chain).
    /// @param manifestHash sha256 of the shard-plan manifest (stage files, tensors, costs).
    /// @param metadataURI Where name, description and manifest can be fetched.
    /// @param stageCount Number of consecutive stages (1..MAX_STAGES).
    /// @param royaltyBps Publisher royalty, in basis points of the providers' pay.
    /// @param toleranceMicros Max abs difference verifiers accept when re-executing, in 1e-6 units.
    /// @param samplingRatePpm Share of requests per receipt that are sampled, parts per million
    ///        (k = ceil(count * rate / 1e6), at least 1, at most MAX_SAMPLES).
    /// @param hasZkStage Whether `zkStage` is a provable int8 dense stage.
    /// @param zkStage Index of the zk stage (meaningful only when hasZkStage).
    /// @param weightsCommitment Poseidon commitment to the zk stage weights (docs/PROTOCOL.md).
    /// @param zkVerifier Verifier contract for the zk stage's proofs.
    /// @param priceFloors Minimum price per inference for each stage, in token wei.
    struct ModelParams {
        bytes32 onnxSha256;
        bytes32 manifestHash;
        string metadataURI;
        uint16 stageCount;
        uint16 royaltyBps;
        uint32 toleranceMicros;
        uint32 samplingRatePpm;
        bool hasZkStage;
        uint16 zkStage;
        bytes32 weightsCommitment;
        IStageProofVerifier zkVerifier;
        uint256[] priceFloors;
    }

    /// @notice A published model.
    struct Model {
        address publisher;
        bool deprecated;
        ModelParams params;
    }

    /// @notice The model id does not exist.
    error ModelRegistryUnknownModel(ModelId modelId, uint256 modelCount);
    /// @notice Only the model's publisher may do this.
    error ModelRegistryNotPublisher(address caller, address publisher);
    /// @notice The stage count is 0 or above the maximum.
    error ModelRegistryBadStageCount(uint256 stageCount, uint256 maxStages);
    /// @notice The price floor list does not have one entry per stage.
    error ModelRegistryPriceFloorsLength(uint256 length, uint256 stageCount);
    /// @notice The royalty is above the maximum.
    error ModelRegistryRoyaltyTooHigh(uint256 royaltyBps, uint256 maxRoyaltyBps);
    /// @notice The sampling rate is above one million parts per million.
    error ModelRegistrySamplingRateTooHigh(uint256 samplingRatePpm, uint256 maxPpm);
    error ModelRegistrySamplingRateTooLow(uint256 samplingRatePpm, uint256 minPpm);
    /// @notice A required hash is zero (0 = onnx sha256, 1 = manifest hash, 2 = weights commitment).
    error ModelRegistryMissingHash(uint256 which, uint256 required);
    /// @notice The zk stage index is not a stage of the model.
    error ModelRegistryBadZkStage(uint256 zkStage, uint256 stageCount);
    /// @notice A zk stage was declared without a verifier contract.
    error ModelRegistryZkVerifierMissing(address verifier, uint256 zkStage);
    /// @notice The model is deprecated.
    error ModelRegistryModelDeprecated(ModelId modelId, address publisher);

    /// @notice A model was published.
    event ModelPublished(ModelId indexed modelId, address indexed publisher, bytes32 indexed onnxSha256, ModelParams params);
    /// @notice A model's per-stage price floors changed.
    event ModelPricesUpdated(ModelId indexed modelId, uint256[] oldPriceFloors, uint256[] newPriceFloors);
    /// @notice A model was deprecated: no new jobs may be opened for it.
    event ModelDeprecated(ModelId indexed modelId, address indexed publisher);

    /// @notice Publishes a model; the caller becomes its publisher.
    /// @param params The model's declaration.
    /// @return modelId The new model's id.
    function publish(ModelParams calldata params) external returns (ModelId modelId);

    /// @notice Replaces the per-stage price floors (publisher only).
    /// @param modelId The model.
    /// @param priceFloors One floor per stage, in token wei per inference.
    function updatePriceFloors(ModelId modelId, uint256[] calldata priceFloors) external;

    /// @notice Deprecates a model (publisher only); open jobs are unaffected.
    /// @param modelId The model.
    function deprecate(ModelId modelId) external;

    /// @notice Returns a model.
    /// @param modelId The model.
    function model(ModelId modelId) external view returns (Model memory);

    /// @notice Returns the price floor of one stage.
    /// @param modelId The model.
    /// @param stage The stage index.
    function priceFloor(ModelId modelId, uint256 stage) external view returns (uint256);

    /// @notice What spot checks need, without copying strings and price lists.
    /// @param modelId The model.
    function verificationParams(ModelId modelId)
        external
        view
        returns (
            uint16 stageCount,
            uint32 samplingRatePpm,
            bool hasZkStage,
            uint16 zkStage,
            bytes32 weightsCommitment,
            IStageProofVerifier zkVerifier
        );

    /// @notice The model's publisher (cheap lookup for settlement).
    /// @param modelId The model.
    function publisherOf(ModelId modelId) external view returns (address);

    /// @notice Number of models published so far (ids run 1..modelCount).
    function modelCount() external view returns (uint256);
}
