// Stateful stage sessions: KV-cache reservations and bounds, expiry, several sessions at once,
// step ids (duplicates dropped, older ids refused), rollback by position, gaps refused.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import type { DecoderStageRunner } from "../../node/src/llm/index.ts";
import type { TensorBag } from "../../node/src/tensor/index.ts";
import { ids, tinyModel, wholeRunner, type TinyModel } from "./helpers.ts";

const logitsOf = (bag: TensorBag) => bag.logits.data as Float32Array;

describe("decoder stage sessions", () => {
  let m: TinyModel;
  let r: DecoderStageRunner;
  before(async () => {
    m = await tinyModel();
    // Budget for exactly 100 positions.
    const perToken = m.config.layers * 2 * m.config.kvHeads * m.config.headDim * 4;
    r = await wholeRunner(m, { kvBudgetBytes: 100 * perToken, maxSessions: 3, sessionTtlMs: 60_000 });
  });
  after(() => r.close());

  it("reserves maxLength × KV bytes per token at open, refuses past the budget and the session limit, frees on close", async () => {
    assert.equal(r.kvBytesPerToken, m.config.layers * 2 * m.config.kvHeads * m.config.headDim * 4);
    assert.equal(r.freeKvBytes(), 100 * r.kvBytesPerToken);
    await r.open("a", { maxLength: 60 });
    assert.equal(r.freeKvBytes(), 40 * r.kvBytesPerToken);
    assert.equal(r.canHold(41), false);
    await assert.rejects(r.open("b", { maxLength: 41 }), { name: "KvCacheFullError" });
    await r.open("b", { maxLength: 20 });
    await r.open("c", { maxLength: 20 });
    await assert.rejects(r.open("d", { maxLength: 1 }), { name: "KvCacheFullError" }); // session limit 3
    await assert.rejects(r.open("a", { maxLength: 1 }), { name: "SessionExistsError" });
    await assert.rejects(r.open("e", { maxLength: m.config.maxPositions + 1 }), { name: "SessionLengthError" });
    for (const id of ["a", "b", "c"]) assert.equal(await r.closeSession(id), true);
    assert.equal(r.freeKvBytes(), 100 * r.kvBytesPerToken);
    assert.equal(r.stats().sessions, 0);
  });

  it("a step past the declared maximum length is refused by name and changes nothing", async () => {
    await r.open("len", { maxLength: 6 });
    await r.step("len", { stepId: 0, position: 0, bag: { input_ids: ids([1, 2, 3, 4, 5]) } });
    await assert.rejects(r.step("len", { stepId: 1, position: 5, bag: { input_ids: ids([6, 7]) } }), { name: "SessionLengthError" });
    assert.equal(r.sessionLength("len"), 5);
    await r.step("len", { stepId: 2, position: 5, bag: { input_ids: ids([6]) } });
    assert.equal(r.sessionLength("len"), 6);
    await r.closeSession("len");
  });

  it("sessions expire after their idle time and free their reservation", async () => {
    await r.open("short", { maxLength: 10, ttlMs: 30 });
    await r.step("short", { stepId: 0, position: 0, bag: { input_ids: ids([1, 2]) } });
    assert.equal(r.stats().sessions, 1);
    await new Promise((res) => setTimeout(res, 80));
    r.sweep();
    assert.equal(r.stats().sessions, 0);
    assert.equal(r.freeKvBytes(), 100 * r.kvBytesPerToken);
    await assert.rejects(r.step("short", { stepId: 1, position: 2, bag: { input_ids: ids([3]) } }), { name: "SessionNotFoundError" });
    assert.ok(r.stats().expired >= 1);
  });

  it("duplicates are dropped (the last step's result again, not run twice); older step ids and gaps are refused", async () => {
    await r.open("dup", { maxLength: 20 });
    const first = await r.step("dup", { stepId: 0, position: 0, bag: { input_ids: ids([5, 6, 7]) } });
    const again = await r.step("dup", { stepId: 0, position: 0, bag: { input_ids: ids([5, 6, 7]) } });
    assert.equal(again.duplicate, true);
    assert.deepEqual(logitsOf(again.bag), logitsOf(first.bag));
    assert.equal(r.sessionLength("dup"), 3);
    const steps = r.stats().steps;
    await r.step("dup", { stepId: 1, position: 3, bag: { input_ids: ids([8]) } });
    assert.equal(r.stats().steps, steps + 1);
    await assert.rejects(r.step("dup", { stepId: 0, position: 4, bag: { input_ids: ids([9]) } }), { name: "DuplicateStepError" });
    await assert.rejects(r.step("dup", { stepId: 5, position: 6, bag: { input_ids: ids([9]) } }), { name: "StepPositionError" });
    await assert.rejects(r.step("dup", { stepId: 6, position: 4, bag: { input_ids: ids([9]), attention_mask: ids([1, 1]) } }), {
      name: "StepPositionError",
    });
    assert.equal(r.sessionLength("dup"), 4);
    await r.closeSession("dup");
  });

  it("rollback by position: re-stepping from an earlier position equals a session that never went further", async () => {
    await r.open("rb", { maxLength: 20 });
    await r.open("ref", { maxLength: 20 });
    await r.step("rb", { stepId: 0, position: 0, bag: { input_ids: ids([11, 12, 13, 14]) } });
    await r.step("rb", { stepId: 1, position: 4, bag: { input_ids: ids([15]) } });
    await r.step("rb", { stepId: 2, position: 5, bag: { input_ids: ids([16]) } });
    // Back to position 4 with another token.
    const rolled = await r.step("rb", { stepId: 3, position: 4, bag: { input_ids: ids([99]) } });
    assert.equal(r.sessionLength("rb"), 5);
    await r.step("ref", { stepId: 0, position: 0, bag: { input_ids: ids([11, 12, 13, 14]) } });
    const ref = await r.step("ref", { stepId: 1, position: 4, bag: { input_ids: ids([99]) } });
    assert.deepEqual(logitsOf(rolled.bag), logitsOf(ref.bag));
    await r.closeSession("rb");
    await r.closeSession("ref");
  });

  it("several sessions interleaved give what each gives alone", async () => {
    const seqs = [
      [3, 1, 4, 1, 5],
      [9, 2, 6],
    ];
    const alone: Float32Array[][] = [];
    for (const [k, s] of seqs.entries()) {
      await r.open(`alone${k}`, { maxLength: 10 });
      const outs: Float32Array[] = [];
      outs.push(logitsOf((await r.step(`alone${k}`, { stepId: 0, position: 0, bag: { input_ids: ids(s) } })).bag));
      outs.push(logitsOf((await r.step(`alone${k}`, { stepId: 1, position: s.length, bag: { input_ids: ids([7]) } })).bag));
      alone.push(outs);
      await r.closeSession(`alone${k}`);
    }
    await Promise.all(seqs.map((_, k) => r.open(`mix${k}`, { maxLength: 10 })));
    const mixed = await Promise.all(
      seqs.map(async (s, k) => {
        const a = logitsOf((await r.step(`mix${k}`, { stepId: 0, position: 0, bag: { input_ids: ids(s) } })).bag);
        const b = logitsOf((await r.step(`mix${k}`, { stepId: 1, position: s.length, bag: { input_ids: ids([7]) } })).bag);
        return [a, b];
      }),
    );
    assert.deepEqual(mixed, alone);
    await Promise.all(seqs.map((_, k) => r.closeSession(`mix${k}`)));
  });

  it("bad hop tensors are refused by name", async () => {
    await r.open("bad", { maxLength: 10 });
    await assert.rejects(
      r.step("bad", { stepId: 0, position: 0, bag: { input_ids: { dtype: "float32", dims: [1, 2], data: new Float32Array(2) } } }),
      { name: "TensorDtypeError" },
    );
    await assert.rejects(
      r.step("bad", { stepId: 1, position: 0, bag: { input_ids: { dtype: "int64", dims: [2, 1], data: new BigInt64Array(2) } } }),
      {
        name: "TensorShapeError",
      },
    );
    await assert.rejects(r.step("bad", { stepId: 2, position: 0, bag: { input_ids: ids([1]), extra: ids([1]) } }), {
      name: "TensorShapeError",
    });
    await assert.rejects(r.step("nope", { stepId: 0, position: 0, bag: { input_ids: ids([1]) } }), { name: "SessionNotFoundError" });
    await r.closeSession("bad");
  });
});
