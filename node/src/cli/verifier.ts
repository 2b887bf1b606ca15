// `shardmesh verifier start --rpc <url> --staking-key <0x…> --model <id>=<manifest> [flags]`: run a
// verifier until Ctrl-C — re-execute sampled stage leaves of receipts drawn to this staked address,
// challenge wrong ones with a bond, sit on committees (commit-reveal votes), resolve disputes.
import { loadVerifierConfig, VERIFIER_FLAGS } from "../verifier/config.ts";
import { startVerifier } from "../verifier/start.ts";
import type { VerifierStartEvent } from "../verifier/start.ts";
import { formatTokens } from "../util/format.ts";

/** Longest a verifier takes to shut down before it exits anyway. */
export const STOP_GRACE_MS = 5_000;

export const summary = "run a verifier: re-execute sampled stages, challenge, vote on committees (start)";

const USAGE = `usage: shardmesh verifier start --rpc <url> --staking-key <0x…> --model <id>=<manifest> [flags]
${VERIFIER_FLAGS}`;

function print(e: VerifierStartEvent): void {
  switch (e.event) {
    case "listening":
      console.log(`peer id   ${e.peerId}\nlistening ${e.addrs.join(" ")}`);
      break;
    case "ready":
      console.log(`verifier  ${e.address} on chain ${e.chainId}, models ${e.models.join(", ")}`);
      if (!e.eligible)
        console.log(
          `warning   staked ${formatTokens(e.staked)} < minimum verifier stake ${formatTokens(e.minVerifierStake)}: not drawn, cannot challenge`,
        );
      console.log("ready");
      break;
    case "checked":
      console.log(
        `checked   job ${e.jobId} receipt ${e.receiptId} sample ${e.sampleNo} stage ${e.stage} (${e.reason}): ${e.check.outcome} — ${e.check.detail}`,
      );
      break;
    case "challenged":
      console.log(`challenge dispute ${e.disputeId}: stage ${e.stage} of job ${e.jobId} by ${e.accused} (tx ${e.txHash})`);
      break;
    case "vote-committed":
      console.log(`committed vote on dispute ${e.disputeId}`);
      break;
    case "vote-revealed":
      console.log(`revealed  vote on dispute ${e.disputeId}: ${e.fraud ? "fraud" : "honest"}`);
      break;
    case "resolved":
      console.log(`resolved  dispute ${e.disputeId}`);
      break;
    case "withdrawn":
      console.log(`withdrew  ${formatTokens(e.amount)}`);
      break;
    case "registered":
      console.log(`registered as a verifier (stake ${formatTokens(e.weight)})`);
      break;
    case "error":
      console.error(`error     ${e.what}: ${e.name}: ${e.message}`);
      break;
  }
}

export async function run(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd !== "start") {
    console.log(USAGE);
    return cmd === undefined || cmd === "help" || cmd === "--help" || cmd === "-h" ? 0 : 2;
  }
  let parsed: ReturnType<typeof loadVerifierConfig>;
  try {
    parsed = loadVerifierConfig(rest);
  } catch (err) {
    if ((err as Error).name !== "VerifierConfigError") throw err;
    console.error(`shardmesh verifier: ${(err as Error).message}`);
    return 2;
  }
  const { config, json, help } = parsed;
  if (help) {
    console.log(USAGE);
    return 0;
  }
  const emit = json ? (e: VerifierStartEvent) => process.stdout.write(`${JSON.stringify(e)}\n`) : print;
  // Signal handlers first: a stop asked for while starting is honoured once started.
  const stopped = new Promise<void>((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
    // Spawned with an IPC channel (tests, supervisors): never outlive the parent.
    if (process.send) process.once("disconnect", resolve);
  });
  const verifier = await startVerifier(config, emit);
  await stopped;
  setTimeout(() => process.exit(1), STOP_GRACE_MS).unref();
  await verifier.stop();
  return 0;
}
