import { Dashboard } from "./_components/Dashboard";

export default function EarningsPage() {
  return (
    <>
      <h1>Earnings</h1>
      <Dashboard />
    </>
  );
}
