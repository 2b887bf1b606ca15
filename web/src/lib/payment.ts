// Paying tokens into a contract (escrow for a job, stake): the writes it takes. With an allowance
// that covers the amount, the payment alone; otherwise approve + the payment, or one transaction
// carrying an EIP-2612 permit the wallet signs (no approve).
import type { Config } from "wagmi";
import { readContract, signTypedData } from "wagmi/actions";
import type { Address, Hex } from "viem";
import { tokenAbi } from "./contracts";
import { permitSignatureParts, permitTypedData, tokenPermitDomain } from "./permit";
import { writeStep, type WriteRequest } from "./tx";

export type PayMode = "permit" | "approve";

/** How long a permit signed here stays valid. */
export const PERMIT_VALIDITY_S = 3_600;

/** A signed permit in the form the contracts take it. */
export interface PermitArgs {
  deadline: bigint;
  v: number;
  r: Hex;
  s: Hex;
}

export async function tokenPaymentSteps(
  config: Config,
  o: {
    chainId: number;
    token: Address;
    owner: Address;
    spender: Address;
    amount: bigint;
    mode: PayMode;
    /** The approve step's label, e.g. "Approve escrow". */
    approveLabel: string;
    /** The payment when the allowance covers it (after an approve otherwise). */
    pay: WriteRequest;
    /** The payment carrying a permit for exactly `amount`. */
    payWithPermit: (permit: PermitArgs) => WriteRequest;
  },
): Promise<WriteRequest[]> {
  const allowance = await readContract(config, { address: o.token, abi: tokenAbi, functionName: "allowance", args: [o.owner, o.spender] });
  if (allowance >= o.amount) return [o.pay];
  if (o.mode === "approve") {
    return [
      writeStep({ address: o.token, abi: tokenAbi, functionName: "approve", args: [o.spender, o.amount], label: o.approveLabel }),
      o.pay,
    ];
  }
  const [, name, version] = await readContract(config, { address: o.token, abi: tokenAbi, functionName: "eip712Domain" });
  const nonce = await readContract(config, { address: o.token, abi: tokenAbi, functionName: "nonces", args: [o.owner] });
  const deadline = BigInt(Math.floor(Date.now() / 1000) + PERMIT_VALIDITY_S);
  const signature = await signTypedData(
    config,
    permitTypedData(tokenPermitDomain(o.chainId, o.token, name, version), {
      owner: o.owner,
      spender: o.spender,
      value: o.amount,
      nonce,
      deadline,
    }),
  );
  return [o.payWithPermit({ deadline, ...permitSignatureParts(signature) })];
}
