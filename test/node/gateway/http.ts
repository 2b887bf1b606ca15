// A gateway test's HTTP client: POSTs from a chosen loopback address (each address is its own
// client to the gateway's per-client limits) and reads the named error of the answer.
import { request } from "node:http";

export interface Answer {
  status: number;
  name?: string;
  message?: string;
}

/** POSTs `body` to `url` + `path` from `localAddress`: the status and the error's name and message, if any. */
export function postFrom(
  url: string,
  path: string,
  body: string,
  localAddress = "127.0.0.1",
  headers: Record<string, string> = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method: "POST", localAddress, headers: { "content-type": "application/json", ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const b = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { error?: { name: string; message: string } };
          resolve({ status: res.statusCode ?? 0, name: b.error?.name, message: b.error?.message });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
