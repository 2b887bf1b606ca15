import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface TensorMeta {
    name: string;
    dtype: number;
    dims: number[];
    byteLength: number;
}
export declare namespace TensorMeta {
    const codec: () => Codec<TensorMeta, TensorMeta>;
    interface TensorMetaNameFieldEvent {
        field: '$.name';
        value: string;
    }
    interface TensorMetaDtypeFieldEvent {
        field: '$.dtype';
        value: number;
    }
    interface TensorMetaDimsFieldEvent {
        field: '$.dims[]';
        index: number;
        value: number;
    }
    interface TensorMetaByteLengthFieldEvent {
        field: '$.byteLength';
        value: number;
    }
    function encode(obj: Partial<TensorMeta>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TensorMeta>): TensorMeta;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TensorMeta>): Generator<TensorMetaNameFieldEvent | TensorMetaDtypeFieldEvent | TensorMetaDimsFieldEvent | TensorMetaByteLengthFieldEvent>;
}
export interface Frame {
    kind: Frame.Kind;
    version: number;
    requestId: bigint;
    modelId: string;
    stage: number;
    jobId: string;
    index: bigint;
    timeoutMs: number;
    tensors: TensorMeta[];
    payloadLength: number;
    inputHash: Uint8Array<ArrayBuffer>;
    outputHash: Uint8Array<ArrayBuffer>;
    errorName: string;
    errorMessage: string;
    computeMs: number;
    dataPort: number;
    token: Uint8Array<ArrayBuffer>;
    key: Uint8Array<ArrayBuffer>;
    punchHost: string;
    punchPort: number;
    dataHost: string;
    unreachable: boolean;
    upstreamHandOff: Uint8Array<ArrayBuffer>;
    handOff: Uint8Array<ArrayBuffer>;
    requestHash: Uint8Array<ArrayBuffer>;
    jobSignature: Uint8Array<ArrayBuffer>;
}
export declare namespace Frame {
    enum Kind {
        UNKNOWN = "UNKNOWN",
        REQUEST = "REQUEST",
        RESPONSE = "RESPONSE",
        ERROR = "ERROR",
        CANCEL = "CANCEL",
        DATA_PLANE_REQUEST = "DATA_PLANE_REQUEST",
        DATA_PLANE_OFFER = "DATA_PLANE_OFFER"
    }
    namespace Kind {
        const codec: () => Codec<Kind, Kind>;
    }
    const codec: () => Codec<Frame, Frame>;
    interface FrameKindFieldEvent {
        field: '$.kind';
        value: Frame.Kind;
    }
    interface FrameVersionFieldEvent {
        field: '$.version';
        value: number;
    }
    interface FrameRequestIdFieldEvent {
        field: '$.requestId';
        value: bigint;
    }
    interface FrameModelIdFieldEvent {
        field: '$.modelId';
        value: string;
    }
    interface FrameStageFieldEvent {
        field: '$.stage';
        value: number;
    }
    interface FrameJobIdFieldEvent {
        field: '$.jobId';
        value: string;
    }
    interface FrameIndexFieldEvent {
        field: '$.index';
        value: bigint;
    }
    interface FrameTimeoutMsFieldEvent {
        field: '$.timeoutMs';
        value: number;
    }
    interface FrameTensorsNameFieldEvent {
        field: '$.tensors[].name';
        value: string;
        index: number;
    }
    interface FrameTensorsDtypeFieldEvent {
        field: '$.tensors[].dtype';
        value: number;
        index: number;
    }
    interface FrameTensorsDimsFieldEvent {
        field: '$.tensors[].dims[]';
        index: number;
        value: number;
    }
    interface FrameTensorsByteLengthFieldEvent {
        field: '$.tensors[].byteLength';
        value: number;
        index: number;
    }
    interface FramePayloadLengthFieldEvent {
        field: '$.payloadLength';
        value: number;
    }
    interface FrameInputHashFieldEvent {
        field: '$.inputHash';
        value: Uint8Array<ArrayBuffer>;
    }
    interface FrameOutputHashFieldEvent {
        field: '$.outputHash';
        value: Uint8Array<ArrayBuffer>;
    }
    interface FrameErrorNameFieldEvent {
        field: '$.errorName';
        value: string;
    }
    interface FrameErrorMessageFieldEvent {
        field: '$.errorMessage';
        value: string;
    }
    interface FrameComputeMsFieldEvent {
        field: '$.computeMs';
        value: number;
    }
    interface FrameDataPortFieldEvent {
        field: '$.dataPort';
        value: number;
    }
    interface FrameTokenFieldEvent {
        field: '$.token';
        value: Uint8Array<ArrayBuffer>;
    }
    interface FrameKeyFieldEvent {
        field: '$.key';
        value: Uint8Array<ArrayBuffer>;
    }
    interface FramePunchHostFieldEvent {
        field: '$.punchHost';
        value: string;
    }
    interface FramePunchPortFieldEvent {
        field: '$.punchPort';
        value: number;
    }
    interface FrameDataHostFieldEvent {
        field: '$.dataHost';
        value: string;
    }
    interface FrameUnreachableFieldEvent {
        field: '$.unreachable';
        value: boolean;
    }
    interface FrameUpstreamHandOffFieldEvent {
        field: '$.upstreamHandOff';
        value: Uint8Array<ArrayBuffer>;
    }
    interface FrameHandOffFieldEvent {
        field: '$.handOff';
        value: Uint8Array<ArrayBuffer>;
    }
    interface FrameRequestHashFieldEvent {
        field: '$.requestHash';
        value: Uint8Array<ArrayBuffer>;
    }
    interface FrameJobSignatureFieldEvent {
        field: '$.jobSignature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Frame>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Frame>): Frame;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Frame>): Generator<FrameKindFieldEvent | FrameVersionFieldEvent | FrameRequestIdFieldEvent | FrameModelIdFieldEvent | FrameStageFieldEvent | FrameJobIdFieldEvent | FrameIndexFieldEvent | FrameTimeoutMsFieldEvent | FrameTensorsNameFieldEvent | FrameTensorsDtypeFieldEvent | FrameTensorsDimsFieldEvent | FrameTensorsByteLengthFieldEvent | FramePayloadLengthFieldEvent | FrameInputHashFieldEvent | FrameOutputHashFieldEvent | FrameErrorNameFieldEvent | FrameErrorMessageFieldEvent | FrameComputeMsFieldEvent | FrameDataPortFieldEvent | FrameTokenFieldEvent | FrameKeyFieldEvent | FramePunchHostFieldEvent | FramePunchPortFieldEvent | FrameDataHostFieldEvent | FrameUnreachableFieldEvent | FrameUpstreamHandOffFieldEvent | FrameHandOffFieldEvent | FrameRequestHashFieldEvent | FrameJobSignatureFieldEvent>;
}
