export * from "./progress.ts";
export * from "./format.ts";
export * from "./args.ts";
