// Shared fixture for the contract tests: deploys through scripts/lib (the same code `npm run deploy`
// runs), publishes a 3-stage model, funds a buyer and stakes providers and verifiers. Receipts,
// trees and signatures come from node/src/receipts — the same helpers the provider node uses.
import { network } from "hardhat";
import { encodeAbiParameters, getAddress, getContract, keccak256, parseEther, toHex, zeroAddress } from "viem";
import {
  disputesAbi,
  jobMarketAbi,
  modelRegistryAbi,
  protocolParamsAbi,
  providerStakingAbi,
  shardTokenAbi,
  spotCheckAbi,
} from "../../node/src/generated/abis.ts";
import type { Address, Hex } from "viem";
import { generatePrivateKey, mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import type { LocalAccount } from "viem/accounts";
import {
  buildBuyerTree,
  buildStageTree,
  partRecords,
  permitSignatureParts,
  permitTypedData,
  shardMeshDomain,
  signBuyerReceipt,
  signProviderReceipt,
  signQuote,
  sortParts,
  tokenPermitDomain,
} from "../../node/src/receipts/index.ts";
import type {
  BuyerRecord,
  PartRecord,
  Quote,
  ReceiptTree,
  BuyerLeaf,
  StageLeaf,
  SignedQuote,
  StagePart,
  StageRecord,
} from "../../node/src/receipts/index.ts";
import { deployAll } from "../../scripts/lib/deploy.ts";
import type { ProtocolParamsValues } from "../../node/src/chain/params.ts";
import type { DeployWallet } from "../../scripts/lib/deploy.ts";

export const MNEMONIC = "test test test test test test test test test test test junk";
export const devAccount = (i: number): LocalAccount => mnemonicToAccount(MNEMONIC, { addressIndex: i });
export const ZERO32: Hex = toHex(0, { size: 32 });
export const PRICE = parseEther("0.001");
export const STAKE = parseEther("10000");
export const FLOOR = parseEther("0.0005");

export const conn = await network.create();
export const { viem, networkHelpers } = conn;
export const publicClient = await viem.getPublicClient();
export const wallets = await viem.getWalletClients();

/** Account roles by wallet index. */
export const ROLE = {
  admin: 0,
  buyer: 1,
  p1: 2,
  p2: 3,
  p3: 4,
  p4: 5,
  v1: 6,
  v2: 7,
  v3: 8,
  treasury: 9,
  publisher: 10,
  stranger: 11,
} as const;
export const addr = (i: number): Address => getAddress(wallets[i].account.address);
/** Write options sending from dev account `i`. */
export const as = (i: number) => ({ account: wallets[i].account });
/** The dev account index of an address (-1 if none). */
export const roleOf = (a: Address): number => wallets.findIndex((w) => w.account.address.toLowerCase() === a.toLowerCase());

/**
 * Matches the chain time a revert reports ("now" in the contract): some block after `t`. The
 * exact value is not knowable: the dev chain's clock follows the wall clock, so under load more
 * than one second can pass between the latest block and the call (asserting `t + 1n` flaked).
 */
export const after =
  (t: bigint) =>
  (observed: bigint): boolean =>
    observed > t;

export interface ModelOptions {
  stages?: number;
  samplingRatePpm?: number;
  royaltyBps?: number;
  zk?: { stage: number; verifier: Address; weightsCommitment: Hex };
  /** Overrides of the deployment's first ProtocolParams version. */
  protocol?: Partial<ProtocolParamsValues>;
}

export async function deployFixture(modelOpts: ModelOptions) {
  const deployment = await deployAll({
    wallet: wallets[ROLE.admin] as unknown as DeployWallet,
    publicClient: publicClient as never,
    params: { treasury: addr(ROLE.treasury), faucetReserve: parseEther("1000000").toString() },
    protocol: { treasuryFeeBps: 100, verifierFeeBps: 100, ...modelOpts.protocol },
  });
  const c = deployment.contracts;
  const client = { public: publicClient, wallet: wallets[ROLE.admin] };
  const token = getContract({ address: c.ShardToken.address, abi: shardTokenAbi, client });
  const staking = getContract({ address: c.ProviderStaking.address, abi: providerStakingAbi, client });
  const registry = getContract({ address: c.ModelRegistry.address, abi: modelRegistryAbi, client });
  const market = getContract({ address: c.JobMarket.address, abi: jobMarketAbi, client });
  const params = getContract({ address: c.ProtocolParams.address, abi: protocolParamsAbi, client });
  const spotCheck = getContract({ address: c.SpotCheck.address, abi: spotCheckAbi, client });
  const disputes = getContract({ address: c.Disputes.address, abi: disputesAbi, client });
  const stages = modelOpts.stages ?? 3;
  await registry.write.publish(
    [
      {
        onnxSha256: keccak256(toHex("model.onnx")),
        manifestHash: keccak256(toHex("manifest")),
        metadataURI: "ipfs://model",
        stageCount: stages,
        royaltyBps: modelOpts.royaltyBps ?? 500,
        toleranceMicros: 10,
        samplingRatePpm: modelOpts.samplingRatePpm ?? 1_000,
        hasZkStage: modelOpts.zk !== undefined,
        zkStage: modelOpts.zk?.stage ?? 0,
        weightsCommitment: modelOpts.zk?.weightsCommitment ?? ZERO32,
        zkVerifier: modelOpts.zk?.verifier ?? zeroAddress,
        priceFloors: Array.from({ length: stages }, () => FLOOR),
      },
    ],
    { account: wallets[ROLE.publisher].account },
  );
  for (const i of [ROLE.buyer, ROLE.p1, ROLE.p2, ROLE.p3, ROLE.p4, ROLE.v1, ROLE.v2, ROLE.v3]) {
    await token.write.transfer([addr(i), parseEther("100000")], { account: wallets[ROLE.admin].account });
  }
  for (const i of [ROLE.p1, ROLE.p2, ROLE.p3, ROLE.p4, ROLE.v1, ROLE.v2, ROLE.v3]) {
    await token.write.approve([staking.address, STAKE], { account: wallets[i].account });
    await staking.write.stake([STAKE], { account: wallets[i].account });
    // Every staker here also runs a verifier (the draw covers registered verifiers only).
    await staking.write.registerVerifier({ account: wallets[i].account });
  }
  const chainId = await publicClient.getChainId();
  const domain = shardMeshDomain(chainId, market.address);
  return { deployment, token, staking, registry, params, market, spotCheck, disputes, domain, modelId: 1n, stages, chainId };
}

export type Fixture = Awaited<ReturnType<typeof deployFixture>>;

export async function threeStageFixture(): Promise<Fixture> {
  return deployFixture({});
}
export async function oneStageFixture(): Promise<Fixture> {
  return deployFixture({ stages: 1 });
}
export function fixtureWith(opts: ModelOptions): () => Promise<Fixture> {
  const f = async function customFixture() {
    return deployFixture(opts);
  };
  return f;
}

let nonceCounter = 1000n;

/** A signed quote from dev account `who` for `stage`, made out to the fixture's buyer. */
export async function quote(f: Fixture, who: number, stage: number, over: Partial<Quote> = {}): Promise<SignedQuote> {
  const now = await networkHelpers.time.latest();
  const q: Quote = {
    modelId: f.modelId,
    stage,
    provider: addr(who),
    buyer: addr(ROLE.buyer),
    price: PRICE,
    maxUnits: 100_000,
    expiry: BigInt(now + 3600),
    maxJobExpiry: BigInt(now + 30 * 86_400),
    nonce: nonceCounter++,
    ...over,
  };
  return signQuote(devAccount(who), over.provider && over.provider !== addr(who) ? f.domain : f.domain, q);
}

export interface OpenedJob {
  jobId: bigint;
  session: LocalAccount;
  quotes: SignedQuote[];
  maxUnits: number;
  /** Cumulative served count per "stage:provider" (one unit per request here). */
  served: Map<string, number>;
  count: number;
}

/** Opens a job by approve + openJob with one quote per provider list entry [stage, who]. */
export async function openJob(
  f: Fixture,
  assignments: Array<[stage: number, who: number]> = [
    [0, ROLE.p1],
    [1, ROLE.p2],
    [2, ROLE.p3],
  ],
  maxUnits = 1000,
  lifetimeSeconds = 86_400,
): Promise<OpenedJob> {
  const session = privateKeyToAccount(generatePrivateKey());
  const quotes = await Promise.all(assignments.map(([stage, who]) => quote(f, who, stage)));
  const now = await networkHelpers.time.latest();
  const request = { modelId: f.modelId, maxUnits, expiresAt: BigInt(now + lifetimeSeconds), sessionKey: session.address };
  const escrow = await f.market.read.escrowFor([request, quotes]);
  await f.token.write.approve([f.market.address, escrow], { account: wallets[ROLE.buyer].account });
  await f.market.write.openJob([request, quotes], { account: wallets[ROLE.buyer].account });
  const jobId = await f.market.read.jobCount();
  return { jobId, session, quotes, maxUnits, served: new Map(), count: 0 };
}

/** The buyer nonce the fixture gives request `index` (unique in a job). */
export const nonceOf = (index: number): bigint => 1_000_000n + BigInt(index);

/** Deterministic hashes along a request's pipeline: hop[0] = request, hop[S] = response. */
export function hop(index: number, cut: number): Hex {
  return keccak256(encodeAbiParameters([{ type: "uint256" }, { type: "uint256" }], [BigInt(index), BigInt(cut)]));
}

export interface BuiltReceipt {
  count: number;
  outputRoot: Hex;
  sessionSignature: Hex;
  parts: StagePart[];
  records: PartRecord[];
  buyerTree: ReceiptTree<BuyerLeaf>;
  stageTrees: Map<string, ReceiptTree<StageLeaf>>;
  routes: Map<number, Address[]>;
}

export interface BuildOptions {
  /** Who serves stage s of request i (dev account index). */
  route: (index: number, stage: number) => number;
  /** Rewrite a stage record (to simulate a lying provider). */
  tamper?: (rec: StageRecord, stage: number) => StageRecord;
  /** Sign the buyer receipt with this account instead of the session key. */
  sessionSigner?: LocalAccount;
  /** Put a different route into the buyer leaves (to simulate a bad buyer tree). */
  buyerRoute?: (index: number, route: Address[]) => Address[];
  /** The hash crossing cut `cut` of request `index` (0: request, S: response); default hop(). */
  hashes?: (index: number, cut: number) => Hex;
}

/** Builds (and signs) the next receipt of `job` covering `n` more requests. Updates the job's counters. */
export async function buildReceipt(f: Fixture, job: OpenedJob, n: number, opts: BuildOptions): Promise<BuiltReceipt> {
  const from = job.count;
  const to = from + n;
  const buyerRecords: BuyerRecord[] = [];
  const stageRecords = new Map<string, { stage: number; who: number; recs: StageRecord[] }>();
  const routes = new Map<number, Address[]>();
  const h = opts.hashes ?? hop;
  for (let i = from; i < to; i++) {
    const route: Address[] = [];
    for (let s = 0; s < f.stages; s++) {
      const who = opts.route(i, s);
      route.push(addr(who));
      const key = `${s}:${who}`;
      if (!stageRecords.has(key)) stageRecords.set(key, { stage: s, who, recs: [] });
      let rec: StageRecord = { index: i, inputHash: h(i, s), outputHash: h(i, s + 1) };
      if (opts.tamper) rec = opts.tamper(rec, s);
      stageRecords.get(key)!.recs.push(rec);
    }
    const claimed = opts.buyerRoute ? opts.buyerRoute(i, route) : route;
    routes.set(i, claimed);
    // The buyer's request nonce: here the index plus a job-specific offset (any unique value works).
    buyerRecords.push({ index: i, nonce: nonceOf(i), units: 1, requestHash: h(i, 0), responseHash: h(i, f.stages), route: claimed });
  }
  const buyerTree = buildBuyerTree(buyerRecords);
  const outputRoot = buyerTree.root;
  const stageTrees = new Map<string, ReceiptTree<StageLeaf>>();
  const unsorted: StagePart[] = [];
  const previous = new Map(job.served);
  for (const [key, { stage, who, recs }] of stageRecords) {
    const tree = buildStageTree(recs);
    stageTrees.set(`${stage}:${addr(who).toLowerCase()}`, tree);
    const count = (job.served.get(key) ?? 0) + recs.length;
    job.served.set(key, count);
    const signature = await signProviderReceipt(devAccount(who), f.domain, {
      jobId: job.jobId,
      stage,
      count,
      units: count,
      root: tree.root,
      outputRoot,
    });
    unsorted.push({ stage, provider: addr(who), count, units: count, root: tree.root, signature });
  }
  const parts = sortParts(unsorted);
  const whoOf = (provider: Address) => wallets.findIndex((w) => w.account.address.toLowerCase() === provider.toLowerCase());
  const records = partRecords(parts, (stage, provider) => {
    const n = previous.get(`${stage}:${whoOf(provider)}`) ?? 0;
    return { count: n, units: n };
  });
  const sessionSignature = await signBuyerReceipt(opts.sessionSigner ?? job.session, f.domain, {
    jobId: job.jobId,
    count: to,
    units: to,
    outputRoot,
  });
  job.count = to;
  return { count: to, outputRoot, sessionSignature, parts, records, buyerTree, stageTrees, routes };
}

export const straight = (_f: Fixture) => (_i: number, s: number) => [ROLE.p1, ROLE.p2, ROLE.p3, ROLE.p4][s % 4];

/** Submits a built receipt from dev account `who`; returns the receipt id. */
export async function submit(f: Fixture, job: OpenedJob, r: BuiltReceipt, who: number = ROLE.p1): Promise<bigint> {
  const before = (await f.market.read.job([job.jobId])).receiptCount;
  await f.market.write.submitReceipt([job.jobId, r.count, r.count, r.outputRoot, r.sessionSignature, r.parts], {
    account: wallets[who].account,
  });
  return BigInt(before);
}

/** Mines the seed block and fixes the receipt's seed; returns the sampled indices. */
export async function drawSamples(f: Fixture, job: OpenedJob, receiptId: bigint, who: number = ROLE.p1) {
  await networkHelpers.mine(1);
  await f.spotCheck.write.drawSamples([job.jobId, receiptId], { account: wallets[who].account });
  return f.spotCheck.read.sampleIndices([job.jobId, receiptId]);
}

/** Reveals the buyer leaf of sample `sampleNo`. */
export async function revealBuyer(f: Fixture, job: OpenedJob, r: BuiltReceipt, receiptId: bigint, sampleNo: number, who: number) {
  const indices = await f.spotCheck.read.sampleIndices([job.jobId, receiptId]);
  const index = Number(indices[sampleNo]);
  await f.spotCheck.write.revealBuyerLeaf(
    [job.jobId, receiptId, BigInt(sampleNo), r.buyerTree.leaf(index), r.buyerTree.proof(index), r.routes.get(index)!, r.records],
    { account: wallets[who].account },
  );
}

/** Draws and reveals every sample of a receipt (buyer leaf + each stage leaf but `skipStage`), from dev account `who`. */
export async function revealAll(f: Fixture, job: OpenedJob, r: BuiltReceipt, receiptId: bigint, who: number = ROLE.p1, skipStage?: number) {
  const indices = await drawSamples(f, job, receiptId, who);
  for (let j = 0; j < indices.length; j++) {
    await revealBuyer(f, job, r, receiptId, j, who);
    for (let s = 0; s < f.stages; s++) if (s !== skipStage) await revealStage(f, job, r, receiptId, j, s, who);
  }
  return indices;
}

/** Draws and reveals every sample of a receipt with one `revealSample` transaction each. */
export async function revealWhole(f: Fixture, job: OpenedJob, r: BuiltReceipt, receiptId: bigint, who: number = ROLE.p1) {
  const check = await f.spotCheck.read.receiptCheck([job.jobId, receiptId]);
  const indices =
    check.seededAt === 0 ? await drawSamples(f, job, receiptId, who) : await f.spotCheck.read.sampleIndices([job.jobId, receiptId]);
  for (let j = 0; j < indices.length; j++) {
    const index = Number(indices[j]);
    const route = r.routes.get(index)!;
    const leaves = [];
    const proofs = [];
    const partIndexes = [];
    for (let s = 0; s < f.stages; s++) {
      const tree = r.stageTrees.get(`${s}:${route[s].toLowerCase()}`)!;
      leaves.push(tree.leaf(index));
      proofs.push(tree.proof(index));
      partIndexes.push(BigInt(r.records.findIndex((p) => p.stage === s && p.provider.toLowerCase() === route[s].toLowerCase())));
    }
    await f.spotCheck.write.revealSample(
      [job.jobId, receiptId, BigInt(j), r.buyerTree.leaf(index), r.buyerTree.proof(index), route, r.records, leaves, proofs, partIndexes],
      { account: wallets[who].account },
    );
  }
  return indices;
}

export async function revealStage(
  f: Fixture,
  job: OpenedJob,
  r: BuiltReceipt,
  receiptId: bigint,
  sampleNo: number,
  stage: number,
  who: number,
) {
  const indices = await f.spotCheck.read.sampleIndices([job.jobId, receiptId]);
  const index = Number(indices[sampleNo]);
  const route = r.routes.get(index)!;
  const tree = r.stageTrees.get(`${stage}:${route[stage].toLowerCase()}`)!;
  const partIndex = r.records.findIndex((p) => p.stage === stage && p.provider.toLowerCase() === route[stage].toLowerCase());
  await f.spotCheck.write.revealStageLeaf(
    [job.jobId, receiptId, BigInt(sampleNo), BigInt(partIndex), tree.leaf(index), tree.proof(index), route, r.records],
    { account: wallets[who].account },
  );
}

/** Advances time past the reveal + challenge windows (of the fixture's first parameter version),
 *  counted from now (a seed fixed just before). */
export async function passWindows(f: Fixture) {
  const w = await f.params.read.paramsAt([1n]);
  await networkHelpers.time.increase(Number(w.reveal + w.challenge) + 1);
}

/** An EIP-2612 permit from dev account `owner` for `spender` over the fixture's token: { v, r, s }. */
export async function permitSig(f: Fixture, owner: number, spender: Address, value: bigint, deadline: bigint) {
  const acct = devAccount(owner);
  const nonce = await f.token.read.nonces([acct.address]);
  const sig = await acct.signTypedData(
    permitTypedData(tokenPermitDomain(f.chainId, f.token.address), { owner: acct.address, spender, value, nonce, deadline }),
  );
  return permitSignatureParts(sig);
}
