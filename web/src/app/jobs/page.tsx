import { MyJobs } from "./_components/MyJobs";

export default function JobsPage() {
  return (
    <>
      <h1>My jobs</h1>
      <MyJobs />
    </>
  );
}
