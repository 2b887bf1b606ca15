export const GATEWAY_VERSION_DOC = "0.1.0";
