// Regression: a typo in DEV_KEYS[2] made the demo sign as an unfunded stranger account.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { mnemonicToAccount, privateKeyToAccount } from "viem/accounts";
import { DEV_KEYS } from "../../scripts/lib/chain.ts";

describe("DEV_KEYS", () => {
  it("are Hardhat's dev accounts of the mnemonic 'test … junk', in order", () => {
    DEV_KEYS.forEach((key, i) => {
      const expected = mnemonicToAccount("test test test test test test test test test test test junk", { addressIndex: i }).address;
      assert.equal(privateKeyToAccount(key).address, expected, `DEV_KEYS[${i}]`);
    });
  });
});
