import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var TensorMeta;
(function (TensorMeta) {
    let _codec;
    TensorMeta.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.name != null && obj.name !== '')) {
                    w.uint32(10);
                    w.string(obj.name);
                }
                if ((obj.dtype != null && obj.dtype !== 0)) {
                    w.uint32(16);
                    w.uint32(obj.dtype);
                }
                if (obj.dims != null && obj.dims.length > 0) {
                    for (const value of obj.dims) {
                        w.uint32(24);
                        w.uint32(value);
                    }
                }
                if ((obj.byteLength != null && obj.byteLength !== 0)) {
                    w.uint32(32);
                    w.uint32(obj.byteLength);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    name: '',
                    dtype: 0,
                    dims: [],
                    byteLength: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.name = reader.string();
                            break;
                        }
                        case 2: {
                            obj.dtype = reader.uint32();
                            break;
                        }
                        case 3: {
                            if (opts.limits?.dims != null && obj.dims.length === opts.limits.dims) {
                                throw new MaxLengthError('Decode error - repeated field "dims" had too many elements');
                            }
                            obj.dims.push(reader.uint32());
                            break;
                        }
                        case 4: {
                            obj.byteLength = reader.uint32();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    dims: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.name`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.dtype`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 3: {
                            if (opts.limits?.dims != null && obj.dims === opts.limits.dims) {
                                throw new MaxLengthError('Streaming decode error - repeated field "dims" had too many elements');
                            }
                            yield {
                                field: `${prefix}.dims[]`,
                                index: obj.dims,
                                value: reader.uint32()
                            };
                            obj.dims++;
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.byteLength`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TensorMeta.codec());
    }
    TensorMeta.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TensorMeta.codec(), opts);
    }
    TensorMeta.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TensorMeta.codec(), opts);
    }
    TensorMeta.stream = stream;
})(TensorMeta || (TensorMeta = {}));
export var Frame;
(function (Frame) {
    let Kind;
    (function (Kind) {
        Kind["UNKNOWN"] = "UNKNOWN";
        Kind["REQUEST"] = "REQUEST";
        Kind["RESPONSE"] = "RESPONSE";
        Kind["ERROR"] = "ERROR";
        Kind["CANCEL"] = "CANCEL";
        Kind["DATA_PLANE_REQUEST"] = "DATA_PLANE_REQUEST";
        Kind["DATA_PLANE_OFFER"] = "DATA_PLANE_OFFER";
    })(Kind = Frame.Kind || (Frame.Kind = {}));
    let __KindValues;
    (function (__KindValues) {
        __KindValues[__KindValues["UNKNOWN"] = 0] = "UNKNOWN";
        __KindValues[__KindValues["REQUEST"] = 1] = "REQUEST";
        __KindValues[__KindValues["RESPONSE"] = 2] = "RESPONSE";
        __KindValues[__KindValues["ERROR"] = 3] = "ERROR";
        __KindValues[__KindValues["CANCEL"] = 4] = "CANCEL";
        __KindValues[__KindValues["DATA_PLANE_REQUEST"] = 5] = "DATA_PLANE_REQUEST";
        __KindValues[__KindValues["DATA_PLANE_OFFER"] = 6] = "DATA_PLANE_OFFER";
    })(__KindValues || (__KindValues = {}));
    (function (Kind) {
        Kind.codec = () => {
            return enumeration(__KindValues);
        };
    })(Kind = Frame.Kind || (Frame.Kind = {}));
    let _codec;
    Frame.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.kind != null && __KindValues[obj.kind] !== 0) {
                    w.uint32(8);
                    Frame.Kind.codec().encode(obj.kind, w);
                }
                if ((obj.version != null && obj.version !== 0)) {
                    w.uint32(16);
                    w.uint32(obj.version);
                }
                if ((obj.requestId != null && obj.requestId !== 0n)) {
                    w.uint32(24);
                    w.uint64(obj.requestId);
                }
                if ((obj.modelId != null && obj.modelId !== '')) {
                    w.uint32(34);
                    w.string(obj.modelId);
                }
                if ((obj.stage != null && obj.stage !== 0)) {
                    w.uint32(40);
                    w.uint32(obj.stage);
                }
                if ((obj.jobId != null && obj.jobId !== '')) {
                    w.uint32(50);
                    w.string(obj.jobId);
                }
                if ((obj.index != null && obj.index !== 0n)) {
                    w.uint32(56);
                    w.uint64(obj.index);
                }
                if ((obj.timeoutMs != null && obj.timeoutMs !== 0)) {
                    w.uint32(64);
                    w.uint32(obj.timeoutMs);
                }
                if (obj.tensors != null && obj.tensors.length > 0) {
                    for (const value of obj.tensors) {
                        w.uint32(74);
                        TensorMeta.codec().encode(value, w);
                    }
                }
                if ((obj.payloadLength != null && obj.payloadLength !== 0)) {
                    w.uint32(80);
                    w.uint32(obj.payloadLength);
                }
                if ((obj.inputHash != null && obj.inputHash.byteLength > 0)) {
                    w.uint32(90);
                    w.bytes(obj.inputHash);
                }
                if ((obj.outputHash != null && obj.outputHash.byteLength > 0)) {
                    w.uint32(98);
                    w.bytes(obj.outputHash);
                }
                if ((obj.errorName != null && obj.errorName !== '')) {
                    w.uint32(106);
                    w.string(obj.errorName);
                }
                if ((obj.errorMessage != null && obj.errorMessage !== '')) {
                    w.uint32(114);
                    w.string(obj.errorMessage);
                }
                if ((obj.computeMs != null && obj.computeMs !== 0)) {
                    w.uint32(120);
                    w.uint32(obj.computeMs);
                }
                if ((obj.dataPort != null && obj.dataPort !== 0)) {
                    w.uint32(128);
                    w.uint32(obj.dataPort);
                }
                if ((obj.token != null && obj.token.byteLength > 0)) {
                    w.uint32(138);
                    w.bytes(obj.token);
                }
                if ((obj.key != null && obj.key.byteLength > 0)) {
                    w.uint32(146);
                    w.bytes(obj.key);
                }
                if ((obj.punchHost != null && obj.punchHost !== '')) {
                    w.uint32(154);
                    w.string(obj.punchHost);
                }
                if ((obj.punchPort != null && obj.punchPort !== 0)) {
                    w.uint32(160);
                    w.uint32(obj.punchPort);
                }
                if ((obj.dataHost != null && obj.dataHost !== '')) {
                    w.uint32(170);
                    w.string(obj.dataHost);
                }
                if ((obj.unreachable != null && obj.unreachable !== false)) {
                    w.uint32(176);
                    w.bool(obj.unreachable);
                }
                if ((obj.upstreamHandOff != null && obj.upstreamHandOff.byteLength > 0)) {
                    w.uint32(186);
                    w.bytes(obj.upstreamHandOff);
                }
                if ((obj.handOff != null && obj.handOff.byteLength > 0)) {
                    w.uint32(194);
                    w.bytes(obj.handOff);
                }
                if ((obj.requestHash != null && obj.requestHash.byteLength > 0)) {
                    w.uint32(202);
                    w.bytes(obj.requestHash);
                }
                if ((obj.jobSignature != null && obj.jobSignature.byteLength > 0)) {
                    w.uint32(210);
                    w.bytes(obj.jobSignature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    kind: Kind.UNKNOWN,
                    version: 0,
                    requestId: 0n,
                    modelId: '',
                    stage: 0,
                    jobId: '',
                    index: 0n,
                    timeoutMs: 0,
                    tensors: [],
                    payloadLength: 0,
                    inputHash: uint8ArrayAlloc(0),
                    outputHash: uint8ArrayAlloc(0),
                    errorName: '',
                    errorMessage: '',
                    computeMs: 0,
                    dataPort: 0,
                    token: uint8ArrayAlloc(0),
                    key: uint8ArrayAlloc(0),
                    punchHost: '',
                    punchPort: 0,
                    dataHost: '',
                    unreachable: false,
                    upstreamHandOff: uint8ArrayAlloc(0),
                    handOff: uint8ArrayAlloc(0),
                    requestHash: uint8ArrayAlloc(0),
                    jobSignature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.kind = Frame.Kind.codec().decode(reader);
                            break;
                        }
                        case 2: {
                            obj.version = reader.uint32();
                            break;
                        }
                        case 3: {
                            obj.requestId = reader.uint64();
                            break;
                        }
                        case 4: {
                            obj.modelId = reader.string();
                            break;
                        }
                        case 5: {
                            obj.stage = reader.uint32();
                            break;
                        }
                        case 6: {
                            obj.jobId = reader.string();
                            break;
                        }
                        case 7: {
                            obj.index = reader.uint64();
                            break;
                        }
                        case 8: {
                            obj.timeoutMs = reader.uint32();
                            break;
                        }
                        case 9: {
                            if (opts.limits?.tensors != null && obj.tensors.length === opts.limits.tensors) {
                                throw new MaxLengthError('Decode error - repeated field "tensors" had too many elements');
                            }
                            obj.tensors.push(TensorMeta.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.tensors$
                            }));
                            break;
                        }
                        case 10: {
                            obj.payloadLength = reader.uint32();
                            break;
                        }
                        case 11: {
                            obj.inputHash = reader.bytes();
                            break;
                        }
                        case 12: {
                            obj.outputHash = reader.bytes();
                            break;
                        }
                        case 13: {
                            obj.errorName = reader.string();
                            break;
                        }
                        case 14: {
                            obj.errorMessage = reader.string();
                            break;
                        }
                        case 15: {
                            obj.computeMs = reader.uint32();
                            break;
                        }
                        case 16: {
                            obj.dataPort = reader.uint32();
                            break;
                        }
                        case 17: {
                            obj.token = reader.bytes();
                            break;
                        }
                        case 18: {
                            obj.key = reader.bytes();
                            break;
                        }
                        case 19: {
                            obj.punchHost = reader.string();
                            break;
                        }
                        case 20: {
                            obj.punchPort = reader.uint32();
                            break;
                        }
                        case 21: {
                            obj.dataHost = reader.string();
                            break;
                        }
                        case 22: {
                            obj.unreachable = reader.bool();
                            break;
                        }
                        case 23: {
                            obj.upstreamHandOff = reader.bytes();
                            break;
                        }
                        case 24: {
                            obj.handOff = reader.bytes();
                            break;
                        }
                        case 25: {
                            obj.requestHash = reader.bytes();
                            break;
                        }
                        case 26: {
                            obj.jobSignature = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const obj = {
                    tensors: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.kind`,
                                value: Frame.Kind.codec().decode(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.version`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.requestId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.modelId`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.stage`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.jobId`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.index`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.timeoutMs`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 9: {
                            if (opts.limits?.tensors != null && obj.tensors === opts.limits.tensors) {
                                throw new MaxLengthError('Streaming decode error - repeated field "tensors" had too many elements');
                            }
                            for (const evt of TensorMeta.codec().stream(reader, reader.uint32(), `${prefix}.tensors[]`, {
                                limits: opts.limits?.tensors$
                            })) {
                                yield {
                                    ...evt,
                                    index: obj.tensors
                                };
                            }
                            obj.tensors++;
                            break;
                        }
                        case 10: {
                            yield {
                                field: `${prefix}.payloadLength`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 11: {
                            yield {
                                field: `${prefix}.inputHash`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 12: {
                            yield {
                                field: `${prefix}.outputHash`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 13: {
                            yield {
                                field: `${prefix}.errorName`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 14: {
                            yield {
                                field: `${prefix}.errorMessage`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 15: {
                            yield {
                                field: `${prefix}.computeMs`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 16: {
                            yield {
                                field: `${prefix}.dataPort`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 17: {
                            yield {
                                field: `${prefix}.token`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 18: {
                            yield {
                                field: `${prefix}.key`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 19: {
                            yield {
                                field: `${prefix}.punchHost`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 20: {
                            yield {
                                field: `${prefix}.punchPort`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 21: {
                            yield {
                                field: `${prefix}.dataHost`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 22: {
                            yield {
                                field: `${prefix}.unreachable`,
                                value: reader.bool()
                            };
                            break;
                        }
                        case 23: {
                            yield {
                                field: `${prefix}.upstreamHandOff`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 24: {
                            yield {
                                field: `${prefix}.handOff`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 25: {
                            yield {
                                field: `${prefix}.requestHash`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 26: {
                            yield {
                                field: `${prefix}.jobSignature`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Frame.codec());
    }
    Frame.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Frame.codec(), opts);
    }
    Frame.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Frame.codec(), opts);
    }
    Frame.stream = stream;
})(Frame || (Frame = {}));
