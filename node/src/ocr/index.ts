// PP-OCR pre- and post-processing (recogniser, detector, direction classifier) and an
// end-to-end pipeline over any bag-in/bag-out inference backend.
export * from "./assets.ts";
export * from "./errors.ts";
export * from "./constants.ts";
export * from "./header.ts";
export * from "./image.ts";
export * from "./rec.ts";
export * from "./cls.ts";
export * from "./det.ts";
export * from "./pipeline.ts";
