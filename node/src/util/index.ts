export * from "./progress.ts";
export * from "./format.ts";
