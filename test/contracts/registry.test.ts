// ModelRegistry: publish (with every validation), publisher-only price update and deprecation.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { keccak256, toHex, zeroAddress } from "viem";
import { MIN_SAMPLING_RATE_PPM } from "../../node/src/chain/params.ts";
import { FLOOR, ROLE, ZERO32, addr, as, networkHelpers, threeStageFixture, viem } from "./helpers.ts";

function params(over: Record<string, unknown> = {}) {
  return {
    onnxSha256: keccak256(toHex("a.onnx")),
    manifestHash: keccak256(toHex("a.manifest")),
    metadataURI: "ipfs://a",
    stageCount: 2,
    royaltyBps: 300,
    toleranceMicros: 5,
    samplingRatePpm: 2000,
    hasZkStage: false,
    zkStage: 0,
    weightsCommitment: ZERO32,
    zkVerifier: zeroAddress as `0x${string}`,
    priceFloors: [1n, 2n],
    ...over,
  };
}

describe("ModelRegistry", () => {
  it("publishes a model and emits everything the marketplace lists", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const p = params();
    await viem.assertions.emitWithArgs(f.registry.write.publish([p], as(ROLE.stranger)), f.registry, "ModelPublished", [
      2n,
      addr(ROLE.stranger),
      p.onnxSha256,
      p,
    ]);
    const m = await f.registry.read.model([2n]);
    assert.equal(m.publisher, addr(ROLE.stranger));
    assert.equal(m.deprecated, false);
    assert.deepEqual(m.params.priceFloors, [1n, 2n]);
    assert.equal(await f.registry.read.modelCount(), 2n);
    assert.equal(await f.registry.read.priceFloor([2n, 1n]), 2n);
    assert.equal(await f.registry.read.publisherOf([2n]), addr(ROLE.stranger));
    const v = await f.registry.read.verificationParams([2n]);
    assert.deepEqual(v, [2, 2000, false, 0, ZERO32, zeroAddress]);
  });

  it("publishes a model with a zk stage", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const p = params({ hasZkStage: true, zkStage: 1, weightsCommitment: keccak256(toHex("w")), zkVerifier: addr(ROLE.stranger) });
    await f.registry.write.publish([p], as(ROLE.stranger));
    const v = await f.registry.read.verificationParams([2n]);
    assert.equal(v[2], true);
    assert.equal(v[3], 1);
  });

  it("rejects invalid declarations by name and arguments", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const cases: Array<[Record<string, unknown>, string, unknown[]]> = [
      [{ onnxSha256: ZERO32 }, "ModelRegistryMissingHash", [0n, 1n]],
      [{ manifestHash: ZERO32 }, "ModelRegistryMissingHash", [1n, 1n]],
      [{ stageCount: 0, priceFloors: [] }, "ModelRegistryBadStageCount", [0n, 16n]],
      [{ stageCount: 17, priceFloors: new Array(17).fill(1n) }, "ModelRegistryBadStageCount", [17n, 16n]],
      [{ priceFloors: [1n] }, "ModelRegistryPriceFloorsLength", [1n, 2n]],
      [{ royaltyBps: 2001 }, "ModelRegistryRoyaltyTooHigh", [2001n, 2000n]],
      [{ samplingRatePpm: 1_000_001 }, "ModelRegistrySamplingRateTooHigh", [1_000_001n, 1_000_000n]],
      // Condition (c): below 0.1 % a 5 % cheater could go uncaught for more than 90,000 requests.
      [{ samplingRatePpm: 999 }, "ModelRegistrySamplingRateTooLow", [999n, 1_000n]],
      [{ samplingRatePpm: 0 }, "ModelRegistrySamplingRateTooLow", [0n, 1_000n]],
      [{ hasZkStage: true, zkStage: 2, weightsCommitment: keccak256("0x01"), zkVerifier: addr(1) }, "ModelRegistryBadZkStage", [2n, 2n]],
      [{ hasZkStage: true, zkStage: 1, weightsCommitment: keccak256("0x01") }, "ModelRegistryZkVerifierMissing", [zeroAddress, 1n]],
      [{ hasZkStage: true, zkStage: 1, zkVerifier: addr(1) }, "ModelRegistryMissingHash", [2n, 1n]],
    ];
    assert.equal(
      await f.registry.read.MIN_SAMPLING_RATE_PPM(),
      BigInt(MIN_SAMPLING_RATE_PPM),
      "the README's condition (c) reads this bound",
    );
    for (const [over, name, args] of cases) {
      await viem.assertions.revertWithCustomErrorWithArgs(
        f.registry.write.publish([params(over)], as(ROLE.stranger)),
        f.registry,
        name as never,
        args as never,
      );
    }
  });

  it("lets only the publisher update prices and deprecate", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    const floors = [FLOOR, FLOOR, FLOOR];
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.registry.write.updatePriceFloors([1n, floors], as(ROLE.stranger)),
      f.registry,
      "ModelRegistryNotPublisher",
      [addr(ROLE.stranger), addr(ROLE.publisher)],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.registry.write.deprecate([1n], as(ROLE.stranger)),
      f.registry,
      "ModelRegistryNotPublisher",
      [addr(ROLE.stranger), addr(ROLE.publisher)],
    );
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.registry.write.updatePriceFloors([1n, [1n]], as(ROLE.publisher)),
      f.registry,
      "ModelRegistryPriceFloorsLength",
      [1n, 3n],
    );
    await viem.assertions.emitWithArgs(
      f.registry.write.updatePriceFloors([1n, [1n, 2n, 3n]], as(ROLE.publisher)),
      f.registry,
      "ModelPricesUpdated",
      [1n, floors, [1n, 2n, 3n]],
    );
    await viem.assertions.emitWithArgs(f.registry.write.deprecate([1n], as(ROLE.publisher)), f.registry, "ModelDeprecated", [
      1n,
      addr(ROLE.publisher),
    ]);
    await viem.assertions.revertWithCustomErrorWithArgs(
      f.registry.write.deprecate([1n], as(ROLE.publisher)),
      f.registry,
      "ModelRegistryModelDeprecated",
      [1n, addr(ROLE.publisher)],
    );
    assert.equal((await f.registry.read.model([1n])).deprecated, true);
  });

  it("rejects unknown model ids", async () => {
    const f = await networkHelpers.loadFixture(threeStageFixture);
    await viem.assertions.revertWithCustomErrorWithArgs(f.registry.read.model([0n]), f.registry, "ModelRegistryUnknownModel", [0n, 1n]);
    await viem.assertions.revertWithCustomErrorWithArgs(f.registry.read.model([9n]), f.registry, "ModelRegistryUnknownModel", [9n, 1n]);
  });
});
