// Run by scripts/test.ts before the circuit tests: builds the test instances of
// circuits/circuits.json when their build is missing or stale (cached in circuits/build/) and
// fails when the committed verifiers or keys no longer match the circuits.
import { spawnSync } from "node:child_process";

const root = new URL("..", import.meta.url).pathname;
const res = spawnSync(process.execPath, ["scripts/build-circuits.ts", "--check", "--test"], { cwd: root, stdio: "inherit" });
process.exit(res.status ?? 1);
