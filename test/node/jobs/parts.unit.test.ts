// A stage provider signs its receipt part only over outputs it served (issue 10 item 10): it
// rebuilds the buyer tree from the leaves the gateway sends, takes as its part exactly the leaves
// routed to it, builds their stage leaves from its own trace store (found by the leaf's nonce) and
// refuses — by name — a root the leaves do not hash to, a leaf routed to it for a request it never
// served, and (stage 0 / last stage) a leaf contradicting what it recorded. The old code signed
// whatever outputRoot the gateway sent next to the indices it named, so a gateway could route a
// sampled request to a provider that never served it and get it faulted for not revealing.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { recoverTypedDataAddress } from "viem";
import type { Address, Hex } from "viem";
import { privateKeyToAccount } from "viem/accounts";
import { handleReceiptRequest } from "../../../node/src/jobs/parts.ts";
import type { JobsContext } from "../../../node/src/jobs/context.ts";
import { buildBuyerTree, buildStageTree, encodeBuyerLeaves } from "../../../node/src/receipts/leaves.ts";
import type { BuyerRecord } from "../../../node/src/receipts/leaves.ts";
import { providerReceiptTypedData, shardMeshDomain } from "../../../node/src/receipts/eip712.ts";
import { TraceStore } from "../../../node/src/trace/store.ts";
import { StandardMerkleTree } from "@openzeppelin/merkle-tree";

const h = (n: number, salt = 0) => `0x${(n * 7919 + salt).toString(16).padStart(64, "0")}` as Hex;
const me = privateKeyToAccount(`0x${"21".repeat(32)}`);
const other = privateKeyToAccount(`0x${"22".repeat(32)}`).address;
const market = `0x${"aa".repeat(20)}` as Address;
const domain = shardMeshDomain(31337, market);
const JOB = "7";

/** A provider serving stage `stage` of a two-stage model, with its own trace of `served` nonces. */
function provider(stage: number, served: number[]) {
  const trace = new TraceStore({ path: ":memory:" });
  for (const n of served)
    trace.record({ jobId: JOB, index: n, modelId: "m", stage, inputHash: h(n, stage), outputHash: h(n, stage + 1), peerId: "self" });
  const ctx = {
    peerId: "self",
    trace,
    chain: {
      account: me,
      pc: { signer: me, deployment: { chainId: 31337, contracts: { JobMarket: { address: market } } } },
      read: { market: { read: { stageTerms: async () => ({ served: 0, servedUnits: 0, maxUnits: 100 }) } } },
    },
  } as unknown as JobsContext;
  return ctx;
}

/** Buyer leaves for nonces, stage 0 and the last stage hashes as an honest two-stage route records them. */
function leaves(rows: { nonce: number; route: Address[] }[]): BuyerRecord[] {
  return rows.map((r, k) => ({
    index: k,
    nonce: BigInt(r.nonce),
    units: 1,
    requestHash: h(r.nonce, 0),
    responseHash: h(r.nonce, 2),
    route: r.route,
  }));
}

const part = (stage: number, l: BuyerRecord[], outputRoot = buildBuyerTree(l).root) => ({
  op: "part",
  jobId: JOB,
  stage,
  buyer: encodeBuyerLeaves(l),
  outputRoot,
});

describe("receipt parts: a provider signs only over outputs it served", () => {
  it("signs its part built from its own records for exactly the leaves routed to it, and reveals them with valid proofs", async () => {
    const ctx = provider(1, [3, 5, 8]);
    const l = leaves([
      { nonce: 3, route: [other, me.address] },
      { nonce: 4, route: [other, other] }, // another provider's request: not in this part
      { nonce: 5, route: [other, me.address] },
      { nonce: 8, route: [me.address, me.address] },
    ]);
    const signed = (await handleReceiptRequest(ctx, part(1, l), "self")) as { count: number; root: Hex; signature: Hex };
    const expected = buildStageTree([3, 5, 8].map((n, i) => ({ index: [0, 2, 3][i], inputHash: h(n, 1), outputHash: h(n, 2) })));
    assert.equal(signed.count, 3);
    assert.equal(signed.root, expected.root);
    const signer = await recoverTypedDataAddress({
      ...providerReceiptTypedData(domain, {
        jobId: 7n,
        stage: 1,
        count: 3,
        units: 3,
        root: expected.root,
        outputRoot: buildBuyerTree(l).root,
      }),
      signature: signed.signature,
    });
    assert.equal(signer, me.address);
    const r = (await handleReceiptRequest(ctx, { op: "reveal", jobId: JOB, stage: 1, buyer: encodeBuyerLeaves(l), index: 2 }, "self")) as {
      leaf: { index: bigint; inputHash: Hex; outputHash: Hex };
      proof: Hex[];
    };
    assert.equal(r.leaf.outputHash, h(5, 2));
    assert.ok(
      StandardMerkleTree.verify(
        signed.root,
        ["uint256", "bytes32", "bytes32"],
        [r.leaf.index, r.leaf.inputHash, r.leaf.outputHash],
        r.proof,
      ),
    );
  });

  it("refuses a receipt that routes to it a request it never served (JobsPartNotServedError)", async () => {
    const ctx = provider(1, [3, 5]);
    const l = leaves([
      { nonce: 3, route: [other, me.address] },
      { nonce: 5, route: [other, me.address] },
      { nonce: 6, route: [other, me.address] }, // served by someone else (or nobody), assigned to this provider
    ]);
    await assert.rejects(handleReceiptRequest(ctx, part(1, l), "self"), { name: "JobsPartNotServedError" });
    // The sampled reveal of such a leaf is refused the same way (never a proof over another tree).
    await assert.rejects(
      async () => handleReceiptRequest(ctx, { op: "reveal", jobId: JOB, stage: 1, buyer: encodeBuyerLeaves(l), index: 0 }, "self"),
      {
        name: "JobsPartNotServedError",
      },
    );
  });

  it("refuses an outputRoot the buyer leaves sent do not hash to (JobsPartRootMismatchError)", async () => {
    const ctx = provider(1, [3]);
    const l = leaves([{ nonce: 3, route: [other, me.address] }]);
    const hidden = leaves([
      { nonce: 3, route: [other, me.address] },
      { nonce: 9, route: [other, me.address] },
    ]);
    // The gateway shows honest leaves but asks for a signature over a tree with an extra leaf routed here.
    await assert.rejects(handleReceiptRequest(ctx, part(1, l, buildBuyerTree(hidden).root), "self"), { name: "JobsPartRootMismatchError" });
  });

  it("stage 0 refuses a leaf whose requestHash is not the input it got; the last stage one whose responseHash is not what it sent", async () => {
    const first = provider(0, [3]);
    const l0 = leaves([{ nonce: 3, route: [me.address, other] }]);
    l0[0].requestHash = h(99);
    await assert.rejects(handleReceiptRequest(first, part(0, l0), "self"), { name: "JobsPartContradictsTraceError" });
    const last = provider(1, [3]);
    const l1 = leaves([{ nonce: 3, route: [other, me.address] }]);
    l1[0].responseHash = h(99);
    await assert.rejects(handleReceiptRequest(last, part(1, l1), "self"), { name: "JobsPartContradictsTraceError" });
    // A middle stage is not judged on the buyer's hashes (the hand-off signatures speak for it).
    const l2 = leaves([{ nonce: 3, route: [other, me.address, other] }]);
    l2[0].responseHash = h(99);
    await handleReceiptRequest(last, part(1, l2), "self");
  });

  it("a stage > 0 refuses a route naming at stage − 1 someone else than the signer of the hand-off it received (JobsPartContradictsTraceError)", async () => {
    const trace = new TraceStore({ path: ":memory:" });
    const upstream = privateKeyToAccount(`0x${"23".repeat(32)}`).address;
    trace.record({
      jobId: JOB,
      index: 3,
      modelId: "m",
      stage: 1,
      inputHash: h(3, 1),
      outputHash: h(3, 2),
      peerId: "self",
      handOff: `0x${"ab".repeat(65)}`,
      handOffSigner: upstream,
    });
    const ctx = { ...provider(1, []), trace } as JobsContext;
    // The gateway names another provider (`other`) as stage 0: this stage could not answer a
    // hand-off claim there (SpotCheck takes only the routed upstream's signature), so it signs nothing.
    await assert.rejects(handleReceiptRequest(ctx, part(1, leaves([{ nonce: 3, route: [other, me.address] }])), "self"), {
      name: "JobsPartContradictsTraceError",
    });
    const signed = (await handleReceiptRequest(ctx, part(1, leaves([{ nonce: 3, route: [upstream, me.address] }])), "self")) as {
      count: number;
    };
    assert.equal(signed.count, 1);
  });

  it("refuses malformed buyer leaves and a nonce named twice with JobsProtocolError", async () => {
    const ctx = provider(1, [3]);
    const l = leaves([{ nonce: 3, route: [other, me.address] }]);
    for (const buyer of [
      undefined,
      {},
      { from: 0, routes: [[me.address]], leaves: [["3", 1, h(3), h(3), 1]] },
      { from: -1, routes: [], leaves: [] },
    ]) {
      await assert.rejects(handleReceiptRequest(ctx, { ...part(1, l), buyer }, "self"), { name: "JobsProtocolError" });
    }
    const twice = leaves([
      { nonce: 3, route: [other, me.address] },
      { nonce: 3, route: [other, me.address] },
    ]);
    await assert.rejects(handleReceiptRequest(ctx, part(1, twice), "self"), { name: "JobsProtocolError" });
  });
});
