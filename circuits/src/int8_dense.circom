pragma circom 2.1.6;

// Spot-check proof for a model's zk stage: an int8 dense head (docs/PROTOCOL.md, "The int8
// dense head"). The proof says: "the registered weights, applied to the input whose packing is
// xPacked, give exactly the output whose packing is yPacked", with the arithmetic the node runs
// in onnxruntime and node/src/models/int8.ts runs in TypeScript:
//
//   acc[i] = b[i] + sum_j W[i][j] * x[j]
//   q[i]   = floor((acc[i] * MULT + 2^(SHIFT-1)) / 2^SHIFT)      (MULT, ZP private, committed)
//   y[i]   = clamp(q[i] + ZP, -128, 127)
//
// Public signals, in this order: weightsCommitment, xPacked[ceil(M/31)], yPacked[ceil(N/31)].
// Private: W (int8), b (int32), x (int8), MULT (31-bit, non-zero) and ZP (int8). y is computed
// here, so a prover cannot pick it.

include "circomlib/circuits/bitify.circom";
include "circomlib/circuits/comparators.circom";
include "commit.circom";

template Int8DenseHead(N, M, SHIFT) {
    // Parameters the arithmetic below relies on (checked at compile time). MULT and ZP are
    // private inputs bound by the weights commitment, so one circuit (and one verifier
    // contract) serves every head of this shape and shift.
    assert(N >= 1 && M >= 1);
    assert(M < 65536);              // keeps |acc * MULT + 2^(SHIFT-1)| below 2^63 (see below)
    assert(SHIFT >= 1 && SHIFT <= 56);  // QB = 64 - SHIFT >= 8 for the clamp below

    var XK = (M + 30) \ 31;
    var YK = (N + 30) \ 31;
    var WK = (N * M + 30) \ 31;
    var BK = (N + 6) \ 7;

    signal input weightsCommitment;
    signal input xPacked[XK];
    signal input yPacked[YK];

    signal input W[N][M];
    signal input b[N];
    signal input x[M];
    signal input mult;              // MULT, in [1, 2^31)
    signal input zp;                // ZP, int8

    // ---- Range checks -------------------------------------------------------------------
    // Every prover value is decomposed into bits at its declared width. Besides bounding the
    // arithmetic, this is what makes the packings below injective.
    component wBits[N][M];
    component bBits[N];
    component xBits[M];
    component multBits = Num2Bits(31);
    multBits.in <== mult;
    component multNonZero = IsZero();
    multNonZero.in <== mult;
    multNonZero.out === 0;
    component zpBits = Num2Bits(8);
    zpBits.in <== zp + 128;
    for (var j = 0; j < M; j++) {
        xBits[j] = Num2Bits(8);
        xBits[j].in <== x[j] + 128;
    }
    for (var i = 0; i < N; i++) {
        bBits[i] = Num2Bits(32);
        bBits[i].in <== b[i] + 2147483648;
        for (var j = 0; j < M; j++) {
            wBits[i][j] = Num2Bits(8);
            wBits[i][j].in <== W[i][j] + 128;
        }
    }

    // ---- Weights commitment -------------------------------------------------------------
    // Poseidon chain over packed W (row-major), packed b, then MULT, SHIFT and ZP + 128, equal
    // to what the model registry holds for this model.
    component wPack = PackBytes(N * M);
    for (var i = 0; i < N; i++) {
        for (var j = 0; j < M; j++) {
            wPack.bytes[i * M + j] <== W[i][j] + 128;
        }
    }
    component bPack = PackWords(N);
    for (var i = 0; i < N; i++) {
        bPack.words[i] <== b[i] + 2147483648;
    }
    component chain = PoseidonChain(WK + BK + 3);
    for (var k = 0; k < WK; k++) chain.in[k] <== wPack.packed[k];
    for (var k = 0; k < BK; k++) chain.in[WK + k] <== bPack.packed[k];
    chain.in[WK + BK] <== mult;
    chain.in[WK + BK + 1] <== SHIFT;
    chain.in[WK + BK + 2] <== zp + 128;
    weightsCommitment === chain.out;

    // ---- Input packing -------------------------------------------------------------------
    // The public xPacked must be exactly the packing of the range-checked private x, so the
    // contract can rebuild the input tensor's canonical bytes from it.
    component xPack = PackBytes(M);
    for (var j = 0; j < M; j++) xPack.bytes[j] <== x[j] + 128;
    for (var k = 0; k < XK; k++) xPacked[k] === xPack.packed[k];

    // ---- Accumulate and requantise -------------------------------------------------------
    // |acc| <= 2^31 + M * 2^14 after the range checks, so with M < 2^16 and MULT < 2^31 the
    // value t = acc * MULT + 2^(SHIFT-1) lies in (-2^63, 2^63). Adding 2^63 (a multiple of
    // 2^SHIFT) gives tp in [0, 2^64) with floor(t / 2^SHIFT) = floor(tp / 2^SHIFT) - 2^(63-SHIFT).
    // Decomposing tp into 64 bits proves tp really is in [0, 2^64) (no wrap-around mod p), and
    // its top 64 - SHIFT bits are the quotient: floor division, also for negative t.
    var QB = 64 - SHIFT;            // bits of the offset quotient qp
    var QOFF = 1 << (63 - SHIFT);   // qp = q + QOFF
    signal prod[N][M];
    signal scaled[N];               // acc * MULT, one product per row since MULT is a signal
    component tBits[N];
    signal below[N];                // 1 when q + ZP < -128
    signal above[N];                // 1 when q + ZP > 127
    signal belowU[N];
    signal aboveU[N];
    component caseBits[N];
    signal yOff[N];                 // y + 128, in [0, 255]
    for (var i = 0; i < N; i++) {
        var acc = b[i];
        for (var j = 0; j < M; j++) {
            prod[i][j] <== W[i][j] * x[j];
            acc += prod[i][j];
        }
        scaled[i] <== acc * mult;
        tBits[i] = Num2Bits(64);
        tBits[i].in <== scaled[i] + (1 << (SHIFT - 1)) + (1 << 63);
        var qp = 0;
        for (var k = 0; k < QB; k++) qp += tBits[i].out[SHIFT + k] * (1 << k);

        // Clamp. u = q + ZP + 128 is y + 128 before the clamp, u in [-2^(QB-1), 2^(QB-1) + 256).
        // The prover names the case (below, above or in range); one QB-bit range check then
        // proves the named case is the true one:
        //   below:    -u - 1            in [0, 2^QB)  <=>  u < 0
        //   above:     u - 256          in [0, 2^QB)  <=>  u > 255
        //   in range:  u * 2^(QB - 8)   in [0, 2^QB)  <=>  0 <= u < 256
        // Exactly one case holds for every u, so y is fully determined by x and the weights.
        var u = qp - QOFF + zp + 128;
        below[i] <-- u < 0 ? 1 : 0;     // circom compares field elements as signed values
        above[i] <-- (below[i] == 0 && u > 255) ? 1 : 0;
        below[i] * (below[i] - 1) === 0;
        above[i] * (above[i] - 1) === 0;
        below[i] * above[i] === 0;
        belowU[i] <== below[i] * u;
        aboveU[i] <== above[i] * u;
        var inRangeU = u - belowU[i] - aboveU[i];
        caseBits[i] = Num2Bits(QB);
        caseBits[i].in <== -belowU[i] - below[i] + aboveU[i] - 256 * above[i] + inRangeU * (1 << (QB - 8));
        yOff[i] <== inRangeU + 255 * above[i];
    }

    // ---- Output packing ------------------------------------------------------------------
    component yPack = PackBytes(N);
    for (var i = 0; i < N; i++) yPack.bytes[i] <== yOff[i];
    for (var k = 0; k < YK; k++) yPacked[k] === yPack.packed[k];
}
