pragma circom 2.1.6;

// Commitments shared by the ShardMesh circuits (docs/PROTOCOL.md, "Commitments").
//
// Values are packed into field elements before hashing: an int8 v becomes the byte v + 128, and
// element k holds bytes 31k .. 31k+30 as a little-endian base-256 number; an int32 v becomes
// v + 2^31 and seven of them fill one element in base 2^32. The callers range-check every value
// they pack (Num2Bits on the offset value), so each packed element is an injective function of
// the values: no two different tensors share a packing, and no packing overflows the field
// (31 bytes = 248 bits, 7 words = 224 bits, both below the 254-bit BN254 scalar field).

include "circomlib/circuits/poseidon.circom";

// Packs L offset bytes (each already known to be in [0, 256)) into ceil(L / 31) elements.
template PackBytes(L) {
    var K = (L + 30) \ 31;
    signal input bytes[L];
    signal output packed[K];

    // Pure linear combinations: no constraints of their own, folded by --O2.
    for (var k = 0; k < K; k++) {
        var acc = 0;
        var base = 1;
        for (var i = 31 * k; i < 31 * k + 31 && i < L; i++) {
            acc += bytes[i] * base;
            base *= 256;
        }
        packed[k] <== acc;
    }
}

// Packs L offset words (each already known to be in [0, 2^32)) into ceil(L / 7) elements.
template PackWords(L) {
    var K = (L + 6) \ 7;
    signal input words[L];
    signal output packed[K];

    for (var k = 0; k < K; k++) {
        var acc = 0;
        var base = 1;
        for (var i = 7 * k; i < 7 * k + 7 && i < L; i++) {
            acc += words[i] * base;
            base *= 4294967296;
        }
        packed[k] <== acc;
    }
}

// Poseidon hash chain over L elements: state = L, then for each chunk of up to 15 elements
// (zero-padded) state = Poseidon16(state, chunk). Putting the length first keeps chains of
// different lengths apart even when the padding makes the last chunks look alike.
template PoseidonChain(L) {
    var C = (L + 14) \ 15;
    signal input in[L];
    signal output out;

    component h[C];
    signal state[C + 1];
    state[0] <== L;
    for (var c = 0; c < C; c++) {
        h[c] = Poseidon(16);
        h[c].inputs[0] <== state[c];
        for (var i = 0; i < 15; i++) {
            if (15 * c + i < L) {
                h[c].inputs[i + 1] <== in[15 * c + i];
            } else {
                h[c].inputs[i + 1] <== 0;
            }
        }
        state[c + 1] <== h[c].out;
    }
    out <== state[C];
}
