// Receipt-aware retention of trace tensors: the TraceJanitor over a real sqlite TraceStore, the
// provider wiring (janitor started next to the store, none with --no-keep-tensors) and the
// retention flag. The on-chain finality rule itself is tested against the real contracts in
// test/contracts/trace-retention.test.ts.
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { TraceStore } from "../../../node/src/trace/store.ts";
import { TraceJanitor } from "../../../node/src/trace/janitor.ts";
import { jobFinality } from "../../../node/src/jobs/finality.ts";
import type { ChainContext } from "../../../node/src/jobs/context.ts";
import type { ChainConnection } from "../../../node/src/chain/connect.ts";
import { DEFAULT_CONFIG, loadProviderConfig } from "../../../node/src/provider/config.ts";
import { startProvider } from "../../../node/src/provider/provider.ts";
import { until } from "./procs.ts";

const dir = mkdtempSync(join(tmpdir(), "shardmesh-retention-"));
after(() => rmSync(dir, { recursive: true, force: true }));

const RETENTION = 60_000;
const h = (c: string) => `0x${c.repeat(64)}` as const;
const tensor = (n: number) => ({ dtype: 1, dims: [n], data: new Uint8Array(4 * n).fill(7) });

/** Two stages of request `index` with an input and an output tensor each: 4 tensor rows. */
function serve(t: TraceStore, jobId: string, index: number): void {
  for (const stage of [0, 1]) {
    t.record(
      { jobId, index, modelId: "m", stage, inputHash: h("a"), outputHash: h("b"), peerId: "p" },
      { input: { x: tensor(16) }, output: { y: tensor(8) } },
    );
  }
}

function store(name: string): TraceStore {
  return new TraceStore({ path: join(dir, `${name}.sqlite`), retentionMs: RETENTION });
}

describe("trace janitor", () => {
  it("keeps a job's tensors past retention while a receipt may need them, drops them once final; hashes stay", async () => {
    const t = store("pending");
    serve(t, "7", 0);
    serve(t, "7", 1);
    let final = false;
    const asked: string[] = [];
    const later = Date.now() + 2 * RETENTION;
    const janitor = new TraceJanitor(t, {
      isJobFinal: async (jobId) => {
        asked.push(jobId);
        return final;
      },
      now: () => later,
    });
    const kept = await janitor.round();
    assert.deepEqual(kept, { pruned: 0, keptJobs: 1, keptTensors: 8, errors: 0 });
    assert.equal(t.tensorCount("7"), 8);
    assert.deepEqual(t.tensors("7", 1, 1, "output").y.dims, [8]);
    final = true;
    const dropped = await janitor.round();
    assert.deepEqual(dropped, { pruned: 8, keptJobs: 0, keptTensors: 0, errors: 0 });
    assert.equal(t.tensorCount("7"), 0);
    assert.deepEqual(t.tensors("7", 1, 1, "output"), {});
    // The trace rows (hashes) stay: the ledger and receipt parts read them after settlement.
    assert.equal(t.count("7"), 4);
    assert.equal(t.get("7", 1, 1)?.outputHash, h("b"));
    assert.deepEqual(asked, ["7", "7"]);
    assert.deepEqual(
      { ...janitor.stats, last: undefined },
      { rounds: 2, pruned: 8, keptJobs: 1, keptTensors: 8, errors: 0, last: undefined },
    );
    t.close();
  });

  it("never drops tensors younger than the retention window, even of a final job (and does not ask)", async () => {
    const t = store("young");
    serve(t, "1", 0);
    let asked = 0;
    const janitor = new TraceJanitor(t, {
      isJobFinal: async () => {
        asked++;
        return true;
      },
      now: () => Date.now() + RETENTION / 2,
    });
    assert.deepEqual(await janitor.round(), { pruned: 0, keptJobs: 0, keptTensors: 0, errors: 0 });
    assert.equal(t.tensorCount("1"), 4);
    assert.equal(asked, 0);
    t.close();
  });

  it("drops only the part of a final job older than the window", async () => {
    const t = store("split");
    serve(t, "2", 0);
    const mid = Date.now() + 1;
    while (Date.now() <= mid) await new Promise((r) => setTimeout(r, 2));
    serve(t, "2", 1);
    // Cut between the two requests: request 0 is past retention, request 1 is not.
    const janitor = new TraceJanitor(t, { isJobFinal: async () => true, now: () => mid + RETENTION });
    assert.equal((await janitor.round()).pruned, 4);
    assert.deepEqual(t.tensors("2", 0, 0, "input"), {});
    assert.deepEqual(t.tensors("2", 1, 0, "input").x.dims, [16]);
    t.close();
  });

  it("without chain support prunes by age alone", async () => {
    const t = store("nochain");
    serve(t, "dev-job", 0);
    serve(t, "3", 0);
    const janitor = new TraceJanitor(t, { now: () => Date.now() + 2 * RETENTION });
    assert.deepEqual(await janitor.round(), { pruned: 8, keptJobs: 0, keptTensors: 0, errors: 0 });
    assert.equal(t.tensorCount(), 0);
    assert.equal(t.count(), 4);
    t.close();
  });

  it("keeps the tensors of a job whose state cannot be read, and still handles the other jobs", async () => {
    const t = store("readerror");
    serve(t, "4", 0);
    serve(t, "5", 0);
    const janitor = new TraceJanitor(t, {
      isJobFinal: async (jobId) => {
        if (jobId === "4") throw new Error("fetch failed: connect ECONNREFUSED 127.0.0.1:1");
        return true;
      },
      now: () => Date.now() + 2 * RETENTION,
    });
    assert.deepEqual(await janitor.round(), { pruned: 4, keptJobs: 0, keptTensors: 0, errors: 1 });
    assert.equal(t.tensorCount("4"), 4);
    assert.equal(t.tensorCount("5"), 0);
    t.close();
  });

  it("runs rounds on its timer until stopped", async () => {
    const t = store("timer");
    serve(t, "6", 0);
    const janitor = new TraceJanitor(t, { isJobFinal: async () => true, intervalMs: 20, retentionMs: 0, now: () => Date.now() + 1 });
    janitor.start();
    await until("a janitor round", async () => janitor.stats.rounds > 0, 10_000, 10);
    janitor.stop();
    assert.equal(t.tensorCount("6"), 0);
    assert.equal(janitor.stats.pruned, 4);
    const rounds = janitor.stats.rounds;
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(janitor.stats.rounds, rounds, "no rounds after stop");
    t.close();
  });

  it("stopped while waiting on the chain, the round ends without touching the (closed) store", async () => {
    const t = store("stopping");
    serve(t, "8", 0);
    let answer: ((final: boolean) => void) | undefined;
    const janitor = new TraceJanitor(t, {
      isJobFinal: () => new Promise<boolean>((resolve) => (answer = resolve)),
      now: () => Date.now() + 2 * RETENTION,
    });
    const round = janitor.round();
    await until("the chain read", async () => answer !== undefined, 5_000, 5);
    janitor.stop();
    t.close();
    answer!(true);
    assert.deepEqual(await round, { pruned: 0, keptJobs: 0, keptTensors: 0, errors: 0 });
  });

  it("treats a job id no receipt can name as final without reading the chain", async () => {
    const unreachable = new Proxy(
      {},
      {
        get() {
          throw new Error("the chain must not be read");
        },
      },
    ) as unknown as Pick<ChainContext, "publicClient" | "read">;
    const isJobFinal = jobFinality(unreachable);
    assert.equal(await isJobFinal("dev-job"), true);
    await assert.rejects(isJobFinal("12"), /the chain must not be read/);
  });
});

describe("provider wiring", () => {
  const base = { ...structuredClone(DEFAULT_CONFIG), gateway: null, dht: false, models: [], unstaked: true };

  it("starts a janitor next to the trace store that asks the provider's chain whether a job is final", async () => {
    // The provider's chain connection (a stub: one open job with a pending receipt, never final).
    const asked: bigint[] = [];
    const chain = {
      chainId: 31337,
      deployment: {
        chainId: 31337,
        contracts: {
          JobMarket: { address: `0x${"11".repeat(20)}`, blockNumber: 0 },
          // Every deployment has one: the hand-off claims watcher reads its events from it.
          SpotCheck: { address: `0x${"22".repeat(20)}`, blockNumber: 0 },
        },
      },
      publicClient: { getBlock: async () => ({ timestamp: 1_000n }) },
      read: {
        market: {
          read: {
            job: async ([id]: [bigint]) => {
              asked.push(id);
              return { status: 1, expiresAt: 10n ** 12n, units: 0, maxUnits: 5, pendingReceipts: 1 };
            },
          },
        },
      },
    } as unknown as ChainConnection;
    const p = await startProvider(
      { ...base, keyFile: join(dir, "p1", "node.key"), dataDir: join(dir, "p1"), traceRetentionMs: 0 },
      { chain },
    );
    try {
      assert.ok(p.janitor);
      assert.equal(p.trace.retentionMs, 0);
      serve(p.trace, "9", 0);
      await new Promise((r) => setTimeout(r, 2));
      const r = await p.janitor.round();
      assert.equal(r.pruned, 0);
      assert.equal(r.keptJobs, 1);
      assert.equal(p.trace.tensorCount("9"), 4);
      assert.ok(asked.includes(9n), "the janitor read job 9 from the chain");
    } finally {
      await p.stop();
    }
  });

  it("stops every part it built when starting fails half-way", async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const a = srv.address() as AddressInfo;
        srv.close(() => resolve(a.port));
      });
    });
    const config = {
      ...base,
      keyFile: join(dir, "p3", "node.key"),
      dataDir: join(dir, "p3"),
      listen: [`/ip4/127.0.0.1/tcp/${port}`],
    };
    // The node listens, the trace store opens, the pipeline starts; then a manifest is missing.
    await assert.rejects(
      startProvider({ ...config, models: [{ modelId: "m", manifest: join(dir, "nope", "manifest.json"), stages: [0], price: "1" }] }),
    );
    // Nothing was left running: the same port and trace store are free for the next start.
    const p = await startProvider(config);
    await p.stop();
  });

  it("has no janitor with --no-keep-tensors", async () => {
    const p = await startProvider({ ...base, keyFile: join(dir, "p2", "node.key"), dataDir: join(dir, "p2"), keepTensors: false });
    try {
      assert.equal(p.janitor, null);
    } finally {
      await p.stop();
    }
  });

  it("reads --trace-retention-ms and rejects a bad value with ProviderConfigError", () => {
    assert.equal(loadProviderConfig(["--trace-retention-ms", "3600000"]).config.traceRetentionMs, 3_600_000);
    assert.equal(loadProviderConfig([]).config.traceRetentionMs, undefined);
    assert.throws(() => loadProviderConfig(["--trace-retention-ms", "-1"]), { name: "ProviderConfigError" });
  });
});
