import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface ShardRequest {
    sha256: string;
    offset: bigint;
    length: number;
    have: boolean;
}
export declare namespace ShardRequest {
    const codec: () => Codec<ShardRequest, ShardRequest>;
    interface ShardRequestSha256FieldEvent {
        field: '$.sha256';
        value: string;
    }
    interface ShardRequestOffsetFieldEvent {
        field: '$.offset';
        value: bigint;
    }
    interface ShardRequestLengthFieldEvent {
        field: '$.length';
        value: number;
    }
    interface ShardRequestHaveFieldEvent {
        field: '$.have';
        value: boolean;
    }
    function encode(obj: Partial<ShardRequest>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ShardRequest>): ShardRequest;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ShardRequest>): Generator<ShardRequestSha256FieldEvent | ShardRequestOffsetFieldEvent | ShardRequestLengthFieldEvent | ShardRequestHaveFieldEvent>;
}
export interface ShardResponse {
    found: boolean;
    size: bigint;
    offset: bigint;
    data: Uint8Array<ArrayBuffer>;
    errorName: string;
}
export declare namespace ShardResponse {
    const codec: () => Codec<ShardResponse, ShardResponse>;
    interface ShardResponseFoundFieldEvent {
        field: '$.found';
        value: boolean;
    }
    interface ShardResponseSizeFieldEvent {
        field: '$.size';
        value: bigint;
    }
    interface ShardResponseOffsetFieldEvent {
        field: '$.offset';
        value: bigint;
    }
    interface ShardResponseDataFieldEvent {
        field: '$.data';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ShardResponseErrorNameFieldEvent {
        field: '$.errorName';
        value: string;
    }
    function encode(obj: Partial<ShardResponse>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ShardResponse>): ShardResponse;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ShardResponse>): Generator<ShardResponseFoundFieldEvent | ShardResponseSizeFieldEvent | ShardResponseOffsetFieldEvent | ShardResponseDataFieldEvent | ShardResponseErrorNameFieldEvent>;
}
