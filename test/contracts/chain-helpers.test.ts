// node/src/chain and node/src/receipts as the provider node uses them, against the in-process EVM:
// permit stake, peer binding, quotes → job, receipt submission, reveals, settle, withdraw; plus
// deployment files and the receipts module's named errors.
import assert from "node:assert/strict";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseEther } from "viem";
import type { PublicClient } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import {
  answerDispute,
  bindPeer,
  drawSamples,
  providerChain,
  providerOfPeer,
  quote,
  readDeployment,
  revealBuyerLeaf,
  revealSample,
  revealStageLeaf,
  sampledIndices,
  settle,
  stakeWithPermit,
  submitReceipt,
  withdrawCredits,
} from "../../node/src/chain/index.ts";
import type { ShardWallet } from "../../node/src/chain/index.ts";
import {
  buildBuyerTree,
  buildStageTree,
  partRecords,
  partIndex,
  partsHash,
  signBuyerReceipt,
  signProviderReceipt,
  sortParts,
} from "../../node/src/receipts/index.ts";
import { writeDeployment } from "../../scripts/lib/deploy.ts";
import { ROLE, addr, hop, networkHelpers, oneStageFixture, passWindows, publicClient, wallets } from "./helpers.ts";

const pub = publicClient as unknown as PublicClient;
const wallet = (i: number) => wallets[i] as unknown as ShardWallet;

describe("node/src/chain provider helpers", () => {
  it("stakes with a permit, binds a peer id and resolves it back", async () => {
    const f = await networkHelpers.loadFixture(oneStageFixture);
    const pc = providerChain(f.deployment, pub, wallet(ROLE.buyer));
    await stakeWithPermit(pc, parseEther("3"));
    assert.equal((await f.staking.read.stakeOf([addr(ROLE.buyer)])).staked, parseEther("3"));
    const peer = new Uint8Array([0, 36, 8, 1, 18, 32, ...new Array(32).fill(3)]);
    await bindPeer(pc, peer, "ipfs://node");
    assert.equal(await providerOfPeer(pc.contracts, peer), addr(ROLE.buyer));
  });

  it("runs quote → open → submit → reveal → settle → withdraw through the helpers", async () => {
    const f = await networkHelpers.loadFixture(oneStageFixture);
    const pc = providerChain(f.deployment, pub, wallet(ROLE.p1));
    const now = BigInt(await networkHelpers.time.latest());
    const q = await quote(pc, {
      modelId: 1n,
      stage: 0,
      buyer: addr(ROLE.buyer),
      price: parseEther("0.001"),
      maxUnits: 100,
      expiry: now + 600n,
      maxJobExpiry: now + 7200n,
      nonce: 1n,
    });
    const session = privateKeyToAccount(generatePrivateKey());
    const request = { modelId: 1n, maxUnits: 10, expiresAt: now + 3600n, sessionKey: session.address };
    const escrow = await f.market.read.escrowFor([request, [q]]);
    await f.token.write.approve([f.market.address, escrow], { account: wallets[ROLE.buyer].account });
    await f.market.write.openJob([request, [q]], { account: wallets[ROLE.buyer].account });

    const route = [addr(ROLE.p1)];
    const buyerTree = buildBuyerTree(
      [0, 1, 2].map((i) => ({ index: i, nonce: BigInt(i), units: 1, requestHash: hop(i, 0), responseHash: hop(i, 1), route })),
    );
    const stageTree = buildStageTree([0, 1, 2].map((i) => ({ index: i, inputHash: hop(i, 0), outputHash: hop(i, 1) })));
    const signature = await signProviderReceipt(pc.signer, f.domain, {
      jobId: 1n,
      stage: 0,
      count: 3,
      units: 3,
      root: stageTree.root,
      outputRoot: buyerTree.root,
    });
    const parts = sortParts([{ stage: 0, provider: addr(ROLE.p1), count: 3, units: 3, root: stageTree.root, signature }]);
    const records = partRecords(parts, () => ({ count: 0, units: 0 }));
    const sessionSignature = await signBuyerReceipt(session, f.domain, { jobId: 1n, count: 3, units: 3, outputRoot: buyerTree.root });
    const { receiptId } = await submitReceipt(pc, { jobId: 1n, count: 3, units: 3, outputRoot: buyerTree.root, sessionSignature, parts });
    assert.equal(receiptId, 0n);
    assert.equal((await f.market.read.receipt([1n, 0n])).partsHash, partsHash(records));
    assert.equal(partIndex(records, 0, addr(ROLE.p1)), 0);

    await networkHelpers.mine(1); // the seed is the hash of the block after submission
    assert.equal(await drawSamples(pc, 1n, 0n), true);
    const [index] = await sampledIndices(pc.contracts, 1n, 0n);
    await revealBuyerLeaf(pc, { jobId: 1n, receiptId: 0n, sampleNo: 0, tree: buyerTree, index: Number(index), route, records });
    await revealStageLeaf(pc, { jobId: 1n, receiptId: 0n, sampleNo: 0, stage: 0, tree: stageTree, index: Number(index), route, records });
    // a second receipt revealed in one transaction
    const buyer2 = buildBuyerTree(
      [3, 4].map((i) => ({ index: i, nonce: BigInt(i), units: 1, requestHash: hop(i, 0), responseHash: hop(i, 1), route })),
    );
    const stage2 = buildStageTree([3, 4].map((i) => ({ index: i, inputHash: hop(i, 0), outputHash: hop(i, 1) })));
    const sig2 = await signProviderReceipt(pc.signer, f.domain, {
      jobId: 1n,
      stage: 0,
      count: 5,
      units: 5,
      root: stage2.root,
      outputRoot: buyer2.root,
    });
    const parts2 = [{ stage: 0, provider: addr(ROLE.p1), count: 5, units: 5, root: stage2.root, signature: sig2 }];
    const records2 = partRecords(parts2, () => ({ count: 3, units: 3 }));
    const session2 = await signBuyerReceipt(session, f.domain, { jobId: 1n, count: 5, units: 5, outputRoot: buyer2.root });
    const { receiptId: id2 } = await submitReceipt(pc, {
      jobId: 1n,
      count: 5,
      units: 5,
      outputRoot: buyer2.root,
      sessionSignature: session2,
      parts: parts2,
    });
    await networkHelpers.mine(1);
    await drawSamples(pc, 1n, id2);
    const [index2] = await sampledIndices(pc.contracts, 1n, id2);
    await revealSample(pc, {
      jobId: 1n,
      receiptId: id2,
      sampleNo: 0,
      index: Number(index2),
      buyerTree: buyer2,
      stageTrees: [stage2],
      route,
      records: records2,
    });
    assert.equal((await pc.contracts.spotCheck.read.sample([1n, id2, 0n])).resolved, true);
    await passWindows(f);
    assert.equal((await pc.contracts.spotCheck.read.settlementCheck([1n, id2]))[0], true);
    await settle(pc, 1n, 0n, records);
    await settle(pc, 1n, id2, records2);
    assert.equal(await withdrawCredits(pc), 5n * parseEther("0.001"));
    assert.equal(await withdrawCredits(pc), 0n);
    await assert.rejects(answerDispute(pc, 0n, "0x"), (err: Error) => /DisputesUnknownDispute/.test(err.message));
  });
});

describe("deployments and receipts module errors", () => {
  it("writes and reads deployments/<chainId>.json and names bad files", async () => {
    const f = await networkHelpers.loadFixture(oneStageFixture);
    const dir = mkdtempSync(join(tmpdir(), "shardmesh-deploy-"));
    const path = writeDeployment(f.deployment, dir);
    assert.ok(path.endsWith("31337.json"));
    const back = readDeployment(31337, dir);
    assert.deepEqual(back.contracts, f.deployment.contracts);
    assert.throws(() => readDeployment(5, dir), { name: "DeploymentNotFoundError" });
    writeFileSync(join(dir, "6.json"), JSON.stringify({ chainId: 6, contracts: { ShardToken: { address: "0x12" } } }));
    assert.throws(() => readDeployment(6, dir), { name: "DeploymentInvalidError" });
  });

  it("names empty trees, missing leaves and bad parts", () => {
    assert.throws(() => buildStageTree([]), { name: "ReceiptEmptyTreeError" });
    const t = buildStageTree([{ index: 4, inputHash: hop(4, 0), outputHash: hop(4, 1) }]);
    assert.equal(t.root, t.proof(4).length === 0 ? t.root : "");
    assert.throws(() => t.leaf(5), { name: "ReceiptLeafMissingError" });
    const p = { stage: 0, provider: addr(ROLE.p1), count: 1, units: 1, root: t.root, signature: "0x" as const };
    assert.throws(() => sortParts([p, p]), { name: "ReceiptPartsError" });
    assert.throws(() => partRecords([p], () => ({ count: 1, units: 1 })), { name: "ReceiptPartsError" });
    assert.throws(() => partRecords([{ ...p, count: 2 }], () => ({ count: 0, units: 0 })), { name: "ReceiptPartsError" });
    assert.throws(() => partIndex([], 0, addr(ROLE.p1)), { name: "ReceiptPartsError" });
  });
});
