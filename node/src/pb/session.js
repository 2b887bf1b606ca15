import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var SessionTensor;
(function (SessionTensor) {
    let _codec;
    SessionTensor.codec = () => {
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
        return encodeMessage(obj, SessionTensor.codec());
    }
    SessionTensor.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, SessionTensor.codec(), opts);
    }
    SessionTensor.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, SessionTensor.codec(), opts);
    }
    SessionTensor.stream = stream;
})(SessionTensor || (SessionTensor = {}));
export var SessionFrame;
(function (SessionFrame) {
    let Kind;
    (function (Kind) {
        Kind["UNKNOWN"] = "UNKNOWN";
        Kind["OPEN"] = "OPEN";
        Kind["STEP"] = "STEP";
        Kind["CLOSE"] = "CLOSE";
        Kind["OK"] = "OK";
        Kind["ERROR"] = "ERROR";
    })(Kind = SessionFrame.Kind || (SessionFrame.Kind = {}));
    let __KindValues;
    (function (__KindValues) {
        __KindValues[__KindValues["UNKNOWN"] = 0] = "UNKNOWN";
        __KindValues[__KindValues["OPEN"] = 1] = "OPEN";
        __KindValues[__KindValues["STEP"] = 2] = "STEP";
        __KindValues[__KindValues["CLOSE"] = 3] = "CLOSE";
        __KindValues[__KindValues["OK"] = 4] = "OK";
        __KindValues[__KindValues["ERROR"] = 5] = "ERROR";
    })(__KindValues || (__KindValues = {}));
    (function (Kind) {
        Kind.codec = () => {
            return enumeration(__KindValues);
        };
    })(Kind = SessionFrame.Kind || (SessionFrame.Kind = {}));
    let _codec;
    SessionFrame.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.kind != null && __KindValues[obj.kind] !== 0) {
                    w.uint32(8);
                    SessionFrame.Kind.codec().encode(obj.kind, w);
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
                if ((obj.sessionId != null && obj.sessionId !== '')) {
                    w.uint32(50);
                    w.string(obj.sessionId);
                }
                if ((obj.maxLength != null && obj.maxLength !== 0)) {
                    w.uint32(56);
                    w.uint32(obj.maxLength);
                }
                if ((obj.ttlMs != null && obj.ttlMs !== 0)) {
                    w.uint32(64);
                    w.uint32(obj.ttlMs);
                }
                if ((obj.stepId != null && obj.stepId !== 0n)) {
                    w.uint32(72);
                    w.uint64(obj.stepId);
                }
                if ((obj.position != null && obj.position !== 0)) {
                    w.uint32(80);
                    w.uint32(obj.position);
                }
                if ((obj.timeoutMs != null && obj.timeoutMs !== 0)) {
                    w.uint32(88);
                    w.uint32(obj.timeoutMs);
                }
                if (obj.tensors != null && obj.tensors.length > 0) {
                    for (const value of obj.tensors) {
                        w.uint32(98);
                        SessionTensor.codec().encode(value, w);
                    }
                }
                if ((obj.payloadLength != null && obj.payloadLength !== 0)) {
                    w.uint32(104);
                    w.uint32(obj.payloadLength);
                }
                if ((obj.length != null && obj.length !== 0)) {
                    w.uint32(112);
                    w.uint32(obj.length);
                }
                if ((obj.duplicate != null && obj.duplicate !== false)) {
                    w.uint32(120);
                    w.bool(obj.duplicate);
                }
                if ((obj.computeMs != null && obj.computeMs !== 0)) {
                    w.uint32(128);
                    w.uint32(obj.computeMs);
                }
                if ((obj.errorName != null && obj.errorName !== '')) {
                    w.uint32(138);
                    w.string(obj.errorName);
                }
                if ((obj.errorMessage != null && obj.errorMessage !== '')) {
                    w.uint32(146);
                    w.string(obj.errorMessage);
                }
                if ((obj.jobId != null && obj.jobId !== '')) {
                    w.uint32(154);
                    w.string(obj.jobId);
                }
                if ((obj.traceIndex != null && obj.traceIndex !== 0n)) {
                    w.uint32(160);
                    w.uint64(obj.traceIndex);
                }
                if ((obj.requestHash != null && obj.requestHash.byteLength > 0)) {
                    w.uint32(170);
                    w.bytes(obj.requestHash);
                }
                if ((obj.jobSignature != null && obj.jobSignature.byteLength > 0)) {
                    w.uint32(178);
                    w.bytes(obj.jobSignature);
                }
                if ((obj.upstreamHandOff != null && obj.upstreamHandOff.byteLength > 0)) {
                    w.uint32(186);
                    w.bytes(obj.upstreamHandOff);
                }
                if ((obj.handOff != null && obj.handOff.byteLength > 0)) {
                    w.uint32(194);
                    w.bytes(obj.handOff);
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
                    sessionId: '',
                    maxLength: 0,
                    ttlMs: 0,
                    stepId: 0n,
                    position: 0,
                    timeoutMs: 0,
                    tensors: [],
                    payloadLength: 0,
                    length: 0,
                    duplicate: false,
                    computeMs: 0,
                    errorName: '',
                    errorMessage: '',
                    jobId: '',
                    traceIndex: 0n,
                    requestHash: uint8ArrayAlloc(0),
                    jobSignature: uint8ArrayAlloc(0),
                    upstreamHandOff: uint8ArrayAlloc(0),
                    handOff: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.kind = SessionFrame.Kind.codec().decode(reader);
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
                            obj.sessionId = reader.string();
                            break;
                        }
                        case 7: {
                            obj.maxLength = reader.uint32();
                            break;
                        }
                        case 8: {
                            obj.ttlMs = reader.uint32();
                            break;
                        }
                        case 9: {
                            obj.stepId = reader.uint64();
                            break;
                        }
                        case 10: {
                            obj.position = reader.uint32();
                            break;
                        }
                        case 11: {
                            obj.timeoutMs = reader.uint32();
                            break;
                        }
                        case 12: {
                            if (opts.limits?.tensors != null && obj.tensors.length === opts.limits.tensors) {
                                throw new MaxLengthError('Decode error - repeated field "tensors" had too many elements');
                            }
                            obj.tensors.push(SessionTensor.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.tensors$
                            }));
                            break;
                        }
                        case 13: {
                            obj.payloadLength = reader.uint32();
                            break;
                        }
                        case 14: {
                            obj.length = reader.uint32();
                            break;
                        }
                        case 15: {
                            obj.duplicate = reader.bool();
                            break;
                        }
                        case 16: {
                            obj.computeMs = reader.uint32();
                            break;
                        }
                        case 17: {
                            obj.errorName = reader.string();
                            break;
                        }
                        case 18: {
                            obj.errorMessage = reader.string();
                            break;
                        }
                        case 19: {
                            obj.jobId = reader.string();
                            break;
                        }
                        case 20: {
                            obj.traceIndex = reader.uint64();
                            break;
                        }
                        case 21: {
                            obj.requestHash = reader.bytes();
                            break;
                        }
                        case 22: {
                            obj.jobSignature = reader.bytes();
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
                                value: SessionFrame.Kind.codec().decode(reader)
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
                                field: `${prefix}.sessionId`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.maxLength`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.ttlMs`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 9: {
                            yield {
                                field: `${prefix}.stepId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 10: {
                            yield {
                                field: `${prefix}.position`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 11: {
                            yield {
                                field: `${prefix}.timeoutMs`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 12: {
                            if (opts.limits?.tensors != null && obj.tensors === opts.limits.tensors) {
                                throw new MaxLengthError('Streaming decode error - repeated field "tensors" had too many elements');
                            }
                            for (const evt of SessionTensor.codec().stream(reader, reader.uint32(), `${prefix}.tensors[]`, {
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
                        case 13: {
                            yield {
                                field: `${prefix}.payloadLength`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 14: {
                            yield {
                                field: `${prefix}.length`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 15: {
                            yield {
                                field: `${prefix}.duplicate`,
                                value: reader.bool()
                            };
                            break;
                        }
                        case 16: {
                            yield {
                                field: `${prefix}.computeMs`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 17: {
                            yield {
                                field: `${prefix}.errorName`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 18: {
                            yield {
                                field: `${prefix}.errorMessage`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 19: {
                            yield {
                                field: `${prefix}.jobId`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 20: {
                            yield {
                                field: `${prefix}.traceIndex`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 21: {
                            yield {
                                field: `${prefix}.requestHash`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 22: {
                            yield {
                                field: `${prefix}.jobSignature`,
                                value: reader.bytes()
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
        return encodeMessage(obj, SessionFrame.codec());
    }
    SessionFrame.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, SessionFrame.codec(), opts);
    }
    SessionFrame.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, SessionFrame.codec(), opts);
    }
    SessionFrame.stream = stream;
})(SessionFrame || (SessionFrame = {}));
