// `npm run demo` (interim): local chain → deploy → seed the PP-OCRv4 model and a staked provider
// with a bound peer id; keeps the chain running until Ctrl-C and stops it on exit.
import { seedDemoProvider, seedOcrModel, startDemoChain } from "./lib/demo.ts";

const log = (m: string) => console.log(m);

async function main(): Promise<void> {
  const port = process.env.CHAIN_PORT ? Number(process.env.CHAIN_PORT) : undefined;
  const demo = await startDemoChain(log, port);
  const shutdown = async () => {
    log("stopping the local chain…");
    await demo.chain.stop();
    process.exit(0);
  };
  process.once("SIGINT", shutdown);
  process.once("SIGTERM", shutdown);
  try {
    await seedOcrModel(demo, log);
    await seedDemoProvider(demo, 1, log);
  } catch (err) {
    await demo.chain.stop();
    throw err;
  }
  log(`\nready: RPC ${demo.chain.url} (chain 31337); Ctrl-C stops the chain.`);
  if (process.env.DEMO_EXIT_WHEN_READY === "1") await shutdown();
}

main().catch((err: Error) => {
  console.error(`demo failed: ${err.message}`);
  process.exit(1);
});
