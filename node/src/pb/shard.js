import { decodeMessage, encodeMessage, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var ShardRequest;
(function (ShardRequest) {
    let _codec;
    ShardRequest.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.sha256 != null && obj.sha256 !== '')) {
                    w.uint32(10);
                    w.string(obj.sha256);
                }
                if ((obj.offset != null && obj.offset !== 0n)) {
                    w.uint32(16);
                    w.uint64(obj.offset);
                }
                if ((obj.length != null && obj.length !== 0)) {
                    w.uint32(24);
                    w.uint32(obj.length);
                }
                if ((obj.have != null && obj.have !== false)) {
                    w.uint32(32);
                    w.bool(obj.have);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    sha256: '',
                    offset: 0n,
                    length: 0,
                    have: false
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.sha256 = reader.string();
                            break;
                        }
                        case 2: {
                            obj.offset = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.length = reader.uint32();
                            break;
                        }
                        case 4: {
                            obj.have = reader.bool();
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
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.sha256`,
                                value: reader.string()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.offset`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.length`,
                                value: reader.uint32()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.have`,
                                value: reader.bool()
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
        return encodeMessage(obj, ShardRequest.codec());
    }
    ShardRequest.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ShardRequest.codec(), opts);
    }
    ShardRequest.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ShardRequest.codec(), opts);
    }
    ShardRequest.stream = stream;
})(ShardRequest || (ShardRequest = {}));
export var ShardResponse;
(function (ShardResponse) {
    let _codec;
    ShardResponse.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.found != null && obj.found !== false)) {
                    w.uint32(8);
                    w.bool(obj.found);
                }
                if ((obj.size != null && obj.size !== 0n)) {
                    w.uint32(16);
                    w.uint64(obj.size);
                }
                if ((obj.offset != null && obj.offset !== 0n)) {
                    w.uint32(24);
                    w.uint64(obj.offset);
                }
                if ((obj.data != null && obj.data.byteLength > 0)) {
                    w.uint32(34);
                    w.bytes(obj.data);
                }
                if ((obj.errorName != null && obj.errorName !== '')) {
                    w.uint32(42);
                    w.string(obj.errorName);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    found: false,
                    size: 0n,
                    offset: 0n,
                    data: uint8ArrayAlloc(0),
                    errorName: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.found = reader.bool();
                            break;
                        }
                        case 2: {
                            obj.size = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.offset = reader.uint64();
                            break;
                        }
                        case 4: {
                            obj.data = reader.bytes();
                            break;
                        }
                        case 5: {
                            obj.errorName = reader.string();
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
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.found`,
                                value: reader.bool()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.size`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.offset`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.data`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.errorName`,
                                value: reader.string()
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
        return encodeMessage(obj, ShardResponse.codec());
    }
    ShardResponse.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, ShardResponse.codec(), opts);
    }
    ShardResponse.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, ShardResponse.codec(), opts);
    }
    ShardResponse.stream = stream;
})(ShardResponse || (ShardResponse = {}));
