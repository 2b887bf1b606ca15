import type { NextConfig } from "next";
import { fileURLToPath } from "node:url";

// npm workspaces hoist every package to the repository root: tell Turbopack and output tracing
// where that root is so they neither warn nor miss files.
const repoRoot = fileURLToPath(new URL("..", import.meta.url));

const config: NextConfig = {
  reactStrictMode: true,
  // The node package (ABIs, EIP-712 types, the gateway API) is TypeScript source: compile it here.
  transpilePackages: ["@shardmesh/node"],
  poweredByHeader: false,
  turbopack: { root: repoRoot },
  outputFileTracingRoot: repoRoot,
};

export default config;
