// A provider behind NAT answers DATA_PLANE_REQUEST with its side of a hole punch and starts
// connecting to the address the caller named. That address is the caller's word, so the provider
// guards it (regression tests for each guard, on loopback): over a direct connection the caller
// must name the IP it is seen at; one punch start per peer per PUNCH_INTERVAL_PER_PEER_MS; and a
// provider whose data plane is reachable never punches. (Punches themselves across real NAT:
// test/network/nat.test.ts, mesh.test.ts.)
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { once } from "node:events";
import { createServer } from "node:net";
import type { Server } from "node:net";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { createMeshNode } from "../../../node/src/mesh/node.ts";
import type { MeshNode } from "../../../node/src/mesh/node.ts";
import { PipelineServer } from "../../../node/src/pipeline/server.ts";
import { PIPELINE_PROTOCOL, PIPELINE_VERSION } from "../../../node/src/pipeline/constants.ts";
import { encodeFrame, Frame, FrameReader, writeFrame } from "../../../node/src/pipeline/frames.ts";
import type { DecodedFrame } from "../../../node/src/pipeline/frames.ts";
import type { ReachState } from "../../../node/src/nat/reach.ts";
import { PUNCH_INTERVAL_PER_PEER_MS } from "../../../node/src/nat/constants.ts";

describe("hole-punch guards on the provider", () => {
  let server: MeshNode;
  let caller: MeshNode;
  let pipeline: PipelineServer;
  /** Where the provider's punches land: counts connection attempts from it. */
  let target: Server;
  let targetPort = 0;
  let knocks = 0;
  const reach: { state: ReachState } = { state: { status: "unreachable", dataPlane: false, externalIp: "127.0.0.1" } };

  before(async () => {
    server = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    caller = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
    pipeline = new PipelineServer(server, { dataPlaneHost: "127.0.0.1", reach });
    await pipeline.start();
    target = createServer((s) => {
      knocks++;
      s.destroy();
    });
    target.listen(0, "127.0.0.1");
    await once(target, "listening");
    targetPort = (target.address() as { port: number }).port;
    await caller.dial(server.getMultiaddrs()[0]);
  });
  after(async () => {
    await pipeline.stop();
    await caller.stop();
    await server.stop();
    target.close();
  });

  async function offer(punchHost: string): Promise<Frame> {
    const s = await caller.dialProtocol(server.peerId, PIPELINE_PROTOCOL, { signal: AbortSignal.timeout(5000) });
    const got = new Promise<DecodedFrame>((resolve) => new FrameReader(s, { onFrame: resolve, onError: () => {} }));
    await writeFrame(
      s,
      encodeFrame({ kind: Frame.Kind.DATA_PLANE_REQUEST, version: PIPELINE_VERSION, requestId: 1n, punchHost, punchPort: targetPort }),
    );
    const { header } = await got;
    assert.equal(header.kind, Frame.Kind.DATA_PLANE_OFFER);
    s.abort(new Error("done")); // one stream per question (a peer may hold only a few)
    return header;
  }

  it("refuses to punch towards another address than the caller's own over a direct connection", async () => {
    const header = await offer("127.0.0.2");
    assert.equal(header.unreachable, true);
    assert.equal(header.punchPort, 0, "no punch offered");
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(knocks, 0, "nothing was dialled");
  });

  it("punches towards the caller's own address, once per interval per peer", async () => {
    const first = await offer("127.0.0.1");
    assert.ok(first.punchPort > 0);
    assert.equal(first.punchHost, "127.0.0.1");
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(knocks >= 1, "the provider connected to the caller's side");
    const again = await offer("127.0.0.1");
    assert.equal(again.punchPort, 0, "a second punch within the interval is refused");
    await new Promise((r) => setTimeout(r, PUNCH_INTERVAL_PER_PEER_MS));
    const later = await offer("127.0.0.1");
    assert.ok(later.punchPort > 0, "allowed again after the interval");
  });

  it("never punches while its data plane is reachable (the caller connects instead)", async () => {
    reach.state = { status: "reachable", dataPlane: true, externalIp: "127.0.0.1" };
    await new Promise((r) => setTimeout(r, PUNCH_INTERVAL_PER_PEER_MS));
    const header = await offer("127.0.0.1");
    assert.equal(header.unreachable, false);
    assert.equal(header.punchPort, 0);
    assert.equal(header.dataHost, "127.0.0.1");
    assert.ok(header.dataPort > 0);
  });
});
