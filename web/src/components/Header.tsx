"use client";
import Link from "next/link";
import { usePathname } from "next/navigation";
import { ConnectButton } from "./ConnectButton";
import { NetworkBanner } from "./NetworkBanner";

const links = [
  { href: "/", label: "Marketplace" },
  { href: "/jobs", label: "My jobs" },
  { href: "/provider", label: "Provider" },
  { href: "/earnings", label: "Earnings" },
];

export function Header() {
  const path = usePathname();
  return (
    <>
      <header className="header">
        <div className="container header-row">
          <Link href="/" className="brand">
            ◆ ShardMesh
          </Link>
          <nav aria-label="Main">
            {links.map((l) => (
              <Link key={l.href} href={l.href} className={path === l.href || (l.href !== "/" && path.startsWith(l.href)) ? "active" : ""}>
                {l.label}
              </Link>
            ))}
          </nav>
          <ConnectButton />
        </div>
      </header>
      <NetworkBanner />
    </>
  );
}
