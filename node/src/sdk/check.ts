// What a buyer checks in every answer before trusting it (docs/PROTOCOL.md, "Who checks what"):
// the gateway's `responseHash` — the hash that goes into the buyer leaf the session key will sign,
// and that the last stage is judged against — must be the bag hash of the output the buyer got,
// and `requestHash` the bag hash of the tensors it sent. A gateway or last stage that hands the
// buyer other tensors than the ones hashed is caught here, before anything is signed over them.
// Browser-safe: base64 through atob, no Buffer.
import { bagHash } from "../tensor/hash.ts";
import { DTYPE_CODE } from "../tensor/tensor.ts";
import type { DType, WireBag } from "../tensor/tensor.ts";
import type { InferRequest, InferResponse, JsonTensor } from "../gateway/api.ts";

/** An answer whose hashes are not those of the tensors sent or received. */
export class InferHashMismatchError extends Error {
  override name = "InferHashMismatchError";
}

function wireBag(tensors: Record<string, JsonTensor>): WireBag {
  const bag: WireBag = Object.create(null);
  for (const [name, t] of Object.entries(tensors)) {
    const dtype = typeof t.dtype === "number" ? t.dtype : DTYPE_CODE[t.dtype as DType];
    if (!dtype) throw new InferHashMismatchError(`tensor ${name}: unknown dtype ${String(t.dtype)}`);
    const s = atob(t.data);
    const data = new Uint8Array(s.length);
    for (let i = 0; i < s.length; i++) data[i] = s.charCodeAt(i);
    bag[name] = { dtype, dims: t.dims, data };
  }
  return bag;
}

/** Throws InferHashMismatchError unless `res` hashes match the request's tensors (when sent as tensors) and its output. */
export function checkInferResponse(
  req: Pick<InferRequest, "input">,
  res: Pick<InferResponse, "output" | "requestHash" | "responseHash">,
): void {
  if (req.input.tensors) {
    const sent = bagHash(wireBag(req.input.tensors));
    if (sent !== res.requestHash)
      throw new InferHashMismatchError(`requestHash ${res.requestHash} is not the hash ${sent} of the tensors sent`);
  }
  const got = bagHash(wireBag(res.output));
  if (got !== res.responseHash)
    throw new InferHashMismatchError(`responseHash ${res.responseHash} is not the hash ${got} of the output received`);
}
