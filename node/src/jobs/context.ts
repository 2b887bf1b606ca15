// What the job lifecycle needs from a running provider and its chain connection.
import type { Address } from "viem";
import type { LocalAccount } from "viem/accounts";
import type { MeshNode } from "../mesh/node.ts";
import type { Directory } from "../mesh/directory.ts";
import type { TraceStore } from "../trace/store.ts";
import type { ChainConnection } from "../chain/connect.ts";
import type { ProviderChain } from "../chain/provider.ts";
import type { ModelConfig } from "../provider/config.ts";
import { JobsNoStakingKeyError } from "./errors.ts";

/** The chain connection the job lifecycle runs on (node/src/chain/connect.ts). */
export type ChainContext = ChainConnection;

export interface JobsContext {
  chain: ChainContext;
  node: MeshNode;
  peerId: string;
  trace: TraceStore;
  directory: Directory;
  models: ModelConfig[];
}

/** The provider's chain identity; throws JobsNoStakingKeyError without a staking key. */
export function requireWallet(chain: ChainContext): { account: LocalAccount; pc: ProviderChain; address: Address } {
  if (!chain.account || !chain.pc) throw new JobsNoStakingKeyError("this node has no staking key (--staking-key)");
  return { account: chain.account, pc: chain.pc, address: chain.account.address };
}

/** Latest block time, seconds (quote expiries and windows follow chain time, not the wall clock). */
export async function chainNow(chain: ChainContext): Promise<bigint> {
  return (await chain.publicClient.getBlock({ blockTag: "latest" })).timestamp;
}
