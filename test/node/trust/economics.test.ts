// The economics of docs/PROTOCOL.md at the default parameters: (a) faking never pays, for any
// share of a receipt and any receipt size; (b) challenging real fraud pays; (b′) false challenges
// lose; (c) a 5 % cheater is caught with 99 % probability within the stated number of requests.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parseEther } from "viem";
import { DEFAULT_PROTOCOL_PARAMS as P } from "../../../node/src/chain/params.ts";
import {
  captureProbability,
  challengerEV,
  collateral,
  cumulativeSeats,
  epsilon,
  falseChallengeEV,
  kappaMin,
  requestsToCatch,
  worstCheaterEV,
} from "../../../node/src/trust/economics.ts";

describe("trust economics at the defaults", () => {
  it("capture probabilities match the committee table; ε after five rounds at α = 1/3 is below 1e-4", () => {
    assert.deepEqual([1, 2, 3, 4, 5].map(cumulativeSeats), [3, 10, 25, 56, 119]);
    assert.ok(Math.abs(captureProbability(1 / 3, 3) - 0.259) < 0.001);
    assert.ok(epsilon() < 1e-4 && epsilon() > 8e-5, `ε = ${epsilon()}`);
    assert.ok(epsilon(0.286) < 1e-6);
  });

  it("(a) the collateral multiple exceeds its bound 1/((1 − α)(1 − ε)λ) and the contract's κλ ≥ 1.5", () => {
    const k = P.collateralMultipleBps / 10_000;
    assert.ok(kappaMin(P) > 2.49 && kappaMin(P) < 2.51, `κ_min = ${kappaMin(P)}`);
    assert.ok(k > kappaMin(P));
    assert.ok(k * (1 - (P.challengerShareBps + P.jurorShareBps) / 10_000) >= 1.5);
  });

  it("(a) faking any share of any receipt has negative expected value, for every rate and job size", () => {
    for (const ratePpm of [1_000, 10_000, 50_000, 1_000_000])
      for (const maxUnits of [1, 10, 1_000, 100_000]) {
        const worst = worstCheaterEV({ price: parseEther("0.001"), maxUnits, ratePpm });
        assert.ok(worst.ev < 0, `rate ${ratePpm} ppm, ${maxUnits} units: EV ${worst.ev} at n ${worst.n}, m ${worst.m}`);
      }
    // Expensive units (the collateral floor no longer dominates): still negative.
    const worst = worstCheaterEV({ price: parseEther("1"), maxUnits: 100_000, ratePpm: 10_000 });
    assert.ok(worst.ev < 0, `EV ${worst.ev}`);
  });

  it("(b) challenging real fraud pays after gas and bond risk; (b′) a false challenge loses, whatever the collateral", () => {
    const cMin = collateral(P, parseEther("0.001"), 100, 10_000);
    assert.equal(cMin, P.minCollateral);
    assert.ok(challengerEV({ collateral: cMin, gasCost: parseEther("1") }) > 13e18);
    for (const c of [P.minCollateral, parseEther("1000"), parseEther("1000000"), parseEther("1000000000")])
      assert.ok(falseChallengeEV({ collateral: c }) < 0, `collateral ${c}`);
  });

  it("(c) a 5 % cheater is caught with ≥ 99 % probability within 9,000 requests at 1 % (13,600 with a third of verifier stake colluding)", () => {
    assert.deepEqual(requestsToCatch(0.05, 10_000), { samples: 90, requests: 9_000 });
    assert.deepEqual(requestsToCatch(0.05, 10_000, 0.99, 2 / 3), { samples: 136, requests: 13_600 });
  });
});
