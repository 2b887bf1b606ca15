// The session key's JobRequest signature (node/src/receipts/eip712.ts, node/src/jobs/session.ts):
// EIP-712 `JobRequest(uint256 jobId,uint64 nonce,bytes32 requestHash)` in the ShardMesh domain.
// The nonce is signed (issue 10, item 13): a signature for one nonce verifies for no other, so an
// observed signature cannot be replayed under a fresh nonce.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { domainSeparator, encodeAbiParameters, hashTypedData, keccak256, toBytes } from "viem";
import { generatePrivateKey, privateKeyToAccount } from "viem/accounts";
import { jobRequestTypedData, shardMeshDomain, signJobRequest } from "../../../node/src/receipts/eip712.ts";
import { signGenerationRequest, generationRequestHash, verifyJobRequestSignature } from "../../../node/src/jobs/session.ts";

const MARKET = "0x5FbDB2315678afecb367f032d93F642f64180aa3";
const domain = shardMeshDomain(31337, MARKET);
const requestHash = `0x${"ab".repeat(32)}` as const;

describe("JobRequest signatures", () => {
  it("encode JobRequest(uint256 jobId,uint64 nonce,bytes32 requestHash) as EIP-712 says", () => {
    const typeHash = keccak256(toBytes("JobRequest(uint256 jobId,uint64 nonce,bytes32 requestHash)"));
    const structHash = keccak256(
      encodeAbiParameters(
        [{ type: "bytes32" }, { type: "uint256" }, { type: "uint64" }, { type: "bytes32" }],
        [typeHash, 7n, 3n, requestHash],
      ),
    );
    const domainHash = domainSeparator({ domain });
    const digest = keccak256(`0x1901${domainHash.slice(2)}${structHash.slice(2)}`);
    assert.equal(hashTypedData(jobRequestTypedData(domain, { jobId: 7n, nonce: 3n, requestHash })), digest);
  });

  it("bind the nonce: a signature verifies for its own nonce only", async () => {
    const key = privateKeyToAccount(generatePrivateKey());
    const sig = await signJobRequest(key, domain, { jobId: 7n, nonce: 3n, requestHash });
    assert.equal(await verifyJobRequestSignature(domain, key.address, { jobId: 7n, nonce: 3n, requestHash }, sig), true);
    for (const nonce of [0n, 2n, 4n, 2n ** 64n - 1n])
      assert.equal(await verifyJobRequestSignature(domain, key.address, { jobId: 7n, nonce, requestHash }, sig), false, `nonce ${nonce}`);
    assert.equal(await verifyJobRequestSignature(domain, key.address, { jobId: 8n, nonce: 3n, requestHash }, sig), false);
    assert.equal(
      await verifyJobRequestSignature(shardMeshDomain(1, MARKET), key.address, { jobId: 7n, nonce: 3n, requestHash }, sig),
      false,
    );
    assert.equal(await verifyJobRequestSignature(domain, key.address, { jobId: 7n, nonce: 3n, requestHash }, "0x1234"), false);
  });

  it("sign a language-model body as keccak256 of its bytes, for one nonce", async () => {
    const key = privateKeyToAccount(generatePrivateKey());
    const body = JSON.stringify({ model: "m", messages: [{ role: "user", content: "hi" }] });
    const sig = await signGenerationRequest(key, domain, 9n, 1, body);
    const hash = generationRequestHash(body);
    assert.equal(await verifyJobRequestSignature(domain, key.address, { jobId: 9n, nonce: 1n, requestHash: hash }, sig), true);
    assert.equal(await verifyJobRequestSignature(domain, key.address, { jobId: 9n, nonce: 0n, requestHash: hash }, sig), false);
  });
});
