import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface SessionTensor {
    name: string;
    dtype: number;
    dims: number[];
    byteLength: number;
}
export declare namespace SessionTensor {
    const codec: () => Codec<SessionTensor, SessionTensor>;
    interface SessionTensorNameFieldEvent {
        field: '$.name';
        value: string;
    }
    interface SessionTensorDtypeFieldEvent {
        field: '$.dtype';
        value: number;
    }
    interface SessionTensorDimsFieldEvent {
        field: '$.dims[]';
        index: number;
        value: number;
    }
    interface SessionTensorByteLengthFieldEvent {
        field: '$.byteLength';
        value: number;
    }
    function encode(obj: Partial<SessionTensor>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SessionTensor>): SessionTensor;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SessionTensor>): Generator<SessionTensorNameFieldEvent | SessionTensorDtypeFieldEvent | SessionTensorDimsFieldEvent | SessionTensorByteLengthFieldEvent>;
}
export interface SessionFrame {
    kind: SessionFrame.Kind;
    version: number;
    requestId: bigint;
    modelId: string;
    stage: number;
    sessionId: string;
    maxLength: number;
    ttlMs: number;
    stepId: bigint;
    position: number;
    timeoutMs: number;
    tensors: SessionTensor[];
    payloadLength: number;
    length: number;
    duplicate: boolean;
    computeMs: number;
    errorName: string;
    errorMessage: string;
    jobId: string;
    traceIndex: bigint;
    requestHash: Uint8Array<ArrayBuffer>;
    jobSignature: Uint8Array<ArrayBuffer>;
    upstreamHandOff: Uint8Array<ArrayBuffer>;
    handOff: Uint8Array<ArrayBuffer>;
}
export declare namespace SessionFrame {
    enum Kind {
        UNKNOWN = "UNKNOWN",
        OPEN = "OPEN",
        STEP = "STEP",
        CLOSE = "CLOSE",
        OK = "OK",
        ERROR = "ERROR"
    }
    namespace Kind {
        const codec: () => Codec<Kind, Kind>;
    }
    const codec: () => Codec<SessionFrame, SessionFrame>;
    interface SessionFrameKindFieldEvent {
        field: '$.kind';
        value: SessionFrame.Kind;
    }
    interface SessionFrameVersionFieldEvent {
        field: '$.version';
        value: number;
    }
    interface SessionFrameRequestIdFieldEvent {
        field: '$.requestId';
        value: bigint;
    }
    interface SessionFrameModelIdFieldEvent {
        field: '$.modelId';
        value: string;
    }
    interface SessionFrameStageFieldEvent {
        field: '$.stage';
        value: number;
    }
    interface SessionFrameSessionIdFieldEvent {
        field: '$.sessionId';
        value: string;
    }
    interface SessionFrameMaxLengthFieldEvent {
        field: '$.maxLength';
        value: number;
    }
    interface SessionFrameTtlMsFieldEvent {
        field: '$.ttlMs';
        value: number;
    }
    interface SessionFrameStepIdFieldEvent {
        field: '$.stepId';
        value: bigint;
    }
    interface SessionFramePositionFieldEvent {
        field: '$.position';
        value: number;
    }
    interface SessionFrameTimeoutMsFieldEvent {
        field: '$.timeoutMs';
        value: number;
    }
    interface SessionFrameTensorsNameFieldEvent {
        field: '$.tensors[].name';
        value: string;
        index: number;
    }
    interface SessionFrameTensorsDtypeFieldEvent {
        field: '$.tensors[].dtype';
        value: number;
        index: number;
    }
    interface SessionFrameTensorsDimsFieldEvent {
        field: '$.tensors[].dims[]';
        index: number;
        value: number;
    }
    interface SessionFrameTensorsByteLengthFieldEvent {
        field: '$.tensors[].byteLength';
        value: number;
        index: number;
    }
    interface SessionFramePayloadLengthFieldEvent {
        field: '$.payloadLength';
        value: number;
    }
    interface SessionFrameLengthFieldEvent {
        field: '$.length';
        value: number;
    }
    interface SessionFrameDuplicateFieldEvent {
        field: '$.duplicate';
        value: boolean;
    }
    interface SessionFrameComputeMsFieldEvent {
        field: '$.computeMs';
        value: number;
    }
    interface SessionFrameErrorNameFieldEvent {
        field: '$.errorName';
        value: string;
    }
    interface SessionFrameErrorMessageFieldEvent {
        field: '$.errorMessage';
        value: string;
    }
    interface SessionFrameJobIdFieldEvent {
        field: '$.jobId';
        value: string;
    }
    interface SessionFrameTraceIndexFieldEvent {
        field: '$.traceIndex';
        value: bigint;
    }
    interface SessionFrameRequestHashFieldEvent {
        field: '$.requestHash';
        value: Uint8Array<ArrayBuffer>;
    }
    interface SessionFrameJobSignatureFieldEvent {
        field: '$.jobSignature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface SessionFrameUpstreamHandOffFieldEvent {
        field: '$.upstreamHandOff';
        value: Uint8Array<ArrayBuffer>;
    }
    interface SessionFrameHandOffFieldEvent {
        field: '$.handOff';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<SessionFrame>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SessionFrame>): SessionFrame;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SessionFrame>): Generator<SessionFrameKindFieldEvent | SessionFrameVersionFieldEvent | SessionFrameRequestIdFieldEvent | SessionFrameModelIdFieldEvent | SessionFrameStageFieldEvent | SessionFrameSessionIdFieldEvent | SessionFrameMaxLengthFieldEvent | SessionFrameTtlMsFieldEvent | SessionFrameStepIdFieldEvent | SessionFramePositionFieldEvent | SessionFrameTimeoutMsFieldEvent | SessionFrameTensorsNameFieldEvent | SessionFrameTensorsDtypeFieldEvent | SessionFrameTensorsDimsFieldEvent | SessionFrameTensorsByteLengthFieldEvent | SessionFramePayloadLengthFieldEvent | SessionFrameLengthFieldEvent | SessionFrameDuplicateFieldEvent | SessionFrameComputeMsFieldEvent | SessionFrameErrorNameFieldEvent | SessionFrameErrorMessageFieldEvent | SessionFrameJobIdFieldEvent | SessionFrameTraceIndexFieldEvent | SessionFrameRequestHashFieldEvent | SessionFrameJobSignatureFieldEvent | SessionFrameUpstreamHandOffFieldEvent | SessionFrameHandOffFieldEvent>;
}
