// Errors of the receipts module; `name` is stable (tests and callers match on it).
export class ReceiptEmptyTreeError extends Error {
  override name = "ReceiptEmptyTreeError";
}
export class ReceiptLeafMissingError extends Error {
  override name = "ReceiptLeafMissingError";
}
export class ReceiptPartsError extends Error {
  override name = "ReceiptPartsError";
}
export class ReceiptLeavesWireError extends Error {
  override name = "ReceiptLeavesWireError";
}
