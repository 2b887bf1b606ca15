import { defineConfig } from "vitest/config";
import { fileURLToPath } from "node:url";

// Component and logic tests live with the other tests, in test/web/unit (*.spec.ts[x], so that
// node:test, which runs test/**/*.test.ts, does not pick them up). `npm test -- web` runs them
// through scripts/pretest-web.ts.
export default defineConfig({
  root: fileURLToPath(new URL(".", import.meta.url)),
  resolve: { alias: { "@": fileURLToPath(new URL("./src", import.meta.url)) } },
  esbuild: { jsx: "automatic" },
  oxc: { jsx: { runtime: "automatic" } },
  test: {
    dir: fileURLToPath(new URL("../test/web/unit", import.meta.url)),
    include: ["**/*.spec.{ts,tsx}"],
    environment: "happy-dom",
    pool: "threads",
    maxWorkers: 1,
  },
});
