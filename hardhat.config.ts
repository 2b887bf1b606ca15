import { createRequire } from "node:module";

import hardhatToolboxViemPlugin from "@nomicfoundation/hardhat-toolbox-viem";
import { configVariable, defineConfig } from "hardhat/config";

// Compile offline with the npm `solc` (solc-js). Hardhat does not check that `version`
// matches the file behind `path`, so the version is read from the pinned package itself.
const require = createRequire(import.meta.url);
const SOLC_VERSION: string = require("solc/package.json").version;
const SOLJSON: string = require.resolve("solc/soljson.js");

const settings = {
  optimizer: { enabled: true, runs: 10_000 },
  viaIR: true,
  evmVersion: "cancun",
};
// The job market and the adjudicators are the contracts near EIP-170's 24 KiB limit: optimise them for size.
const compact = { ...settings, optimizer: { enabled: true, runs: 200 } };
const compiler = { version: SOLC_VERSION, path: SOLJSON, settings };
const profile = {
  compilers: [compiler],
  overrides: {
    "contracts/market/JobMarket.sol": { ...compiler, settings: compact },
    "contracts/market/SpotCheck.sol": { ...compiler, settings: compact },
    "contracts/market/Disputes.sol": { ...compiler, settings: compact },
  },
};

export default defineConfig({
  plugins: [hardhatToolboxViemPlugin],
  paths: { tests: { nodejs: "test", solidity: "contracts" } },
  // Fixed seed: fuzz and invariant runs are reproducible (flaky tests are bugs). Sizes keep
  // `hardhat test solidity` around a minute on 2 shared cores.
  test: {
    solidity: {
      fuzz: { runs: 256, seed: "0x5348415244" },
      invariant: { runs: 32, depth: 32, failOnRevert: false },
    },
  },
  solidity: {
    profiles: {
      default: profile,
      production: profile,
    },
  },
  networks: {
    localhost: { type: "http", chainType: "l1", url: process.env.RPC_URL ?? "http://127.0.0.1:8545" },
    remote: {
      type: "http",
      chainType: "l1",
      url: configVariable("RPC_URL"),
      accounts: [configVariable("DEPLOYER_PRIVATE_KEY")],
    },
  },
});
