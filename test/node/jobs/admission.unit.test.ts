// Job admission (node/src/jobs/admission.ts), the one owner of a job's count and indices: one
// canonical job id, an atomic reservation of units, failed requests give their unit back and leave
// no hole in the request indices.
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { JobAdmission, jobKey, parseJobId } from "../../../node/src/jobs/admission.ts";
import { TraceStore } from "../../../node/src/trace/store.ts";

const h = (c: string) => `0x${c.repeat(64)}` as const;
const record = { modelId: "m", requestHash: h("a"), responseHash: h("b"), stages: [] };

/** maxUnits answered after a tick, as a chain read is: concurrent admissions all wait on it. */
function admission(max: number) {
  const store = new TraceStore({ path: ":memory:" });
  const reads: bigint[] = [];
  const adm = new JobAdmission({
    store,
    maxUnits: async (id) => {
      reads.push(id);
      await new Promise((r) => setTimeout(r, 5));
      return max;
    },
  });
  return { store, adm, reads };
}

describe("job admission", () => {
  it("names a job by its number: 2, 02 and 002 are one job; anything else is JobsInvalidJobIdError", () => {
    assert.equal(parseJobId("2"), 2n);
    assert.equal(parseJobId("02"), 2n);
    assert.equal(parseJobId("002"), 2n);
    assert.equal(jobKey(parseJobId("0007")), "7");
    assert.equal(parseJobId((2n ** 256n - 1n).toString()), 2n ** 256n - 1n);
    for (const bad of ["", "0x2", "-1", "2.0", " 2", "2 ", "abc", "1e3", (2n ** 256n).toString(), "9".repeat(81)]) {
      assert.throws(() => parseJobId(bad), { name: "JobsInvalidJobIdError" }, bad);
    }
  });

  it("counts every spelling of a job id on one counter", async () => {
    const { store, adm } = admission(3);
    for (const raw of ["2", "02", "002"]) (await adm.admit(parseJobId(raw))).complete(record);
    await assert.rejects(adm.admit(parseJobId("0002")), { name: "JobsJobUnavailableError" });
    assert.equal(store.requestCount("2"), 3);
    assert.deepEqual(
      store.requests("2").map((r) => r.index),
      [0, 1, 2],
    );
    store.close();
  });

  it("admits exactly maxUnits of 10 concurrent requests on a 2-unit job; the rest by name", async () => {
    const { store, adm, reads } = admission(2);
    const tries = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => adm.admit(parseJobId(`${"0".repeat(i % 3)}5`))));
    const ok = tries.filter((t) => t.status === "fulfilled");
    assert.equal(ok.length, 2);
    for (const t of tries) if (t.status === "rejected") assert.equal((t.reason as Error).name, "JobsJobUnavailableError");
    assert.equal(reads.length, 1, "the job's limit is read once");
    assert.equal(adm.inFlight(5n), 2);
    store.close();
  });

  it("gives a failed request's unit back, and numbers answered requests densely", async () => {
    const { store, adm } = admission(2);
    const a = await adm.admit(9n);
    const b = await adm.admit(9n);
    await assert.rejects(adm.admit(9n), { name: "JobsJobUnavailableError" });
    a.release(); // a's request failed
    a.release(); // releasing twice gives back one unit only
    const c = await adm.admit(9n);
    assert.equal(adm.inFlight(9n), 2);
    assert.equal(c.complete(record), 0, "the first answered request is index 0 (a's failure left no hole)");
    assert.equal(b.complete(record), 1);
    assert.throws(() => b.complete(record), /already ended/);
    assert.deepEqual(new Set([a.traceIndex, b.traceIndex, c.traceIndex]).size, 3, "trace indices are never reused");
    assert.deepEqual(
      store.requests("9").map((r) => [r.index, r.traceIndex]),
      [
        [0, c.traceIndex],
        [1, b.traceIndex],
      ],
    );
    await assert.rejects(adm.admit(9n), /used all 2 units/);
    store.close();
  });

  it("without a limit (a development mesh) admits everything and still numbers densely", async () => {
    const store = new TraceStore({ path: ":memory:" });
    const adm = new JobAdmission({ store });
    const all = await Promise.all(Array.from({ length: 5 }, () => adm.admit(1n)));
    all[2].release();
    assert.deepEqual(
      all.filter((_, i) => i !== 2).map((x) => x.complete(record)),
      [0, 1, 2, 3],
    );
    store.close();
  });

  // Issue 10, item 13: a JobRequest signature names its nonce; a nonce is answered once per job.
  it("answers a request nonce once: a replay of an answered one is JobsNonceReusedError, and is not billed", async () => {
    const { store, adm } = admission(5);
    const a = await adm.admit(3n, 1, 0);
    assert.equal(a.traceIndex, 0, "the nonce is the trace index");
    a.complete(record);
    await assert.rejects(adm.admit(3n, 1, 0), { name: "JobsNonceReusedError", message: /answered already/ });
    await assert.rejects(adm.admit(parseJobId("003"), 1, 0), { name: "JobsNonceReusedError" }, "under any spelling of the job id");
    assert.equal(store.unitsUsed("3"), 1);
    assert.equal(adm.inFlight(3n), 0, "a refused replay reserves nothing");
    // Another job's nonce 0 is its own.
    (await adm.admit(4n, 1, 0)).complete(record);
    store.close();
  });

  it("of 10 concurrent copies of one nonce, exactly one is admitted; the others JobsNonceReusedError", async () => {
    const { store, adm } = admission(5);
    const tries = await Promise.allSettled(Array.from({ length: 10 }, () => adm.admit(6n, 1, 2)));
    const ok = tries.filter((t) => t.status === "fulfilled");
    assert.equal(ok.length, 1);
    for (const t of tries) if (t.status === "rejected") assert.equal((t.reason as Error).name, "JobsNonceReusedError");
    assert.equal(adm.inFlight(6n), 1, "one unit reserved");
    ok[0].value.complete(record);
    assert.deepEqual(
      store.requests("6").map((r) => [r.index, r.traceIndex]),
      [[0, 2]],
    );
    store.close();
  });

  it("a failed request frees its nonce for a retry with the same signature; an answered one never", async () => {
    const { store, adm } = admission(3);
    const a = await adm.admit(7n, 1, 1);
    await assert.rejects(adm.admit(7n, 1, 1), { name: "JobsNonceReusedError", message: /in flight/ });
    a.release(); // the request failed: not billable, nonce 1 free again
    const retry = await adm.admit(7n, 1, 1);
    assert.equal(retry.complete(record), 0);
    await assert.rejects(adm.admit(7n, 1, 1), { name: "JobsNonceReusedError" });
    // Skipping nonces is allowed (each < maxUnits): receipts count answered requests densely.
    (await adm.admit(7n, 1, 0)).complete(record);
    assert.deepEqual(
      store.requests("7").map((r) => [r.index, r.traceIndex]),
      [
        [0, 1],
        [1, 0],
      ],
    );
    store.close();
  });

  it("refuses a nonce not below the job's maxUnits (JobsNonceOutOfRangeError), after the job's capacity", async () => {
    const { store, adm } = admission(2);
    await assert.rejects(adm.admit(8n, 1, 2), { name: "JobsNonceOutOfRangeError" });
    for (const bad of [-1, 1.5, Number.NaN, 2 ** 32]) await assert.rejects(adm.admit(8n, 1, bad), { name: "JobsNonceOutOfRangeError" });
    (await adm.admit(8n, 1, 0)).complete(record);
    (await adm.admit(8n, 1, 1)).complete(record);
    // A used-up job says so, whatever nonce the request names.
    await assert.rejects(adm.admit(8n, 1, 5), { name: "JobsJobUnavailableError" });
    store.close();
  });

  it("a request without a nonce (unsigned development jobs) gets the next trace index no request holds", async () => {
    const store = new TraceStore({ path: ":memory:" });
    const adm = new JobAdmission({ store });
    (await adm.admit(1n, 1, 0)).complete(record);
    const held = await adm.admit(1n, 1, 2);
    const auto = [await adm.admit(1n), await adm.admit(1n), await adm.admit(1n)];
    assert.deepEqual(
      auto.map((x) => x.traceIndex),
      [1, 3, 4],
    );
    held.release();
    for (const x of auto) x.complete(record);
    store.close();
  });
});
