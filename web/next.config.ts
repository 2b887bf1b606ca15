import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";

// npm workspaces hoist every package to the repository root: tell Turbopack and output tracing
// where that root is so they neither warn nor miss files.
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

const config: NextConfig = {
  reactStrictMode: true,
  poweredByHeader: false,
  turbopack: { root: repoRoot },
  outputFileTracingRoot: repoRoot,
};

export default config;
