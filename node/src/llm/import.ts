// `shardmesh model import <folder | http(s) base URL>`: fetches a decoder in the Hugging Face
// layout (config.json, tokenizer files, onnx/model.onnx and the external data files it names)
// into a local folder. Downloads resume: bytes land in <file>.part and a later run asks for the
// rest with an HTTP Range request (a server that ignores it sends the whole file again). The
// sha256 of every file is computed while it arrives and recorded in import.json, which also
// lets a later run skip what is complete.
import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, stat, writeFile } from "node:fs/promises";
import { dirname, join, normalize, sep } from "node:path";
import { logger } from "@libp2p/logger";
import { decodeModel, onnx } from "../onnx/model.ts";
import type { OnProgress } from "../util/progress.ts";
import { ModelImportError } from "./errors.ts";
import { MODEL_FILE } from "./folder.ts";

const log = logger("shardmesh:llm:import");

export const IMPORT_REQUIRED = ["config.json", "tokenizer.json", "tokenizer_config.json", MODEL_FILE] as const;
export const IMPORT_OPTIONAL = ["generation_config.json", "special_tokens_map.json"] as const;
export const IMPORT_RECORD = "import.json";
/** Largest file fetched (the biggest external data files of 70B-class models are well below). */
export const MAX_IMPORT_FILE_BYTES = 64 * 2 ** 30;
/** Largest JSON file (config, tokenizer) fetched. */
export const MAX_IMPORT_JSON_BYTES = 64 * 2 ** 20;
/** A transfer with no byte for this long is aborted (it resumes on the next run). */
export const IMPORT_IDLE_TIMEOUT_MS = 30_000;

export interface ImportedFile {
  path: string;
  bytes: number;
  sha256: string;
}

export interface ImportRecord {
  source: string;
  files: ImportedFile[];
}

export interface ImportOptions {
  signal?: AbortSignal;
  onProgress?: OnProgress;
  idleTimeoutMs?: number;
  maxFileBytes?: number;
}

function isUrl(s: string): boolean {
  return /^https?:\/\//i.test(s);
}

/** External data files model.onnx refers to (relative to onnx/), checked to stay inside the folder. */
export function externalDataFiles(modelBytes: Uint8Array): string[] {
  const m = decodeModel(modelBytes);
  const out = new Set<string>();
  for (const t of m.graph?.initializer ?? []) {
    if (t.dataLocation !== onnx.TensorProto.DataLocation.EXTERNAL) continue;
    const loc = (t.externalData ?? []).find((e) => e.key === "location")?.value ?? "";
    const p = normalize(join("onnx", loc));
    if (!loc || p.startsWith("..") || p.startsWith(sep) || !p.startsWith(`onnx${sep}`)) {
      throw new ModelImportError(`model.onnx names external data ${JSON.stringify(loc)} outside its folder`);
    }
    out.add(p.split(sep).join("/"));
  }
  return [...out];
}

async function readRecord(out: string): Promise<ImportRecord | null> {
  try {
    return JSON.parse(await readFile(join(out, IMPORT_RECORD), "utf8")) as ImportRecord;
  } catch {
    return null;
  }
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return -1;
  }
}

async function hashPrefix(path: string, h: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
}

/** Fetches one file of the source into out/path; null when an optional file does not exist. */
async function fetchOne(
  source: string,
  out: string,
  path: string,
  optional: boolean,
  o: ImportOptions,
  maxBytes: number,
): Promise<ImportedFile | null> {
  const dest = join(out, path);
  const part = `${dest}.part`;
  await mkdir(dirname(dest), { recursive: true });
  const h = createHash("sha256");
  const progress = (done: number, total: number) => o.onProgress?.({ phase: "import", done, total, detail: path });
  if (!isUrl(source)) {
    const src = join(source, path);
    const size = await sizeOf(src);
    if (size < 0) {
      if (optional) return null;
      throw new ModelImportError(`${path} is missing in ${source}`);
    }
    if (size > maxBytes) throw new ModelImportError(`${path} is ${size} bytes, limit ${maxBytes}`);
    const fh = await open(part, "w");
    let done = 0;
    try {
      for await (const chunk of createReadStream(src)) {
        o.signal?.throwIfAborted();
        await fh.write(chunk as Buffer);
        h.update(chunk as Buffer);
        done += (chunk as Buffer).byteLength;
        progress(done, size);
      }
    } finally {
      await fh.close();
    }
    await rename(part, dest);
    return { path, bytes: done, sha256: h.digest("hex") };
  }
  const url = `${source.replace(/\/+$/, "")}/${path}`;
  let have = Math.max(0, await sizeOf(part));
  const idle = new AbortController();
  const signal = o.signal ? AbortSignal.any([o.signal, idle.signal]) : idle.signal;
  const idleMs = o.idleTimeoutMs ?? IMPORT_IDLE_TIMEOUT_MS;
  let timer = setTimeout(() => idle.abort(), idleMs);
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(), idleMs);
  };
  try {
    let res: Response;
    try {
      res = await fetch(url, { headers: have > 0 ? { range: `bytes=${have}-` } : {}, signal, redirect: "follow" });
    } catch (err) {
      throw new ModelImportError(`${url}: ${(err as Error).message}`);
    }
    if (res.status === 404 && optional) {
      await res.body?.cancel();
      return null;
    }
    if (res.status === 416 && have > 0) {
      // Nothing more to send: the part file is complete.
      await res.body?.cancel();
    } else if (res.status !== 200 && res.status !== 206) {
      await res.body?.cancel();
      throw new ModelImportError(`${url}: HTTP ${res.status}`);
    }
    let total = -1;
    if (res.status === 206) {
      const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(res.headers.get("content-range") ?? "");
      if (!m || Number(m[1]) !== have) {
        await res.body?.cancel();
        throw new ModelImportError(`${url}: server answered the range request with ${res.headers.get("content-range")}`);
      }
      total = m[3] === "*" ? -1 : Number(m[3]);
      await hashPrefix(part, h);
      log("%s: resuming at byte %d", path, have);
    } else if (res.status === 200) {
      have = 0;
      const len = Number(res.headers.get("content-length") ?? -1);
      total = Number.isFinite(len) ? len : -1;
    } else {
      await hashPrefix(part, h);
      total = have;
    }
    if (total > maxBytes) {
      await res.body?.cancel();
      throw new ModelImportError(`${path} is ${total} bytes, limit ${maxBytes}`);
    }
    if (res.status === 200 || res.status === 206) {
      const fh = await open(part, res.status === 206 ? "a" : "w");
      try {
        const reader = res.body!.getReader();
        for (;;) {
          let r: ReadableStreamReadResult<Uint8Array>;
          try {
            r = await reader.read();
          } catch (err) {
            throw new ModelImportError(
              `${url}: transfer stopped at byte ${have} (${(err as Error).message}); run the import again to resume`,
            );
          }
          if (r.done) break;
          kick();
          have += r.value.byteLength;
          if (have > maxBytes) throw new ModelImportError(`${path} exceeds ${maxBytes} bytes`);
          await fh.write(r.value);
          h.update(r.value);
          progress(have, total);
        }
      } finally {
        await fh.close();
      }
    }
    if (total >= 0 && have !== total) throw new ModelImportError(`${url}: got ${have} of ${total} bytes; run the import again to resume`);
    await rename(part, dest);
    return { path, bytes: have, sha256: h.digest("hex") };
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Imports a decoder folder from a local folder or an http(s) base URL into `out`; files already
 * recorded complete in out/import.json (same source, same size on disk) are kept.
 */
export async function importModel(source: string, out: string, o: ImportOptions = {}): Promise<ImportRecord> {
  if (!isUrl(source) && /^[a-z]+:\/\//i.test(source))
    throw new ModelImportError(`unsupported source ${source} (a folder or an http(s) URL)`);
  await mkdir(out, { recursive: true });
  const before = await readRecord(out);
  const done = new Map<string, ImportedFile>();
  if (before?.source === source) {
    for (const f of before.files) if ((await sizeOf(join(out, f.path))) === f.bytes) done.set(f.path, f);
  }
  const record: ImportRecord = { source, files: [] };
  const save = () => writeFile(join(out, IMPORT_RECORD), `${JSON.stringify(record, null, 2)}\n`);
  const get = async (path: string, optional: boolean, maxBytes: number) => {
    const have = done.get(path);
    const f = have ?? (await fetchOne(source, out, path, optional, o, maxBytes));
    if (f) {
      record.files.push(f);
      await save();
    }
    return f;
  };
  const maxFile = o.maxFileBytes ?? MAX_IMPORT_FILE_BYTES;
  for (const p of IMPORT_REQUIRED) await get(p, false, p.endsWith(".json") ? Math.min(maxFile, MAX_IMPORT_JSON_BYTES) : maxFile);
  for (const p of IMPORT_OPTIONAL) await get(p, true, Math.min(maxFile, MAX_IMPORT_JSON_BYTES));
  let extra: string[];
  try {
    extra = externalDataFiles(new Uint8Array(await readFile(join(out, MODEL_FILE))));
  } catch (err) {
    if ((err as Error).name === "ModelImportError") throw err;
    throw new ModelImportError(`onnx/model.onnx is not an ONNX model: ${(err as Error).message}`);
  }
  for (const p of extra) await get(p, false, maxFile);
  return record;
}
