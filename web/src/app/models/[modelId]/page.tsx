import { ModelDetails } from "./_components/ModelDetails";

export default async function ModelPage({ params }: { params: Promise<{ modelId: string }> }) {
  const { modelId } = await params;
  return <ModelDetails modelId={modelId} />;
}
