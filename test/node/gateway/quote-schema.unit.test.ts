// GET /v1/quotes needs a chain, so the live conformance test (test/node/mesh/gateway.test.ts)
// cannot reach it: here a quote signed as providers sign it, serialised as the gateway sends it
// (bigints as decimal strings), is checked against the served OpenAPI document's SignedQuote and
// read back by signedQuoteFromJson — the document, api.ts's SignedQuoteJson and the parser agree.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { privateKeyToAccount } from "viem/accounts";
import type { SignedQuoteJson } from "../../../node/src/gateway/api.ts";
import { openapiDocument } from "../../../node/src/gateway/openapi.ts";
import { shardMeshDomain, signedQuoteFromJson, signQuote } from "../../../node/src/receipts/eip712.ts";

type Schema = { type?: string | string[]; required?: string[]; properties?: Record<string, Schema>; items?: Schema; $ref?: string };

describe("the OpenAPI document's signed quote", () => {
  it("is what the gateway sends and what signedQuoteFromJson reads", async () => {
    const provider = privateKeyToAccount(`0x${"11".repeat(32)}`);
    const signed = await signQuote(provider, shardMeshDomain(31337, "0x00000000000000000000000000000000000000aa"), {
      modelId: 7n,
      stage: 1,
      provider: provider.address,
      buyer: "0x00000000000000000000000000000000000000b2",
      price: 10n ** 15n,
      maxUnits: 100,
      expiry: 1_900_000_000n,
      maxJobExpiry: 1_900_086_400n,
      nonce: 42n,
    });
    const sent = JSON.parse(JSON.stringify({ quotes: [signed] }, (_k, v) => (typeof v === "bigint" ? v.toString() : v))) as {
      quotes: SignedQuoteJson[];
    };

    const doc = openapiDocument() as unknown as {
      paths: Record<string, { get: { responses: { 200: { content: { "application/json": { schema: Schema } } } } } }>;
      components: { schemas: Record<string, Schema> };
    };
    const answer = doc.paths["/v1/quotes"].get.responses[200].content["application/json"].schema;
    assert.equal(answer.properties?.quotes.items?.$ref, "#/components/schemas/SignedQuote");
    const schema = doc.components.schemas.SignedQuote;
    const quoteSchema = schema.properties!.quote;
    const q = sent.quotes[0];
    assert.deepEqual(Object.keys(q).sort(), [...schema.required!].sort(), "signed quote: the documented fields, no others");
    assert.deepEqual(Object.keys(q.quote).sort(), [...quoteSchema.required!].sort(), "quote: the documented fields, no others");
    for (const [k, v] of Object.entries(q.quote)) {
      const want = quoteSchema.properties![k].type;
      assert.equal(want === "integer" ? (Number.isInteger(v) ? "integer" : typeof v) : typeof v, want, `quote.${k}`);
    }
    assert.deepEqual(signedQuoteFromJson(q), signed, "read back exactly");
  });
});
