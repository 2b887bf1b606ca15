// The buyer's session key checks a receipt against its own log before signing (issue 10 item
// 14): the old demo buyer and web app signed whatever { count, units, outputRoot } the gateway
// returned, so a gateway could bill requests never made, bill one twice, inflate units, or put
// other response hashes under the root. checkReceiptToSign refuses each by name.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Address, Hex } from "viem";
import { checkReceiptToSign } from "../../../node/src/sdk/index.ts";
import type { LoggedResponse, ReceiptToSign } from "../../../node/src/sdk/index.ts";
import { buildBuyerTree, encodeBuyerLeaves } from "../../../node/src/receipts/leaves.ts";
import type { BuyerRecord } from "../../../node/src/receipts/leaves.ts";

const h = (n: number) => `0x${n.toString(16).padStart(64, "0")}` as Hex;
const route = [`0x${"11".repeat(20)}`, `0x${"22".repeat(20)}`] as Address[];
/** The buyer's log: requests 2, 3, 4 answered (2 of them already receipted on chain: count 2). */
const log = new Map<number, LoggedResponse>([
  [2, { requestHash: h(20), responseHash: h(21) }],
  [3, { requestHash: h(30), responseHash: h(31) }],
  [4, { requestHash: h(40), responseHash: h(41) }],
]);
const receipted = { count: 2, units: 2 };

function toSign(requests: number[], edit: (l: BuyerRecord[]) => void = () => {}, over: Partial<ReceiptToSign> = {}): ReceiptToSign {
  const leaves: BuyerRecord[] = requests.map((r, k) => ({
    index: 2 + k,
    nonce: BigInt(100 + r),
    units: 1,
    requestHash: log.get(r)?.requestHash ?? h(r * 10),
    responseHash: log.get(r)?.responseHash ?? h(r * 10 + 1),
    route,
  }));
  edit(leaves);
  return {
    jobId: "9",
    from: 2,
    count: 2 + leaves.length,
    units: 2 + leaves.reduce((a, l) => a + l.units, 0),
    outputRoot: buildBuyerTree(leaves).root,
    requests,
    leaves: encodeBuyerLeaves(leaves),
    ...over,
  };
}

describe("the buyer checks a receipt against its own log before signing", () => {
  it("accepts exactly its unreceipted answers under the root they hash to", () => {
    checkReceiptToSign(toSign([2, 3, 4]), log, receipted);
    checkReceiptToSign(toSign([2, 3]), log, receipted);
  });

  it("refuses, by name (ReceiptCheckError), every way a gateway could bill what the buyer did not get", () => {
    const refused = (t: ReceiptToSign, why: RegExp, r = receipted) =>
      assert.throws(
        () => checkReceiptToSign(t, log, r),
        (err: Error) => err.name === "ReceiptCheckError" && why.test(err.message),
      );
    refused(toSign([2, 3, 5]), /no unreceipted answer/); // a request the buyer never made
    refused(toSign([2, 2, 3]), /twice/); // one request billed twice
    refused(
      toSign([2, 3], (l) => {
        l[1].responseHash = h(99);
      }),
      /hashes other than/,
    ); // another response under the root
    refused(
      toSign([2, 3], () => {}, { units: 10 }),
      /units 10/,
    ); // inflated bill
    refused(
      toSign([2, 3], (l) => {
        l[0].units = 5;
      }),
      /bills 5 units/,
    );
    refused(
      toSign([2, 3], () => {}, { outputRoot: h(7) }),
      /hash to/,
    ); // a root other than the leaves'
    refused(
      toSign([2, 3], () => {}, { count: 7 }),
      /count 7/,
    );
    refused(toSign([2, 3]), /starts at request 2/, { count: 1, units: 1 }); // not where the chain stops
    refused({ ...toSign([2, 3]), leaves: { from: 2, routes: [], leaves: [] } as never }, /buyer leaves/);
  });

  it("checks each leaf's nonce against the nonce the buyer signed the request for (issue 10 item 13)", () => {
    // Requests 2 and 3 signed for nonces 102 and 103 (the leaves toSign builds carry 100 + request).
    const signed = new Map<number, LoggedResponse>([
      [2, { ...log.get(2)!, nonce: 102 }],
      [3, { ...log.get(3)!, nonce: 103 }],
    ]);
    checkReceiptToSign(toSign([2, 3]), signed, receipted);
    assert.throws(
      () =>
        checkReceiptToSign(
          toSign([2, 3], (l) => {
            l[1].nonce = 7n;
          }),
          signed,
          receipted,
        ),
      (err: Error) => err.name === "ReceiptCheckError" && /nonce 7, the request was signed for nonce 103/.test(err.message),
    );
  });
});
