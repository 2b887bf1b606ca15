// ShardToken (fixed supply, permit, local faucet) and ProviderStaking (stake, permit stake, peer
// binding, unbonding, job-market-only lock/unlock/slash) flows and every revert.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEther, toHex } from "viem";
import { ROLE, STAKE, addr, after, as, networkHelpers, openJob, permitSig, threeStageFixture, viem } from "./helpers.ts";

describe("ShardToken", () => {
  it("mints a fixed supply at deploy, with a faucet reserve on the local chain", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    assert.equal(await f.token.read.totalSupply(), parseEther("1000000000"));
    assert.equal(await f.token.read.balanceOf([f.token.address]), parseEther("1000000"));
    assert.equal(await f.token.read.symbol(), "SHARD");
  });

  it("dispenses from the faucet without changing the supply", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    await viem.assertions.emitWithArgs(f.token.write.faucet([parseEther("5")], as(ROLE.stranger)), f.token, "FaucetDispensed", [
      addr(ROLE.stranger),
      parseEther("5"),
    ]);
    assert.equal(await f.token.read.balanceOf([addr(ROLE.stranger)]), parseEther("5"));
    assert.equal(await f.token.read.totalSupply(), parseEther("1000000000"));
  });

  it("rejects faucet requests above the cap", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const max = await f.token.read.FAUCET_MAX();
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.token.write.faucet([max + 1n], as(ROLE.stranger)),
      f.token,
      "ShardTokenFaucetAmountTooHigh",
      [max + 1n, max],
    );
  });

  it("closes the faucet on any chain other than 31337", async () => {
    const other = await (await import("hardhat")).network.create({ override: { chainId: 1337 } });
    const [w] = await other.viem.getWalletClients();
    const token = await other.viem.deployContract("ShardToken", [w.account.address, parseEther("100"), parseEther("10")]);
    assert.equal(await token.read.balanceOf([w.account.address]), parseEther("100"), "no reserve off the local chain");
    await other.viem.assertions.revertWithCustomErrorWithArgs(token.write.faucet([1n]), token, "ShardTokenFaucetUnavailable", [
      1337n,
      31337n,
    ]);
  });
});

describe("ProviderStaking", () => {
  it("stakes with approve and emits Staked with the new total", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    await f.token.write.approve([f.staking.address, 5n], as(ROLE.buyer));
    await viem.assertions.emitWithArgs(f.staking.write.stake([5n], as(ROLE.buyer)), f.staking, "Staked", [addr(ROLE.buyer), 5n, 5n]);
    assert.equal((await f.staking.read.stakeOf([addr(ROLE.buyer)])).staked, 5n);
  });

  it("stakes with a permit in one transaction", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const deadline = BigInt((await networkHelpers.time.latest()) + 600);
    const { v, r, s } = await permitSig(f, ROLE.buyer, f.staking.address, parseEther("7"), deadline);
    await f.staking.write.stakeWithPermit([parseEther("7"), deadline, v, r, s], as(ROLE.buyer));
    assert.equal(await f.staking.read.freeStake([addr(ROLE.buyer)]), parseEther("7"));
  });

  it("rejects a zero stake", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.stake([0n], as(ROLE.buyer)),
      f.staking,
      "ProviderStakingZeroAmount",
      [0n, 1n],
    );
  });

  it("binds a peer id both ways and re-binding frees the old one", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const peerA = toHex(new Uint8Array([0, 36, 8, 1, 18, 32, ...new Array(32).fill(7)]));
    const peerB = toHex(new Uint8Array([0, 36, 8, 1, 18, 32, ...new Array(32).fill(9)]));
    await viem.assertions.emitWithArgs(f.staking.write.bindPeer([peerA, "ipfs://meta"], as(ROLE.p1)), f.staking, "PeerBound", [
      addr(ROLE.p1),
      peerA,
      "ipfs://meta",
    ]);
    assert.equal(await f.staking.read.peerIdOf([addr(ROLE.p1)]), peerA);
    assert.equal(await f.staking.read.providerOfPeer([peerA]), addr(ROLE.p1));
    assert.equal(await f.staking.read.metadataURIOf([addr(ROLE.p1)]), "ipfs://meta");
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.bindPeer([peerA, ""], as(ROLE.p2)),
      f.staking,
      "ProviderStakingPeerIdTaken",
      [addr(ROLE.p1), addr(ROLE.p2)],
    );
    await f.staking.write.bindPeer([peerB, "ipfs://meta2"], as(ROLE.p1));
    assert.equal(await f.staking.read.providerOfPeer([peerA]), "0x0000000000000000000000000000000000000000");
    await f.staking.write.bindPeer([peerA, ""], as(ROLE.p2));
    assert.equal(await f.staking.read.providerOfPeer([peerA]), addr(ROLE.p2));
  });

  it("rejects empty and oversized peer ids", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.bindPeer(["0x", ""], as(ROLE.p1)),
      f.staking,
      "ProviderStakingBadPeerId",
      [0n, 128n],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.bindPeer([toHex(new Uint8Array(129)), ""], as(ROLE.p1)),
      f.staking,
      "ProviderStakingBadPeerId",
      [129n, 128n],
    );
  });

  it("unbonds: request → wait the period → withdraw", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const period = await f.staking.read.unbondingPeriod();
    await f.staking.write.requestUnstake([parseEther("1000")], as(ROLE.p1));
    const s = await f.staking.read.stakeOf([addr(ROLE.p1)]);
    assert.equal(s.unbonding, parseEther("1000"));
    assert.equal(s.staked, STAKE - parseEther("1000"));
    const now = BigInt(await networkHelpers.time.latest());
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.withdraw(as(ROLE.p1)),
      f.staking,
      "ProviderStakingUnbondingNotOver",
      [after(now), now + period],
    );
    await networkHelpers.time.increase(Number(period));
    const before = await f.token.read.balanceOf([addr(ROLE.p1)]);
    await viem.assertions.emitWithArgs(f.staking.write.withdraw(as(ROLE.p1)), f.staking, "Withdrawn", [addr(ROLE.p1), parseEther("1000")]);
    assert.equal((await f.token.read.balanceOf([addr(ROLE.p1)])) - before, parseEther("1000"));
    await viem.assertions.revertWithCustomErrorWithArgs(f.staking.write.withdraw(as(ROLE.p1)), f.staking, "ProviderStakingZeroAmount", [
      0n,
      1n,
    ]);
  });

  it("never lets locked collateral enter unbonding", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    await openJob(f);
    const locked = (await f.staking.read.stakeOf([addr(ROLE.p1)])).locked;
    assert.ok(locked > 0n);
    const free = STAKE - locked;
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.requestUnstake([STAKE], as(ROLE.p1)),
      f.staking,
      "ProviderStakingInsufficientFreeStake",
      [free, STAKE],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.requestUnstake([0n], as(ROLE.p1)),
      f.staking,
      "ProviderStakingZeroAmount",
      [0n, 1n],
    );
    await f.staking.write.requestUnstake([free], as(ROLE.p1));
    assert.equal(await f.staking.read.freeStake([addr(ROLE.p1)]), 0n);
  });

  it("lets only the job market lock, unlock and slash", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const market = f.market.address;
    for (const fn of ["lock", "unlock", "slash"] as const) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        f.staking.write[fn]([addr(ROLE.p1), 1n, 1n], as(ROLE.stranger)),
        f.staking,
        "ProviderStakingNotJobMarket",
        [addr(ROLE.stranger), market],
      );
    }
  });

  it("sets the job market only once and keeps unbonding above the longest challenge window", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.setJobMarket([addr(ROLE.stranger)], as(ROLE.admin)),
      f.staking,
      "ProviderStakingJobMarketAlreadySet",
      [f.market.address, addr(ROLE.stranger)],
    );
    const longest = await f.market.read.longestChallengeWindow();
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.setUnbondingPeriod([longest], as(ROLE.admin)),
      f.staking,
      "ProviderStakingUnbondingTooShort",
      [longest, longest],
    );
    await viem.assertions.emitWithArgs(
      f.staking.write.setUnbondingPeriod([longest + 1n], as(ROLE.admin)),
      f.staking,
      "UnbondingPeriodUpdated",
      [7n * 86400n, longest + 1n],
    );
    assert.equal(longest, await f.params.read.longestWindowEver(), "the market reports its parameters' longest window");
  });

  it("rejects the admin setters from a stranger", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const role = await f.staking.read.DEFAULT_ADMIN_ROLE();
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.staking.write.setUnbondingPeriod([10n ** 9n], as(ROLE.stranger)),
      f.staking,
      "AccessControlUnauthorizedAccount",
      [addr(ROLE.stranger), role],
    );
  });
});
