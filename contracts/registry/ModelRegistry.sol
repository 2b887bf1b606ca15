// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IModelRegistry} from "../interfaces/IModelRegistry.sol";
import {ModelId} from "../types/Ids.sol";
import {IStageProofVerifier} from "../interfaces/IStageProofVerifier.sol";

/// @title ModelRegistry
/// @notice Open registry of models: anyone publishes, the publisher updates prices or deprecates.
contract ModelRegistry is IModelRegistry {
    /// @notice Most stages a model may have.
    uint256 public constant MAX_STAGES = 16;
    /// @notice Highest publisher royalty, basis points.
    uint256 public constant MAX_ROYALTY_BPS = 2_000;
    /// @notice Sampling rate unit (parts per million).
    uint256 public constant PPM = 1_000_000;
    /// @notice Lowest sampling rate (0.1 %): a 5 % cheater is then caught with 99 % probability
    ///         within 90,000 requests of its stage (docs/PROTOCOL.md, "Economics" (c)); every
    ///         receipt is sampled, and collateral and the receipt bound divide by the rate.
    uint256 public constant MIN_SAMPLING_RATE_PPM = 1_000;

    uint256 private _modelCount;
    mapping(ModelId modelId => Model) private _models;

    /// @inheritdoc IModelRegistry
    function publish(ModelParams calldata params) external returns (ModelId modelId) {
        _requireValidParams(params);
        modelId = ModelId.wrap(++_modelCount);
        Model storage m = _models[modelId];
        m.publisher = msg.sender;
        m.params = params;
        emit ModelPublished(modelId, msg.sender, params.onnxSha256, params);
    }

    /// @inheritdoc IModelRegistry
    function updatePriceFloors(ModelId modelId, uint256[] calldata priceFloors) external {
        Model storage m = _requirePublisher(modelId);
        if (priceFloors.length != m.params.stageCount) {
            revert ModelRegistryPriceFloorsLength(priceFloors.length, m.params.stageCount);
        }
        uint256[] memory old = m.params.priceFloors;
        m.params.priceFloors = priceFloors;
        emit ModelPricesUpdated(modelId, old, priceFloors);
    }

    /// @inheritdoc IModelRegistry
    function deprecate(ModelId modelId) external {
        Model storage m = _requirePublisher(modelId);
        if (m.deprecated) revert ModelRegistryModelDeprecated(modelId, m.publisher);
        m.deprecated = true;
        emit ModelDeprecated(modelId, msg.sender);
    }

    /// @inheritdoc IModelRegistry
    function model(ModelId modelId) external view returns (Model memory) {
        return _requireModel(modelId);
    }

    /// @inheritdoc IModelRegistry
    function priceFloor(ModelId modelId, uint256 stage) external view returns (uint256) {
        return _requireModel(modelId).params.priceFloors[stage];
    }

    /// @inheritdoc IModelRegistry
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
        )
    {
        ModelParams storage p = _requireModel(modelId).params;
        return (p.stageCount, p.samplingRatePpm, p.hasZkStage, p.zkStage, p.weightsCommitment, p.zkVerifier);
    }

    /// @inheritdoc IModelRegistry
    function publisherOf(ModelId modelId) external view returns (address) {
        return _requireModel(modelId).publisher;
    }

    /// @inheritdoc IModelRegistry
    function modelCount() external view returns (uint256) {
        return _modelCount;
    }

    function _requireValidParams(ModelParams calldata p) private pure {
        if (p.onnxSha256 == bytes32(0)) revert ModelRegistryMissingHash(0, 1);
        if (p.manifestHash == bytes32(0)) revert ModelRegistryMissingHash(1, 1);
        if (p.stageCount == 0 || p.stageCount > MAX_STAGES) revert ModelRegistryBadStageCount(p.stageCount, MAX_STAGES);
        if (p.priceFloors.length != p.stageCount) revert ModelRegistryPriceFloorsLength(p.priceFloors.length, p.stageCount);
        if (p.royaltyBps > MAX_ROYALTY_BPS) revert ModelRegistryRoyaltyTooHigh(p.royaltyBps, MAX_ROYALTY_BPS);
        if (p.samplingRatePpm > PPM) revert ModelRegistrySamplingRateTooHigh(p.samplingRatePpm, PPM);
        if (p.samplingRatePpm < MIN_SAMPLING_RATE_PPM) {
            revert ModelRegistrySamplingRateTooLow(p.samplingRatePpm, MIN_SAMPLING_RATE_PPM);
        }
        if (p.hasZkStage) {
            if (p.zkStage >= p.stageCount) revert ModelRegistryBadZkStage(p.zkStage, p.stageCount);
            if (address(p.zkVerifier) == address(0)) revert ModelRegistryZkVerifierMissing(address(0), p.zkStage);
            if (p.weightsCommitment == bytes32(0)) revert ModelRegistryMissingHash(2, 1);
        }
    }

    function _requireModel(ModelId modelId) private view returns (Model storage m) {
        uint256 id = ModelId.unwrap(modelId);
        if (id == 0 || id > _modelCount) revert ModelRegistryUnknownModel(modelId, _modelCount);
        return _models[modelId];
    }

    function _requirePublisher(ModelId modelId) private view returns (Model storage m) {
        m = _requireModel(modelId);
        if (msg.sender != m.publisher) revert ModelRegistryNotPublisher(msg.sender, m.publisher);
    }
}
