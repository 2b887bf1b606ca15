// `shardmesh chat`: one chat turn (the model's chat template around the message), streamed.
import { runWith } from "./generate.ts";

export const summary = "chat with a language model (its chat template), streamed";

export function run(argv: string[]): Promise<number> {
  return runWith(argv, true);
}
