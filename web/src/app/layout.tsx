import type { Metadata } from "next";
import type { ReactNode } from "react";
import { headers } from "next/headers";
import { cookieToInitialState } from "wagmi";
import { getConfig } from "@/wagmi";
import { loadDeployments } from "@/lib/deployments.server";
import { Providers } from "./providers";
import { Header } from "@/components/Header";
import "./globals.css";

export const metadata: Metadata = {
  title: "ShardMesh",
  description: "Pay for sharded AI inference, serve models and earn.",
};

export default async function RootLayout({ children }: { children: ReactNode }) {
  const deployments = loadDeployments();
  const initialState = cookieToInitialState(getConfig(deployments), (await headers()).get("cookie"));
  return (
    <html lang="en">
      <body>
        <Providers deployments={deployments} initialState={initialState}>
          <Header />
          <main className="container">{children}</main>
          <footer className="container footer">ShardMesh · open inference mesh</footer>
        </Providers>
      </body>
    </html>
  );
}
