// Public API of the ONNX model toolkit: load/normalise/analyse, type oracle and cost profile,
// cut planner, stage splitter, and the ModelToolkit that ties them together.
export * from "./model.ts";
export * from "./analyse.ts";
export * from "./profile.ts";
export * from "./plan.ts";
export * from "./split.ts";
export * from "./toolkit.ts";
