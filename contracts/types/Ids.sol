// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

/// @dev Registry model id (1-based, sequential). A distinct type so it cannot be mixed up with a job id.
type ModelId is uint256;

/// @dev Job market job id (1-based, sequential).
type JobId is uint256;
