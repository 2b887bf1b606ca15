import { Marketplace } from "./_components/Marketplace";

export default function MarketplacePage() {
  return (
    <>
      <h1>Marketplace</h1>
      <Marketplace />
    </>
  );
}
