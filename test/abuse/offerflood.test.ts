// Data-plane offer flood (issue 12 item 5; bench abuse "dataPlaneOfferFlood"): 20,000
// DATA_PLANE_REQUEST frames on one pipeline stream made the provider mint 20,000 tokens and write
// 20,000 replies while honest hops waited seconds behind them. A stream now gets at most
// MAX_DATA_PLANE_OFFERS_PER_STREAM offers and is closed with PipelineOfferLimitError on the next
// request, a peer at most MAX_DATA_PLANE_OFFERS_PER_PEER per DATA_PLANE_TOKEN_TTL_MS across its
// streams, and a stream sending frames of a kind the provider never takes is closed after one
// error. Only the asking peer's stream is touched: its connection, its other streams and other
// peers' hops carry on.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Stream } from "@libp2p/interface";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import type { MeshNode } from "../../node/src/mesh/node.ts";
import { MAX_DATA_PLANE_OFFERS_PER_STREAM, PIPELINE_PROTOCOL, PIPELINE_VERSION } from "../../node/src/pipeline/constants.ts";
import { MAX_DATA_PLANE_OFFERS_PER_PEER } from "../../node/src/pipeline/dataplane.ts";
import { PipelineClient } from "../../node/src/pipeline/client.ts";
import { encodeFrame, Frame, FrameReader, writeFrame } from "../../node/src/pipeline/frames.ts";
import type { DecodedFrame } from "../../node/src/pipeline/frames.ts";
import { PipelineServer, stageKey } from "../../node/src/pipeline/server.ts";
import type { StageExecutor } from "../../node/src/pipeline/server.ts";
import { offerFlood } from "./attacks.ts";

const bag = () => ({ in: { dtype: 2, dims: [64], data: new Uint8Array(64).fill(7) } });
const newPeer = () => generateKeyPair("Ed25519").then((privateKey) => createMeshNode({ privateKey, dht: false }));

describe("data-plane offer flood", { timeout: 120_000 }, () => {
  let server: MeshNode;
  let pipeline: PipelineServer;
  const peers: MeshNode[] = [];
  const clients: PipelineClient[] = [];

  /** A fresh peer connected to the provider, and a pipeline client on it. */
  async function peer(): Promise<{ node: MeshNode; client: PipelineClient }> {
    const node = await newPeer();
    peers.push(node);
    await node.dial(server.getMultiaddrs()[0]);
    const client = new PipelineClient(node);
    clients.push(client);
    return { node, client };
  }

  before(async () => {
    server = await newPeer();
    const echo: StageExecutor = { run: async (b) => ({ out: b.in }) };
    pipeline = new PipelineServer(server, { stages: new Map([[stageKey("m", 0), echo]]) });
    await pipeline.start();
  });
  after(async () => {
    for (const c of clients) c.close();
    for (const p of peers) await p.stop();
    await pipeline.stop();
    await server.stop();
  });

  it("answers MAX_DATA_PLANE_OFFERS_PER_STREAM of 20,000 requests on a stream, then closes it with PipelineOfferLimitError; an honest hop meanwhile is served", async () => {
    const honest = await peer();
    await honest.client.call(server.peerId, { modelId: "m", stage: 0, bag: bag() }); // its hop is set up
    const flooder = await peer();
    const offersBefore = pipeline.dataPlaneOffers();

    let flooding = true;
    const honestRuns = (async () => {
      let ok = 0;
      const failed: string[] = [];
      do {
        try {
          const res = await honest.client.call(server.peerId, { modelId: "m", stage: 0, bag: bag() }, { timeoutMs: 30_000 });
          if (res.bag.out.data[0] === 7) ok++;
          else failed.push("wrong answer");
        } catch (err) {
          failed.push((err as Error).name);
        }
      } while (flooding);
      return { ok, failed };
    })();
    const flood = await offerFlood({ node: flooder.node }, server.peerId.toString(), 20_000, 60_000);
    flooding = false;
    const runs = await honestRuns;

    assert.equal(flood.offers, MAX_DATA_PLANE_OFFERS_PER_STREAM, "offers made on the flooding stream");
    assert.deepEqual(flood.errors, ["PipelineOfferLimitError"], "one named error, nothing answered after it");
    assert.equal(flood.closed, true, "the provider closed the flooding stream");
    assert.ok(
      pipeline.dataPlaneOffers() - offersBefore <= MAX_DATA_PLANE_OFFERS_PER_STREAM,
      `${pipeline.dataPlaneOffers() - offersBefore} offers minted for the flood`,
    );
    assert.deepEqual(runs.failed, [], "every honest hop during the flood succeeded");
    assert.ok(runs.ok >= 1);
    assert.equal(honest.client.path(server.peerId), "direct", "the honest hop kept its data plane");

    // Only the flooding stream went: the flooder's connection and a new stream of its own work.
    const again = await flooder.client.call(server.peerId, { modelId: "m", stage: 0, bag: bag() });
    assert.equal(again.bag.out.data[0], 7);
  });

  it("closes a stream flooding frames of a kind the provider never takes after one PipelineMalformedFrameError", async () => {
    const { node } = await peer();
    const flood = await offerFlood({ node }, server.peerId.toString(), 5_000, 60_000, Frame.Kind.RESPONSE);
    assert.deepEqual(flood.errors, ["PipelineMalformedFrameError"]);
    assert.equal(flood.closed, true);
    assert.equal(flood.offers, 0);
  });

  it("makes a peer at most MAX_DATA_PLANE_OFFERS_PER_PEER offers per TTL across streams; past it the request is refused by name and the stream still serves", async () => {
    const { node } = await peer();
    /** Sends `frame` on `s` and resolves with the answer to it. */
    const ask = (s: Stream, header: Parameters<typeof encodeFrame>[0], b?: ReturnType<typeof bag>): Promise<Frame> =>
      new Promise<Frame>((resolve, reject) => {
        const reader = new FrameReader(s, {
          onFrame: (f: DecodedFrame) => {
            if (f.header.requestId !== header.requestId) return;
            reader.stop();
            resolve(f.header);
          },
          onError: reject,
        });
        s.addEventListener("close", () => reject(new Error("stream closed")));
        writeFrame(s, encodeFrame(header, b)).catch(reject);
      });
    const kinds: string[] = [];
    let last: Stream | undefined;
    for (let i = 0; i < MAX_DATA_PLANE_OFFERS_PER_PEER + 4; i++) {
      last?.abort(new Error("next")); // at most MAX_PIPELINE_STREAMS_PER_PEER open at once
      last = await node.dialProtocol(server.peerId, PIPELINE_PROTOCOL, { signal: AbortSignal.timeout(5_000) });
      const answer = await ask(last, { kind: Frame.Kind.DATA_PLANE_REQUEST, version: PIPELINE_VERSION, requestId: 1n });
      kinds.push(answer.kind === Frame.Kind.DATA_PLANE_OFFER ? "offer" : answer.errorName);
    }
    assert.deepEqual(kinds, [...Array(MAX_DATA_PLANE_OFFERS_PER_PEER).fill("offer"), ...Array(4).fill("PipelineOfferLimitError")]);
    // The refused request cost the stream nothing: a hop on it is served.
    const served = await ask(last!, { kind: Frame.Kind.REQUEST, version: PIPELINE_VERSION, requestId: 2n, modelId: "m", stage: 0 }, bag());
    assert.equal(served.kind, Frame.Kind.RESPONSE);
    last!.abort(new Error("done"));
  });
});
