// Sealed data-plane channels are bounded in time (issue 12 item 5): a channel that carries nothing
// is closed after its idle timeout, and a provider's channel never outlives the libp2p control
// stream its offer was made on (a hostile caller that drops the stream cannot keep the socket).
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Stream } from "@libp2p/interface";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import type { MeshNode } from "../../node/src/mesh/node.ts";
import {
  DATA_PLANE_CALLER_IDLE_TIMEOUT_MS,
  DATA_PLANE_IDLE_TIMEOUT_MS,
  MAX_HOP_TIMEOUT_MS,
  PIPELINE_PROTOCOL,
  PIPELINE_VERSION,
} from "../../node/src/pipeline/constants.ts";
import { connectDataPlane, DataPlaneServer } from "../../node/src/pipeline/dataplane.ts";
import type { SealedChannel } from "../../node/src/pipeline/dataplane.ts";
import { encodeFrame, Frame, FrameReader, writeFrame } from "../../node/src/pipeline/frames.ts";
import type { DecodedFrame } from "../../node/src/pipeline/frames.ts";
import { PipelineServer } from "../../node/src/pipeline/server.ts";
import { until } from "../../scripts/lib/wait.ts";

/** Resolves with the close event's error name ("closed" without one) when `channel` closes. */
function closed(channel: SealedChannel): Promise<string> {
  return new Promise((resolve) => channel.addEventListener("close", (evt) => resolve(evt.error?.name ?? "closed")));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("data-plane channel lifetime", { timeout: 60_000 }, () => {
  it("derives the idle timeouts from the hop deadlines: longer than any request may run, the caller's shorter than the provider's", () => {
    assert.ok(DATA_PLANE_CALLER_IDLE_TIMEOUT_MS > MAX_HOP_TIMEOUT_MS);
    assert.ok(DATA_PLANE_IDLE_TIMEOUT_MS > DATA_PLANE_CALLER_IDLE_TIMEOUT_MS);
  });

  describe("idle timeout", { timeout: 15_000 }, () => {
    const IDLE_MS = 400;
    let provider: DataPlaneServer;
    const accepted: SealedChannel[] = [];

    before(async () => {
      provider = new DataPlaneServer("127.0.0.1", (channel) => accepted.push(channel), { idleTimeoutMs: IDLE_MS });
      await provider.start();
    });
    after(() => provider.stop());

    async function open(callerIdleMs: number): Promise<{ caller: SealedChannel; served: SealedChannel }> {
      const n = accepted.length;
      const { token, key, port } = provider.offer("peer-a");
      const caller = await connectDataPlane("127.0.0.1", port, token, key, { idleTimeoutMs: callerIdleMs });
      const served = await until("the provider accepts the channel", async () => accepted[n], 5_000, 10);
      return { caller, served };
    }

    it("the provider closes a channel left idle with PipelineIdleError, and the caller sees it close", async () => {
      const { caller, served } = await open(60_000);
      const t0 = performance.now();
      const [servedErr, callerErr] = await Promise.all([closed(served), closed(caller)]);
      const ms = performance.now() - t0;
      assert.equal(servedErr, "PipelineIdleError");
      assert.equal(callerErr, "PipelineStreamClosedError");
      assert.ok(ms >= IDLE_MS - 50, `closed after ${ms.toFixed(0)} ms`);
    });

    it("the caller retires its own idle channel with PipelineIdleError", async () => {
      const { caller, served } = await open(IDLE_MS / 2);
      const [callerErr, servedErr] = await Promise.all([closed(caller), closed(served)]);
      assert.equal(callerErr, "PipelineIdleError");
      assert.equal(servedErr, "PipelineStreamClosedError");
    });

    it("keeps a channel that carries records open past the timeout", async () => {
      const { caller, served } = await open(60_000);
      let got = 0;
      served.addEventListener("message", (evt) => {
        got += evt.data!.byteLength;
      });
      for (let i = 0; i < 8; i++) {
        caller.send(new Uint8Array([i]));
        await sleep(IDLE_MS / 4);
      }
      assert.equal(served.status, "open", "2× the idle timeout with traffic: still open");
      assert.equal(caller.status, "open");
      assert.equal(got, 8);
      // Then silence: it goes.
      assert.equal(await closed(served), "PipelineIdleError");
    });
  });

  describe("control stream", { timeout: 30_000 }, () => {
    let server: MeshNode;
    let hostile: MeshNode;
    let pipeline: PipelineServer;

    before(async () => {
      server = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
      hostile = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
      pipeline = new PipelineServer(server, { stages: new Map() });
      await pipeline.start();
      await hostile.dial(server.getMultiaddrs()[0]);
    });
    after(async () => {
      await pipeline.stop();
      await hostile.stop();
      await server.stop();
    });

    /** A raw pipeline stream from the hostile peer and the provider's answer to a DATA_PLANE_REQUEST on it. */
    async function offered(): Promise<{ stream: Stream; offer: Frame }> {
      const stream = await hostile.dialProtocol(server.peerId, PIPELINE_PROTOCOL, { signal: AbortSignal.timeout(5_000) });
      const answer = new Promise<DecodedFrame>((resolve, reject) => {
        new FrameReader(stream, { onFrame: resolve, onError: reject });
      });
      await writeFrame(stream, encodeFrame({ kind: Frame.Kind.DATA_PLANE_REQUEST, version: PIPELINE_VERSION, requestId: 1n }));
      const { header: offer } = await answer;
      assert.equal(offer.kind, Frame.Kind.DATA_PLANE_OFFER);
      return { stream, offer };
    }

    for (const [how, end] of [
      ["resets", (s: Stream) => s.abort(new Error("gone"))],
      ["closes its end of", (s: Stream) => s.close()],
    ] as const) {
      it(`closes the provider's channel when the caller ${how} the stream its offer was made on`, async () => {
        const { stream, offer } = await offered();
        const channel = await connectDataPlane("127.0.0.1", offer.dataPort, offer.token, offer.key);
        await until("the provider serves the channel", async () => pipeline.dataPlaneChannels() === 1, 5_000, 10);
        const gone = closed(channel);
        await end(stream);
        assert.equal(await gone, "PipelineStreamClosedError");
        await until("the provider dropped the channel", async () => pipeline.dataPlaneChannels() === 0, 5_000, 10);
      });
    }

    it("opens nothing for a token presented after its control stream closed", async () => {
      const { stream, offer } = await offered();
      stream.abort(new Error("gone"));
      await sleep(50);
      const channel = await connectDataPlane("127.0.0.1", offer.dataPort, offer.token, offer.key);
      assert.equal(await closed(channel), "PipelineStreamClosedError");
      assert.equal(pipeline.dataPlaneChannels(), 0);
    });
  });
});
