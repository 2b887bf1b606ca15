// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {ModelId} from "../types/Ids.sol";

/// @title ReceiptHashing
/// @notice EIP-712 struct hashes for quotes and receipts, and the Merkle leaf hashes of
///         the OpenZeppelin merkle-tree package's StandardMerkleTree (keccak256(keccak256(abi.encode(...)))).
///         Mirrored by node/src/receipts/ (the only TypeScript place that builds these).
library ReceiptHashing {
    bytes32 internal constant QUOTE_TYPEHASH = keccak256(
        "Quote(uint256 modelId,uint16 stage,address provider,address buyer,uint96 price,uint32 maxUnits,uint64 expiry,uint64 maxJobExpiry,uint256 nonce)"
    );
    bytes32 internal constant BUYER_RECEIPT_TYPEHASH =
        keccak256("BuyerReceipt(uint256 jobId,uint32 count,uint32 units,bytes32 outputRoot)");
    bytes32 internal constant PROVIDER_RECEIPT_TYPEHASH =
        keccak256("ProviderReceipt(uint256 jobId,uint16 stage,uint32 count,uint32 units,bytes32 root,bytes32 outputRoot)");
    bytes32 internal constant HAND_OFF_TYPEHASH = keccak256("HandOff(uint256 jobId,uint64 nonce,uint16 boundary,bytes32 hash)");

    /// @notice Struct hash of a quote.
    function quoteHash(IJobMarket.Quote memory q) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                QUOTE_TYPEHASH,
                ModelId.unwrap(q.modelId),
                q.stage,
                q.provider,
                q.buyer,
                q.price,
                q.maxUnits,
                q.expiry,
                q.maxJobExpiry,
                q.nonce
            )
        );
    }

    /// @notice Struct hash of the buyer's (session key's) receipt: requests [0, count) worth
    ///         `units` units, under `outputRoot`.
    function buyerReceiptHash(uint256 jobId, uint32 count, uint32 units, bytes32 outputRoot) internal pure returns (bytes32) {
        return keccak256(abi.encode(BUYER_RECEIPT_TYPEHASH, jobId, count, units, outputRoot));
    }

    /// @notice Struct hash of one (stage, provider) receipt. `outputRoot` binds the part to the buyer
    ///         tree the provider checked (its route entries), so no one can re-route its work.
    function providerReceiptHash(uint256 jobId, uint16 stage, uint32 count, uint32 units, bytes32 root, bytes32 outputRoot)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(abi.encode(PROVIDER_RECEIPT_TYPEHASH, jobId, stage, count, units, root, outputRoot));
    }

    /// @notice Struct hash of a hand-off: the provider of stage `boundary - 1` sent, for request
    ///         `nonce` of the job, the bag hashing to `hash` across cut `boundary`.
    function handOffHash(uint256 jobId, uint64 nonce, uint16 boundary, bytes32 hash) internal pure returns (bytes32) {
        return keccak256(abi.encode(HAND_OFF_TYPEHASH, jobId, nonce, boundary, hash));
    }

    /// @notice Leaf of the buyer tree: (index, nonce, units, requestHash, responseHash, routeHash).
    function buyerLeaf(uint256 index, uint64 nonce, uint32 units, bytes32 requestHash, bytes32 responseHash, bytes32 routeHash)
        internal
        pure
        returns (bytes32)
    {
        return keccak256(bytes.concat(keccak256(abi.encode(index, nonce, units, requestHash, responseHash, routeHash))));
    }

    /// @notice Leaf of a stage provider's tree: (index, inputHash, outputHash).
    function stageLeaf(uint256 index, bytes32 inputHash, bytes32 outputHash) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(index, inputHash, outputHash))));
    }

    /// @notice Hash of a request's route: route[s] served stage s.
    function hashRoute(address[] memory route) internal pure returns (bytes32) {
        return keccak256(abi.encode(route));
    }
}
