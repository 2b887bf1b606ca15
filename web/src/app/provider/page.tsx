import { ProviderPanel } from "./_components/ProviderPanel";

export default function ProviderPage() {
  return (
    <>
      <h1>Provider</h1>
      <ProviderPanel />
    </>
  );
}
