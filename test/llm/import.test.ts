// `model import`: a decoder folder from a local HTTP server (127.0.0.1), interrupted mid-file and
// resumed with a Range request; sha256 of every file recorded; from a local folder; bad sources
// refused by name. The imported folder then splits like the original.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join, normalize } from "node:path";
import { buildRandomDecoder, importModel, splitDecoder } from "../../node/src/llm/index.ts";
import { tempDir, tinyModel } from "./helpers.ts";

const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");

describe("model import", () => {
  let server: Server;
  let base: string;
  let root: string;
  const log: Array<{ path: string; range?: string }> = [];
  let cutNext = true;

  before(async () => {
    // The tiny model with its weights in external data, so two big files travel.
    root = tempDir("src");
    await buildRandomDecoder(root, "tiny", { seed: 3, externalData: true });
    server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname).replace(/^\/model\//, "");
      log.push({ path, range: req.headers.range });
      const file = normalize(join(root, path));
      if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404).end();
        return;
      }
      const body = readFileSync(file);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
      if (m) {
        const from = Number(m[1]);
        if (from >= body.byteLength) {
          res.writeHead(416, { "content-range": `bytes */${body.byteLength}` }).end();
          return;
        }
        res.writeHead(206, {
          "content-length": body.byteLength - from,
          "content-range": `bytes ${from}-${body.byteLength - 1}/${body.byteLength}`,
        });
        res.end(body.subarray(from));
        return;
      }
      res.writeHead(200, { "content-length": body.byteLength });
      if (path === "onnx/model.onnx_data" && cutNext) {
        // Drop the connection after 40 % of the file.
        cutNext = false;
        res.write(body.subarray(0, Math.floor(body.byteLength * 0.4)), () => setTimeout(() => res.socket?.destroy(), 50));
        return;
      }
      res.end(body);
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/model`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it("an interrupted download resumes with a Range request; sha256 of every file recorded", async () => {
    const out = tempDir("dst");
    const events: number[] = [];
    await assert.rejects(importModel(base, out, { onProgress: (e) => e.detail === "onnx/model.onnx_data" && events.push(e.done) }), {
      name: "ModelImportError",
    });
    const partial = statSync(join(out, "onnx/model.onnx_data.part")).size;
    const full = statSync(join(root, "onnx/model.onnx_data")).size;
    assert.ok(partial > 0 && partial < full, `part file holds ${partial} of ${full}`);
    assert.ok(events.length > 0, "progress reported");
    const before = log.length;
    const rec = await importModel(base, out);
    const again = log.slice(before);
    // Completed files are not fetched again; the data file resumes where it stopped.
    assert.deepEqual(
      again.filter((r) => r.path === "onnx/model.onnx_data").map((r) => r.range),
      [`bytes=${partial}-`],
    );
    assert.ok(!again.some((r) => r.path === "tokenizer.json"), "tokenizer.json was complete already");
    assert.ok(!existsSync(join(out, "onnx/model.onnx_data.part")));
    for (const f of [
      "config.json",
      "tokenizer.json",
      "tokenizer_config.json",
      "generation_config.json",
      "onnx/model.onnx",
      "onnx/model.onnx_data",
    ]) {
      const entry = rec.files.find((x) => x.path === f);
      assert.ok(entry, `${f} recorded`);
      const src = readFileSync(join(root, f));
      assert.equal(entry.sha256, sha(src));
      assert.equal(entry.sha256, sha(readFileSync(join(out, f))));
    }
    assert.deepEqual(JSON.parse(readFileSync(join(out, "import.json"), "utf8")).files, rec.files);
    // The imported folder splits into the same stage files as the original.
    const a = await splitDecoder(out, tempDir("sa"), { stages: 2, exact: true });
    const b = await splitDecoder(root, tempDir("sb"), { stages: 2, exact: true });
    assert.deepEqual(
      a.manifest.stages.map((s) => s.sha256),
      b.manifest.stages.map((s) => s.sha256),
    );
    // A third run fetches nothing.
    const n = log.length;
    await importModel(base, out);
    assert.equal(log.length, n, "everything was complete");
  });

  it("imports from a local folder; missing files and other schemes are refused by name", async () => {
    const m = await tinyModel();
    const out = tempDir("dst2");
    const rec = await importModel(m.dir, out);
    assert.equal(rec.files.find((f) => f.path === "onnx/model.onnx")?.sha256, sha(readFileSync(join(m.dir, "onnx/model.onnx"))));
    await assert.rejects(importModel(tempDir("empty"), tempDir("dst3")), { name: "ModelImportError" });
    await assert.rejects(importModel("ftp://example.invalid/x", tempDir("dst4")), { name: "ModelImportError" });
    await assert.rejects(importModel(`${base}/nothing-here`, tempDir("dst5")), { name: "ModelImportError" });
  });
});
