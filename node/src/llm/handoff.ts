// Hand-offs of paid decoder sessions (docs/PROTOCOL.md, "Who checks what"; the pipeline's own
// are in pipeline/handoff.ts). A stage's record of a paid generation (./trace.ts) names the
// hidden states it received and returned over the whole session, so its hashes exist only when
// the session ends, and the chain compares exactly those: at a broken hand-off stage b−1's
// revealed outputHash differs from stage b's revealed inputHash for the request's nonce. So the
// hand-offs are exchanged at the end: the gateway closes the stages in order; the OK to the CLOSE
// of stage s < S−1 carries HandOff(job, nonce = trace index, boundary s+1, its record's
// outputHash) signed with its staking key; the CLOSE of stage s > 0 carries that signature, and
// stage s keeps its record only if the signature is over its own record's inputHash and by a
// provider the job quoted for stage s−1 (kept in the record: jobs/claims.ts presents it). A
// stage > 0 whose session ends without one (expired, failed over, an old or hostile gateway)
// keeps no record: it signs no part for that request and can be faulted for none.
import type { Address, Hex } from "viem";
import type { HandOffs } from "../pipeline/handoff.ts";
import type { SessionTraceRecord } from "./trace.ts";
import type { TraceStore } from "../trace/store.ts";
import { toWireBag } from "../tensor/index.ts";

/** A sealed record: what the stage keeps, and its own hand-off to give downstream. */
export interface SealedTrace {
  record: SessionTraceRecord & { handOff?: Hex; handOffSigner?: Address };
  /** This stage's HandOff over `record.outputHash`; undefined at the last stage. */
  handOff?: Hex;
}

/**
 * The trace writer of stage `stage` of `modelId` (DecoderStageOptions.onTrace): a session's record
 * is kept as its opener's (TraceStore.recordOwned), with its hand-off and signer, and with the
 * hidden states it read and wrote unless `keepTensors` is false.
 */
export function keepSessionRecords(
  store: Pick<TraceStore, "recordOwned">,
  modelId: string,
  stage: number,
  keepTensors = true,
): (rec: SealedTrace["record"]) => void {
  return (rec) =>
    store.recordOwned(
      {
        jobId: rec.jobId,
        index: rec.index,
        modelId,
        stage,
        inputHash: rec.inputHash,
        outputHash: rec.outputHash,
        peerId: rec.owner,
        units: rec.units,
        handOff: rec.handOff,
        handOffSigner: rec.handOffSigner,
      },
      keepTensors ? { input: toWireBag({ [rec.inputName]: rec.input }), output: toWireBag({ [rec.outputName]: rec.output }) } : undefined,
    );
}

/**
 * Seals a paid session's record when it ends (DecoderStageOptions.seal): checks the upstream's
 * hand-off over the record's input (stage > 0; throws PipelineHandOffMissingError /
 * PipelineHandOffInvalidError, and the record is not kept), signs this stage's over its output.
 */
export type SessionSeal = (rec: SessionTraceRecord, upstreamHandOff: Hex | undefined) => Promise<SealedTrace>;

/** The seal of stage `stage` of `modelId` on a provider whose hand-offs `handOffs` checks and signs. */
export function sessionSeal(handOffs: HandOffs, modelId: string, stage: number): SessionSeal {
  return async (rec, upstreamHandOff) => {
    const upstream =
      stage > 0
        ? {
            handOff: upstreamHandOff,
            handOffSigner: await handOffs.checkUpstream({
              jobId: rec.jobId,
              index: rec.index,
              stage,
              inputHash: rec.inputHash,
              signature: upstreamHandOff,
            }),
          }
        : {};
    const handOff = await handOffs.sign({ modelId, jobId: rec.jobId, index: rec.index, stage, outputHash: rec.outputHash });
    return { record: { ...rec, ...upstream }, handOff };
  };
}
