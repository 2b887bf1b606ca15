// The chain side of the verifier tests (imports the contract tests' fixture, so a Hardhat network
// starts with it): verifier services on dev accounts with their events kept, real receipts
// submitted and every sample revealed in one transaction each, and a loop that lets chain time
// pass in small steps while the services run, as it does for verifiers polling a live chain.
import assert from "node:assert/strict";
import { isAddressEqual } from "viem";
import type { Address, PublicClient } from "viem";
import type { ShardWallet } from "../../node/src/chain/contracts.ts";
import type { MeshNode } from "../../node/src/mesh/node.ts";
import type { ModelCatalog } from "../../node/src/verifier/models.ts";
import { VerifierService } from "../../node/src/verifier/service.ts";
import type { VerifierEvent, VerifierInit } from "../../node/src/verifier/service.ts";
import { ROLE, addr, as, networkHelpers, publicClient, wallets } from "../contracts/helpers.ts";
import type { Fixture, OpenedJob } from "../contracts/helpers.ts";
import type { RealReceipt } from "./fixture.ts";

/** A verifier service on dev account `who`, recording its events in `events`. */
export function verifierOn(
  f: Fixture,
  who: number,
  node: MeshNode,
  models: ModelCatalog,
  events: VerifierEvent[],
  over: Partial<VerifierInit> = {},
): VerifierService {
  return new VerifierService({
    node,
    publicClient: publicClient as unknown as PublicClient,
    wallet: wallets[who] as unknown as ShardWallet,
    deployment: f.deployment,
    models,
    check: { attempts: 2, retryMs: 50 },
    onEvent: (e) => events.push(e),
    ...over,
  });
}

/** Submits a receipt (from p1); returns the receipt id. */
export async function submitReceipt(f: Fixture, job: OpenedJob, r: RealReceipt): Promise<bigint> {
  const receiptId = BigInt((await f.market.read.job([job.jobId])).receiptCount);
  await f.market.write.submitReceipt([job.jobId, r.count, r.count, r.outputRoot, r.sessionSignature, r.parts], as(ROLE.p1));
  return receiptId;
}

/** Reveals every sample of a receipt whose seed is fixed, one transaction each (from p1). */
export async function revealSamples(f: Fixture, job: OpenedJob, receiptId: bigint, r: RealReceipt): Promise<void> {
  const indices = await f.spotCheck.read.sampleIndices([job.jobId, receiptId]);
  for (const [j, i] of indices.entries()) {
    const index = Number(i);
    const stages = r.route.map((_, s) => s);
    await f.spotCheck.write.revealSample(
      [
        job.jobId,
        receiptId,
        BigInt(j),
        r.buyerTree.leaf(index),
        r.buyerTree.proof(index),
        r.route,
        r.records,
        stages.map((s) => r.stageTrees.get(s)!.leaf(index)),
        stages.map((s) => r.stageTrees.get(s)!.proof(index)),
        stages.map((s) => BigInt(r.records.findIndex((p) => p.stage === s))),
      ],
      as(ROLE.p1),
    );
    assert.equal((await f.spotCheck.read.sample([job.jobId, receiptId, BigInt(j)])).resolved, true, `sample ${j} revealed`);
  }
}

/** Submits a receipt (from p1), fixes its seed and reveals every sample; returns the receipt id. */
export async function submitAndReveal(f: Fixture, job: OpenedJob, r: RealReceipt): Promise<bigint> {
  const receiptId = await submitReceipt(f, job, r);
  await networkHelpers.mine(1);
  await f.spotCheck.write.drawSamples([job.jobId, receiptId], as(ROLE.p1));
  await revealSamples(f, job, receiptId, r);
  return receiptId;
}

/** The verifier drawn for each sample of a receipt. */
export async function drawnVerifiers(f: Fixture, jobId: bigint, receiptId: bigint): Promise<Address[]> {
  const n = (await f.spotCheck.read.receiptCheck([jobId, receiptId])).samples;
  const out: Address[] = [];
  for (let j = 0; j < n; j++) out.push((await f.spotCheck.read.sample([jobId, receiptId, BigInt(j)])).verifier);
  return out;
}

/**
 * Ticks every service once, then lets `stepSeconds` of chain time pass (one block), until `done`
 * holds; fails after `maxSteps`.
 */
export async function tickUntil(
  services: VerifierService[],
  done: () => Promise<boolean>,
  o: { stepSeconds?: number; maxSteps?: number; what?: string } = {},
): Promise<void> {
  for (let i = 0; i < (o.maxSteps ?? 80); i++) {
    for (const s of services) await s.tick();
    if (await done()) return;
    await networkHelpers.time.increase(o.stepSeconds ?? 20);
  }
  assert.fail(`not reached: ${o.what ?? "condition"}`);
}

/** The events of one kind, across services. */
export function eventsOf<K extends VerifierEvent["event"]>(events: Iterable<VerifierEvent[]>, kind: K) {
  return [...events].flat().filter((e): e is Extract<VerifierEvent, { event: K }> => e.event === kind);
}

export const isOneOf = (a: Address, list: Address[]) => list.some((x) => isAddressEqual(x, a));
export { addr };
