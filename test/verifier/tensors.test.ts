// /shardmesh/tensor/1.0.0 between two real libp2p nodes on 127.0.0.1, served from a real trace
// store (node:sqlite): kept tensors come back bit-exact and hash-checked; a wrong leaf hash, a
// request never served (no bag with the leaf's hash), bags over the client's or the server's limit and malformed requests fail
// with named errors.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import type { MeshNode } from "../../node/src/mesh/node.ts";
import { TraceStore } from "../../node/src/trace/store.ts";
import { bagHash } from "../../node/src/tensor/index.ts";
import type { WireBag } from "../../node/src/tensor/index.ts";
import { randomTensor, toWireTensor } from "../../node/src/tensor/index.ts";
import { attachTensorService, fetchTensors, parseTensorRequest, serveTensors, traceSource } from "../../node/src/verifier/tensors.ts";
import { TENSOR_PROTOCOL } from "../../node/src/verifier/constants.ts";

const named = (name: string) => (err: Error) => {
  assert.equal(err.name, name, `${err.name}: ${err.message}`);
  return true;
};

describe("tensor protocol (/shardmesh/tensor/1.0.0)", { timeout: 60_000 }, () => {
  let dir: string;
  let trace: TraceStore;
  let server: MeshNode;
  let client: MeshNode;
  let service: { stop(): Promise<void> };
  const jobId = "7";
  const input: WireBag = { x: toWireTensor(randomTensor([1, 3, 48, 192], 11)) };
  const output: WireBag = { a: toWireTensor(randomTensor([1, 2], 12)), b: toWireTensor(randomTensor([4, 8], 13)) };
  const inputHash = bagHash(input);
  const outputHash = bagHash(output);

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "shardmesh-tensors-"));
    trace = new TraceStore({ path: join(dir, "trace.sqlite") });
    trace.record({ jobId, index: 3, modelId: "1", stage: 1, inputHash, outputHash, peerId: "upstream" }, { input, output });
    // Traced without tensors (--no-keep-tensors): the record exists, the tensors do not.
    const other = bagHash({ z: toWireTensor(randomTensor([2], 14)) });
    trace.record({ jobId, index: 4, modelId: "1", stage: 1, inputHash: other, outputHash: other, peerId: "upstream" });
    // A record whose claimed output hash is not what its kept tensors hash to.
    trace.record({ jobId: "9", index: 0, modelId: "1", stage: 1, inputHash, outputHash: other, peerId: "upstream" }, { input, output });
    server = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    client = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    service = await attachTensorService({ node: server, trace });
    await client.dial(server.getMultiaddrs()[0]);
  });

  after(async () => {
    await service?.stop();
    await client?.stop();
    await server?.stop();
    trace?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("returns the kept input and output bags bit-exact, found by the leaf hashes (index only a hint)", async () => {
    const gotIn = await fetchTensors(client, server.peerId, { jobId, index: 3, stage: 1, side: "input", hash: inputHash });
    // The receipt's leaf index need not be the provider's trace index: a wrong or absent hint still finds it.
    const gotOut = await fetchTensors(client, server.peerId.toString(), { jobId, index: 0, stage: 1, side: "output", hash: outputHash });
    const noHint = await fetchTensors(client, server.peerId, { jobId, stage: 1, side: "input", hash: inputHash });
    assert.equal(bagHash(noHint), inputHash);
    assert.deepEqual(Object.keys(gotIn), ["x"]);
    assert.deepEqual(gotIn.x.dims, [1, 3, 48, 192]);
    assert.equal(gotIn.x.dtype, 1);
    assert.equal(Buffer.compare(Buffer.from(gotIn.x.data), Buffer.from(input.x.data)), 0);
    assert.deepEqual(Object.keys(gotOut).sort(), ["a", "b"]);
    assert.equal(bagHash(gotOut), outputHash);
  });

  it("rejects a bag that does not hash to the revealed leaf with TensorHashMismatchError", async () => {
    // The provider's record claims `other`, but the tensors it kept hash to `outputHash`.
    const other = bagHash({ z: toWireTensor(randomTensor([2], 14)) });
    await assert.rejects(
      fetchTensors(client, server.peerId, { jobId: "9", index: 0, stage: 1, side: "output", hash: other }),
      (err: Error & { expected?: string; got?: string }) =>
        named("TensorHashMismatchError")(err) && err.expected === other && err.got === outputHash,
    );
  });

  it("answers TensorNotFoundError for a request never served, another stage, or tensors not kept", async () => {
    const other = bagHash({ z: toWireTensor(randomTensor([2], 14)) });
    for (const req of [
      { jobId, index: 3, stage: 1, side: "input" as const, hash: outputHash }, // no input with that hash
      { jobId, index: 3, stage: 0, side: "input" as const, hash: inputHash },
      { jobId: "8", index: 3, stage: 1, side: "output" as const, hash: outputHash },
      { jobId, index: 4, stage: 1, side: "output" as const, hash: other }, // traced, tensors not kept
    ]) {
      await assert.rejects(fetchTensors(client, server.peerId, req), named("TensorNotFoundError"));
    }
  });

  it("refuses bags over the client's limit before reading them, and over the server's limit when serving", async () => {
    await assert.rejects(
      fetchTensors(client, server.peerId, { jobId, index: 3, stage: 1, side: "input", hash: inputHash }, { maxBagBytes: 1024 }),
      named("TensorResponseTooLargeError"),
    );
    // A second server with a small serving limit: it refuses by name instead of sending.
    const small = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    try {
      await serveTensors(small, traceSource(trace), { maxBagBytes: 4096 });
      await client.dial(small.getMultiaddrs()[0]);
      await assert.rejects(
        fetchTensors(client, small.peerId, { jobId, index: 3, stage: 1, side: "input", hash: inputHash }),
        named("TensorResponseTooLargeError"),
      );
      // The small output bag (136 bytes) is within its limit.
      const ok = await fetchTensors(client, small.peerId, { jobId, index: 3, stage: 1, side: "output", hash: outputHash });
      assert.equal(bagHash(ok), outputHash);
    } finally {
      await small.stop();
    }
  });

  it("validates requests with TensorProtocolError (version, job id, index, stage, side)", async () => {
    const good = { v: 1, jobId: "1", index: 0, stage: 0, side: "input", hash: inputHash };
    assert.deepEqual(parseTensorRequest(good), { jobId: "1", index: 0, stage: 0, side: "input", hash: inputHash });
    assert.deepEqual(parseTensorRequest({ ...good, index: undefined }), { jobId: "1", stage: 0, side: "input", hash: inputHash });
    for (const bad of [
      null,
      { ...good, v: 2 },
      { ...good, jobId: "0x1" },
      { ...good, index: -1 },
      { ...good, index: 1.5 },
      { ...good, stage: 70_000 },
      { ...good, side: "both" },
      { ...good, hash: "0x12" },
      { ...good, hash: undefined },
    ]) {
      assert.throws(() => parseTensorRequest(bad), named("TensorProtocolError"));
    }
  });

  it("stops serving on stop() and honours the caller's abort signal", async () => {
    const ctl = new AbortController();
    ctl.abort(new Error("caller gave up"));
    await assert.rejects(
      fetchTensors(client, server.peerId, { jobId, index: 3, stage: 1, side: "input", hash: inputHash }, { signal: ctl.signal }),
    );
    await service.stop();
    assert.ok(!server.getProtocols().includes(TENSOR_PROTOCOL));
    await assert.rejects(fetchTensors(client, server.peerId, { jobId, index: 3, stage: 1, side: "input", hash: inputHash }));
    service = await attachTensorService({ node: server, trace });
    assert.ok(server.getProtocols().includes(TENSOR_PROTOCOL));
  });
});
