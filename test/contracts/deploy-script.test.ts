// `npm run deploy` against a real `hardhat node` on 127.0.0.1 (ephemeral port): deploys and wires
// every contract, writes deployments/<chainId>.json (into a temp dir here), regenerates ABIs.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { createPublicClient, http } from "viem";
import { readDeployment } from "../../node/src/chain/deployments.ts";
import { readOnlyContracts } from "../../node/src/chain/contracts.ts";
import { DEV_KEYS, freePort, startLocalChain } from "../../scripts/lib/chain.ts";
import { connectChain } from "../../node/src/chain/connect.ts";
import { peerBindingCheck } from "../../node/src/chain/binding.ts";
import { registerProvider } from "../../node/src/jobs/service.ts";
import { generateKeyPair } from "@libp2p/crypto/keys";
import { peerIdFromPrivateKey } from "@libp2p/peer-id";
import { privateKeyToAccount } from "viem/accounts";
import type { LocalChain } from "../../scripts/lib/chain.ts";

const root = new URL("../..", import.meta.url).pathname;

describe("npm run deploy (scripts/deploy.ts)", () => {
  let chain: LocalChain;
  before(async () => {
    chain = await startLocalChain({ port: await freePort() });
  });
  after(async () => {
    await chain?.stop();
  });

  const dir = mkdtempSync(join(tmpdir(), "shardmesh-deployments-"));

  it("deploys, links and records every contract", async () => {
    const res = spawnSync(process.execPath, [join(root, "scripts/deploy.ts")], {
      cwd: root,
      env: { ...process.env, RPC_URL: chain.url, SHARDMESH_DEPLOYMENTS_DIR: dir, NODE_NO_WARNINGS: "1" },
      encoding: "utf8",
    });
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, /deployed JobMarket at 0x[0-9a-fA-F]{40}/);
    assert.ok(existsSync(join(dir, "31337.json")));
    const d = readDeployment(31337, dir);
    const publicClient = createPublicClient({ transport: http(chain.url) });
    for (const c of Object.values(d.contracts)) {
      const code = await publicClient.getCode({ address: c.address });
      assert.ok(code && code.length > 2, `no code at ${c.address}`);
    }
    const contracts = readOnlyContracts(d, publicClient);
    assert.equal(await contracts.staking.read.jobMarket(), d.contracts.JobMarket.address);
    const config = await contracts.market.read.config();
    assert.equal(config[3], d.contracts.ProtocolParams.address);
    assert.equal(config[4], d.contracts.SpotCheck.address);
    assert.equal(config[5], d.contracts.Disputes.address);
    assert.equal(await contracts.params.read.treasury(), d.parameters.treasury);
    assert.equal(d.parameters.unbondingPeriod > Number(await contracts.market.read.longestChallengeWindow()), true);
  });

  it("gives the provider node chain support: register (stake + bind, idempotent) and binding checks", async () => {
    // Quotes and job-request signatures need the provider's mesh: test/e2e covers them.
    const chainConn = await connectChain({ rpcUrl: chain.url, deployment: join(dir, "31337.json"), privateKey: DEV_KEYS[0] });
    assert.equal(chainConn.chainId, 31337);
    const peerId = peerIdFromPrivateKey(await generateKeyPair("Ed25519")).toString();
    await registerProvider({ chain: chainConn }, peerId, 10n ** 21n);
    await registerProvider({ chain: chainConn }, peerId, 10n ** 21n); // idempotent
    const me = privateKeyToAccount(DEV_KEYS[0]).address;
    const checkBinding = peerBindingCheck(chainConn.read);
    assert.equal(await checkBinding(peerId, me), true);
    assert.equal(await checkBinding(peerId, privateKeyToAccount(DEV_KEYS[1]).address), false);
    // Bound but staked below the floor a directory lists from: not listed.
    assert.equal(await peerBindingCheck(chainConn.read, { minStake: 10n ** 22n })(peerId, me), false);
  });

  it("refuses a non-local chain without DEPLOYER_PRIVATE_KEY and names an unreachable RPC", () => {
    const res = spawnSync(process.execPath, [join(root, "scripts/deploy.ts")], {
      cwd: root,
      env: { ...process.env, RPC_URL: "http://127.0.0.1:9", NODE_NO_WARNINGS: "1" },
      encoding: "utf8",
    });
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /no JSON-RPC answer at http:\/\/127\.0\.0\.1:9/);
  });
});
