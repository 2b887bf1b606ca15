// SPDX-License-Identifier: MIT
pragma solidity ^0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";

/// @title ShardToken
/// @notice The ShardMesh payment and staking token: ERC20 with EIP-2612 permit and a fixed supply
///         minted at deploy. On local chains (chain id 31337) part of the supply is kept by the
///         contract as a faucet reserve that anyone can draw from; elsewhere the faucet is closed.
contract ShardToken is ERC20, ERC20Permit {
    /// @notice Chain id on which the faucet works (Hardhat / anvil local chains).
    uint256 public constant LOCAL_CHAIN_ID = 31337;
    /// @notice Most tokens one faucet call may hand out.
    uint256 public constant FAUCET_MAX = 10_000 ether;

    /// @notice The faucet was called on a chain other than the local one.
    error ShardTokenFaucetUnavailable(uint256 chainId, uint256 requiredChainId);
    /// @notice The faucet was asked for more than FAUCET_MAX.
    error ShardTokenFaucetAmountTooHigh(uint256 amount, uint256 max);

    /// @notice Tokens were handed out by the faucet.
    event FaucetDispensed(address indexed to, uint256 amount);

    /// @param holder Receives the supply (minus the faucet reserve on local chains).
    /// @param supply Total fixed supply, in wei.
    /// @param faucetReserve Part of `supply` kept for the faucet; ignored (0) off local chains.
    constructor(address holder, uint256 supply, uint256 faucetReserve)
        ERC20("ShardMesh Token", "SHARD")
        ERC20Permit("ShardMesh Token")
    {
        uint256 reserve = block.chainid == LOCAL_CHAIN_ID ? faucetReserve : 0;
        if (reserve > supply) reserve = supply;
        _mint(holder, supply - reserve);
        if (reserve > 0) _mint(address(this), reserve);
    }

    /// @notice Sends `amount` tokens from the faucet reserve to the caller (local chains only).
    /// @param amount Wei to receive, at most FAUCET_MAX.
    function faucet(uint256 amount) external {
        if (block.chainid != LOCAL_CHAIN_ID) revert ShardTokenFaucetUnavailable(block.chainid, LOCAL_CHAIN_ID);
        if (amount > FAUCET_MAX) revert ShardTokenFaucetAmountTooHigh(amount, FAUCET_MAX);
        _transfer(address(this), msg.sender, amount);
        emit FaucetDispensed(msg.sender, amount);
    }
}
