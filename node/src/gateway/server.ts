// Gateway: the buyer-facing HTTP API of a provider node (docs/PROTOCOL.md, "Gateway HTTP API";
// the OpenAPI document in ./openapi.ts is the reference). JSON in and out; errors are
// `{ error: { name, message } }` with the error class's status. Chain-backed routes (quotes,
// receipts, job signatures) use hooks the provider wires in when it has a chain connection.
import type { Hex } from "viem";
import { createServer } from "node:http";
import { generationRequestHash } from "../jobs/session.ts";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import { logger } from "@libp2p/logger";
import {
  GatewayBadRequestError,
  GatewayChainUnavailableError,
  GatewayNotFoundError,
  GatewayPaymentRequiredError,
  GatewayRateLimitedError,
  GatewayUnauthorizedError,
} from "./errors.ts";
import { checkFinite, GATEWAY_LIMITS, maxBodyFor, RateLimiter, readJsonBody, type GatewayLimits } from "./admission.ts";
import { checkRequest, type RequestBounds } from "../inference/bounds.ts";
import { errorStatus } from "./status.ts";
import type { Directory } from "../mesh/directory.ts";
import type { RouteResult, Router } from "../router/router.ts";
import type { TraceStore } from "../trace/store.ts";
import type { SignedQuote } from "../receipts/eip712.ts";
import type {
  InferResponse,
  JobStatus,
  MeshStatus,
  ModelInfo,
  PrepareResponse,
  ReceiptStatus,
  ReceiptToSign,
  SubmittedReceiptInfo,
} from "./api.ts";
import { jobKey, MAX_REQUEST_NONCE, parseJobId } from "../jobs/admission.ts";
import type { Admission, JobAdmission } from "../jobs/admission.ts";
import { bagHash, formatJsonBag, parseJsonBag } from "../tensor/index.ts";
import type { JsonTensor, WireBag } from "../tensor/index.ts";
import { handleOpenAi, openAiModelList, type LlmService } from "./openai.ts";
import { openapiDocument } from "./openapi.ts";

const log = logger("shardmesh:gateway");

import { GATEWAY_VERSION_DOC } from "./version.ts";
export const GATEWAY_VERSION = GATEWAY_VERSION_DOC;

/** The gateway's chain-backed routes (node/src/jobs/service.ts provides them). */
export interface JobHooks {
  /** EIP-712 quotes per stage for `openJob`, made out to `buyer`. */
  quotes?: (modelId: string, maxUnits: number, buyer: `0x${string}`) => Promise<SignedQuote[]>;
  /** Checks the job's session-key signature over the request (JobRequest(jobId, nonce, requestHash)). */
  verifyJobRequest?: (jobId: string, nonce: number, requestHash: `0x${string}`, signature: string) => Promise<boolean>;
  /** What the session key signs for a receipt: `{ count, units, outputRoot }`. */
  receiptToSign?: (jobId: string) => Promise<ReceiptToSign>;
  /** Submit a receipt with the session key's signature. */
  submitReceipt?: (jobId: string, body: unknown) => Promise<SubmittedReceiptInfo>;
  /** Receipt status of a job. */
  jobReceipts?: (jobId: string) => Promise<ReceiptStatus[]>;
  /** Whether a details signature (jobs/details.ts) comes from the job's session key. */
  verifyJobReader?: (jobId: string, expires: number, signature: string) => Promise<boolean>;
}

export interface GatewayHooks extends JobHooks {
  /** OCR pre/post-processing: image → model input bag, model output → text. */
  image?: {
    toInput(modelId: string, image: Uint8Array): Promise<WireBag>;
    toText(modelId: string, output: WireBag): Promise<string | undefined>;
  };
}

export interface GatewayInit {
  host?: string;
  port?: number;
  /** Allowed browser origins; "*" allows any. */
  cors?: string[];
  peerId: string;
  chainId?: number;
  directory: Directory;
  router: Router;
  trace: TraceStore;
  /** Admits a job's requests and numbers them (the one owner of a job's count). */
  admission: JobAdmission;
  hooks?: GatewayHooks;
  /** Accept `jobId` without a session-key signature (development meshes without a chain). */
  unsignedJobs?: boolean;
  /** Language models: the OpenAI-compatible routes (node/src/llm/openai.ts). */
  llm?: LlmService;
  /**
   * Request bounds of each model this gateway holds the manifest of (inference/bounds.ts); a
   * request is checked against them before any hop. For a model without (a gateway that holds
   * no manifest), the stage-0 providers check the same bounds and a refusal they all agree on is
   * the buyer's 422 (RouterInputRefusedError), charged to none of them.
   */
  bounds?: (modelId: string) => RequestBounds | undefined;
  /** Abuse limits (defaults: GATEWAY_LIMITS). */
  limits?: Partial<GatewayLimits>;
  /** Largest request any served model allows, bytes (sizes the body limit, maxBodyFor). */
  maxRequestBytes?: number;
}

export class Gateway {
  private readonly init: GatewayInit;
  private server: Server | undefined;
  readonly limits: GatewayLimits;
  /** Largest body accepted (maxBodyFor the largest request a served model allows). */
  readonly maxBodyBytes: number;
  private readonly unpaid: RateLimiter;
  /** Refused POSTs per client (GatewayLimits.refusedPerSecond): a client past them is refused unread. */
  private readonly refused: RateLimiter;
  private readonly connections = new Map<string, number>();

  constructor(init: GatewayInit) {
    this.init = init;
    this.limits = { ...GATEWAY_LIMITS, ...init.limits };
    this.maxBodyBytes = maxBodyFor(init.maxRequestBytes ?? 0, this.limits);
    this.unpaid = new RateLimiter({
      perSecond: this.limits.unpaidPerSecond,
      burst: this.limits.unpaidBurst,
      maxClients: this.limits.maxClients,
    });
    this.refused = new RateLimiter({
      perSecond: this.limits.refusedPerSecond,
      burst: this.limits.refusedBurst,
      maxClients: this.limits.maxClients,
      what: "refused requests",
      instead: "after fixing the requests (each refusal's error names what was wrong)",
    });
  }

  async start(): Promise<string> {
    const requestTimeout = this.limits.requestTimeoutMs;
    const headersTimeout = Math.min(this.limits.headersTimeoutMs, requestTimeout);
    // Node checks the two deadlines every connectionsCheckingInterval (default 30 s): often enough here.
    const connectionsCheckingInterval = Math.max(250, Math.min(1_000, headersTimeout / 4));
    this.server = createServer({ headersTimeout, requestTimeout, connectionsCheckingInterval }, (req, res) => {
      // The client's address is taken now: a request refused mid-body has no socket when it fails.
      const client = clientOf(req);
      this.handle(req, res, client).catch((err: Error) => this.fail(res, err, req, client));
    });
    const server = this.server;
    // A connection that never sends a request is closed by headersTimeout, an idle keep-alive one by this.
    server.keepAliveTimeout = this.limits.keepAliveTimeoutMs;
    // ...but not on the word of a timer that ran late. After this process stalled (a long task, a
    // starved CPU), timers run before the sockets' waiting bytes are read, so Node's keep-alive
    // timer would close connections whose next request had already arrived (honest clients saw
    // ECONNRESET). A 'timeout' listener takes the decision from Node: the socket is closed after
    // the pending reads (setImmediate runs after the poll phase) only if it read nothing since.
    server.on("timeout", (socket: Socket) => {
      const read = socket.bytesRead;
      setImmediate(() => {
        if (socket.bytesRead === read) socket.destroy();
      });
    });
    server.maxConnections = this.limits.maxConnections;
    server.on("connection", (socket) => {
      const client = socket.remoteAddress ?? "?";
      const n = (this.connections.get(client) ?? 0) + 1;
      if (n > this.limits.maxConnectionsPerClient) {
        socket.destroy();
        return;
      }
      this.connections.set(client, n);
      socket.once("close", () => {
        const left = (this.connections.get(client) ?? 1) - 1;
        if (left > 0) this.connections.set(client, left);
        else this.connections.delete(client);
      });
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once("error", reject);
      this.server!.listen(this.init.port ?? 0, this.init.host ?? "127.0.0.1", () => resolve());
    });
    return this.url;
  }

  get url(): string {
    const a = this.server?.address() as AddressInfo | null;
    if (!a) return "";
    return `http://${a.address.includes(":") ? `[${a.address}]` : a.address}:${a.port}`;
  }

  async stop(): Promise<void> {
    const s = this.server;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  private cors(req: IncomingMessage, res: ServerResponse): void {
    const allowed = this.init.cors ?? [];
    const origin = req.headers.origin;
    if (!origin) return;
    if (allowed.includes("*") || allowed.includes(origin)) {
      res.setHeader("access-control-allow-origin", allowed.includes("*") ? "*" : origin);
      res.setHeader("vary", "origin");
      res.setHeader("access-control-allow-methods", "GET, POST, OPTIONS");
      res.setHeader(
        "access-control-allow-headers",
        "content-type, x-shardmesh-job, x-shardmesh-nonce, x-shardmesh-signature, x-shardmesh-expires",
      );
      res.setHeader("access-control-max-age", "600");
    }
  }

  private send(res: ServerResponse, status: number, body: unknown): void {
    const text = JSON.stringify(body, (_k, v) => (typeof v === "bigint" ? v.toString() : v));
    res.writeHead(status, { "content-type": "application/json; charset=utf-8", "content-length": Buffer.byteLength(text) });
    res.end(text);
  }

  private fail(res: ServerResponse, err: Error, req: IncomingMessage, client: string): void {
    const status = errorStatus(err);
    if (status >= 500) log.error("request failed: %s: %s", err.name, err.message);
    // A refused POST counts against its client (refusedPerSecond): a flood of bad bodies, inputs
    // or signatures is throttled like an unpaid one. A 429 itself costs nothing more.
    if (req.method === "POST" && isRefusal(status)) this.refused.charge(client);
    if (res.headersSent) {
      res.destroy();
      return;
    }
    // Refused before its body was read whole (too large): the rest of it must not be taken for the next request.
    if (!req.complete) res.setHeader("connection", "close");
    const body = { error: { name: err.name, message: err.message } };
    if (err instanceof GatewayRateLimitedError) {
      res.setHeader("retry-after", String(err.retryAfterSeconds));
      // Held a moment before it is answered: a client over its share gets at most
      // maxConnectionsPerClient / rateLimitedDelayMs answers a second, however fast it asks.
      setTimeout(() => {
        if (!res.destroyed) this.send(res, status, body);
      }, this.limits.rateLimitedDelayMs).unref();
      return;
    }
    this.send(res, status, body);
  }

  private async handle(req: IncomingMessage, res: ServerResponse, client: string): Promise<void> {
    this.cors(req, res);
    if (req.method === "OPTIONS") {
      res.writeHead(204);
      res.end();
      return;
    }
    const url = new URL(req.url ?? "/", "http://gateway");
    const path = url.pathname.replace(/\/+$/, "") || "/";
    const get = req.method === "GET";
    const post = req.method === "POST";
    // A client past its refused share is refused before its body is read (takes no token).
    if (post) this.refused.check(client);
    if (get && path === "/openapi.json") return this.send(res, 200, openapiDocument());
    if (get && path === "/v1/health") {
      return this.send(res, 200, { ok: true, peerId: this.init.peerId, chainId: this.init.chainId ?? null, version: GATEWAY_VERSION });
    }
    // One /v1/models for both audiences: OpenAI clients read `data` (the language models), the SDK `models`.
    if (get && path === "/v1/models") {
      return this.send(res, 200, {
        ...openAiModelList(this.init.llm ?? { models: () => [], model: () => undefined }),
        models: this.models(),
      });
    }
    if (post && (path === "/v1/completions" || path === "/v1/chat/completions")) {
      if (!this.init.llm) throw new GatewayNotFoundError(`this gateway serves no language model (${path})`);
      await handleOpenAi(req, res, path, this.init.llm, {
        // The session key signs JobRequest(jobId, nonce, keccak256(body bytes)); units are tokens.
        // A generation under no job is unpaid: it takes the client's unpaid share like /v1/infer.
        admit: async (r, body, units) => {
          const admission = await this.admitJob(r, undefined, generationRequestHash(body), units);
          if (!admission) this.admitUnpaid(r);
          return admission;
        },
      });
      // The OpenAI routes answer their own errors (OpenAI's error shape): count a refusal here.
      if (isRefusal(res.statusCode)) this.refused.charge(client);
      return;
    }
    if (get && path === "/v1/mesh") return this.send(res, 200, this.mesh());
    if (get && path === "/v1/quotes") {
      const modelId = url.searchParams.get("modelId");
      const max = Number(url.searchParams.get("maxUnits") ?? "1");
      const buyer = url.searchParams.get("buyer") ?? "";
      if (!modelId) throw new GatewayBadRequestError("modelId is required");
      if (!Number.isInteger(max) || max <= 0 || max > 0xffffffff)
        throw new GatewayBadRequestError("maxUnits must be a positive 32-bit integer");
      if (!/^0x[0-9a-fA-F]{40}$/.test(buyer))
        throw new GatewayBadRequestError("buyer must be the address that opens the job (quotes are made out to it)");
      if (!this.init.hooks?.quotes) throw new GatewayChainUnavailableError("this gateway has no chain connection for quotes");
      return this.send(res, 200, { quotes: await this.init.hooks.quotes(modelId, max, buyer as `0x${string}`) });
    }
    if (post && path === "/v1/infer") return this.send(res, 200, await this.infer(req));
    if (post && path === "/v1/prepare") return this.send(res, 200, await this.prepare(req));
    const job = /^\/v1\/jobs\/([^/]+)(\/receipt)?$/.exec(path);
    if (job) {
      // Job ids are decimal numbers: the path segment is parsed as it is (no percent-decoding).
      const jobId = jobKey(this.jobIdOf(job[1]));
      if (get && !job[2]) return this.send(res, 200, await this.job(jobId, req));
      if (get && job[2]) {
        if (!this.init.hooks?.receiptToSign) throw new GatewayChainUnavailableError("receipts need a chain connection");
        return this.send(res, 200, await this.init.hooks.receiptToSign(jobId));
      }
      if (post && job[2]) {
        if (!this.init.hooks?.submitReceipt) throw new GatewayChainUnavailableError("receipts need a chain connection");
        return this.send(
          res,
          200,
          await this.init.hooks.submitReceipt(jobId, receiptBody(await readJsonBody(req, this.maxBodyBytes, this.limits))),
        );
      }
    }
    throw new GatewayNotFoundError(`no route ${req.method} ${path}`);
  }

  models(): ModelInfo[] {
    const d = this.init.directory;
    return d.models().map((m) => ({
      id: m.modelId,
      name: m.name ?? m.modelId,
      stageCount: m.stageCount,
      stages: Array.from({ length: m.stageCount }, (_, stage) => ({
        stage,
        providers: d.providers(m.modelId, stage).map((p) => ({
          peerId: p.peerId,
          stakingAddress: p.stakingAddress ?? null,
          price: p.price.toString(),
          load: p.load,
          capacity: p.capacity,
          latencyMs: this.latencyOf(p.peerId, p.latencyMs),
        })),
      })),
    }));
  }

  private latencyOf(peerId: string, announced: number): number {
    const measured = this.init.router.peerStats()[peerId];
    return measured && measured.served > 0 ? measured.latencyMs : announced;
  }

  mesh(): MeshStatus {
    const stats = this.init.router.peerStats();
    return {
      self: this.init.peerId,
      peers: this.init.directory.list().map((a) => ({
        peerId: a.peerId,
        self: a.peerId === this.init.peerId,
        stakingAddress: a.binding?.address ?? null,
        addrs: a.addrs,
        gateway: a.gateway ?? null,
        stages: a.models.flatMap((m) => m.stages.map((s) => ({ modelId: m.modelId, stage: s.stage, price: s.price }))),
        load: a.load,
        capacity: a.capacity,
        latencyMs: this.latencyOf(a.peerId, a.latencyMs),
        served: stats[a.peerId]?.served ?? 0,
        failed: stats[a.peerId]?.failed ?? 0,
        penalty: stats[a.peerId]?.penalty ?? 0,
        ageMs: Math.max(0, Date.now() - a.ts),
        reach: a.reach ?? "unknown",
        relay: a.relay ?? null,
        path: a.peerId === this.init.peerId ? "self" : (this.init.router.path(a.peerId) ?? null),
        via: this.init.router.via(a.peerId) ?? null,
      })),
    };
  }

  /**
   * The model input bag of a request body (`tensors` as sent, or an image pre-processed here),
   * checked against the model's request bounds: a request no provider should run is the buyer's
   * named 4xx here, before any hop.
   */
  private async inputOf(body: unknown, allowTensors: boolean): Promise<{ modelId: string; input: WireBag }> {
    const b = body as { modelId?: unknown; input?: { image?: unknown; tensors?: Record<string, JsonTensor> } } | null;
    if (!b || typeof b !== "object" || b.modelId === undefined || b.modelId === "") throw new GatewayBadRequestError("modelId is required");
    const modelId = modelIdOf(b.modelId);
    if (this.init.directory.stageCount(modelId) === 0) throw new GatewayNotFoundError(`no provider serves model ${modelId}`);
    const bounds = this.init.bounds?.(modelId);
    let input: WireBag;
    if (allowTensors && b.input?.tensors) input = parseJsonBag(b.input.tensors);
    else if (typeof b.input?.image === "string" && b.input.image.length > 0) {
      if (!this.init.hooks?.image) throw new GatewayBadRequestError("this gateway has no image pre-processing; send tensors");
      input = await this.init.hooks.image.toInput(modelId, Buffer.from(b.input.image, "base64"));
    } else
      throw new GatewayBadRequestError(allowTensors ? "input must hold `tensors` or `image`" : "input must hold `image` (base64 PNG/JPEG)");
    // /v1/prepare only computes what an image becomes; /v1/infer checks that against the bounds.
    if (bounds && allowTensors) checkRequest(bounds, input);
    checkFinite(input);
    return { modelId, input };
  }

  /** GatewayRateLimitedError if the client has no unpaid token left (takes none). */
  private checkUnpaid(req: IncomingMessage): void {
    if (this.limits.unpaidPerSecond <= 0) return; // admitUnpaid names it (402) once the body says there is no job
    this.unpaid.check(clientOf(req));
  }

  /** Unpaid requests take a token from the client's bucket (GatewayRateLimitedError when empty). */
  private admitUnpaid(req: IncomingMessage): void {
    if (this.limits.unpaidPerSecond <= 0) throw new GatewayPaymentRequiredError("this gateway serves requests under a job only");
    this.unpaid.take(clientOf(req));
  }

  /**
   * An unpaid request that runs work (a route, an image decode): counted among its client's
   * running requests (at most RateLimiter.maxRunning) and takes a token; call the release when it
   * is done.
   */
  private admitUnpaidRun(req: IncomingMessage): () => void {
    if (this.limits.unpaidPerSecond <= 0) throw new GatewayPaymentRequiredError("this gateway serves requests under a job only");
    const release = this.unpaid.enter(clientOf(req));
    try {
      this.admitUnpaid(req);
    } catch (err) {
      release();
      throw err;
    }
    return release;
  }

  /** The exact tensors and request hash `/v1/infer` computes for an image, so a browser can sign it. */
  private async prepare(req: IncomingMessage): Promise<PrepareResponse> {
    this.checkUnpaid(req);
    const body = await readJsonBody(req, this.maxBodyBytes, this.limits);
    const release = this.admitUnpaidRun(req);
    try {
      const { input } = await this.inputOf(body, false);
      return { tensors: formatJsonBag(input), requestHash: bagHash(input) };
    } finally {
      release();
    }
  }

  private async infer(req: IncomingMessage): Promise<InferResponse> {
    // A request that names no job in its headers and comes from a client over its unpaid share is
    // refused before its body is read (a paid request names its job in x-shardmesh-job).
    if (req.headers["x-shardmesh-job"] === undefined) this.checkUnpaid(req);
    const body = (await readJsonBody(req, this.maxBodyBytes, this.limits)) as { jobId?: unknown } | null;
    const rawJob = (body && typeof body === "object" ? body.jobId : undefined) ?? req.headers["x-shardmesh-job"];
    const jobId = rawJob === undefined || rawJob === "" ? undefined : this.jobIdOf(rawJob);
    // Admission, in one place: a paid request by its job (session-key signature, then the job's
    // next index), an unpaid one by its client's share (a token, and one of the client's running
    // slots until it is answered); either way its input within the bounds.
    if (jobId !== undefined) return this.run(req, body, rawJob);
    const release = this.admitUnpaidRun(req);
    try {
      return await this.run(req, body, rawJob);
    } finally {
      release();
    }
  }

  /** An admitted /v1/infer request: its input checked, routed, answered. */
  private async run(req: IncomingMessage, body: unknown, rawJob: unknown): Promise<InferResponse> {
    const { modelId, input } = await this.inputOf(body, true);
    // The request's hash, computed once here: the signature check, the router and this node's
    // own first stage all use it.
    const requestHash = bagHash(input);
    const admission = await this.admitJob(req, rawJob, requestHash, 1);
    const ctrl = new AbortController();
    req.once("close", () => {
      if (!req.complete) ctrl.abort(new Error("client went away"));
    });
    // The buyer's signature (checked in admitJob) goes to every stage: providers work on a job's
    // hop only with it (pipeline/jobrequest.ts), so no stranger takes its trace rows first.
    const signature = req.headers["x-shardmesh-signature"];
    const jobRequest = admission && typeof signature === "string" ? { requestHash, signature: signature as Hex } : undefined;
    let result: RouteResult;
    try {
      // A job's requests run this node's own stages here: it submits the job's receipts, and the
      // contract takes a receipt only from a provider with a part in it.
      result = await this.init.router.run(modelId, input, {
        jobId: admission?.jobId,
        index: admission?.traceIndex,
        requestHash,
        jobRequest,
        signal: ctrl.signal,
        preferSelf: admission !== undefined,
      });
    } catch (err) {
      admission?.release();
      throw err;
    }
    const index = admission?.complete({
      modelId,
      requestHash: result.requestHash,
      responseHash: result.responseHash,
      stages: result.stages.map((s) => ({ stage: s.stage, peerId: s.peerId, inputHash: s.inputHash, outputHash: s.outputHash })),
    });
    const text = this.init.hooks?.image ? await this.init.hooks.image.toText(modelId, result.output) : undefined;
    return {
      index: index ?? null,
      nonce: admission?.traceIndex ?? null,
      output: formatJsonBag(result.output),
      ...(text !== undefined ? { text } : {}),
      requestHash: result.requestHash,
      responseHash: result.responseHash,
      stages: result.stages.map((s) => ({ stage: s.stage, peerId: s.peerId, ms: Math.round(s.ms * 10) / 10, retries: s.retries })),
    };
  }

  /**
   * The job a request names (`jobId` in the body, else the x-shardmesh-job header), its session
   * key's signature (x-shardmesh-signature) over (jobId, nonce, `requestHash`) checked, with
   * `units` and the request's nonce (x-shardmesh-nonce) reserved; undefined for a request without
   * a job. A nonce answered or in flight in the job is JobsNonceReusedError (409): one signature,
   * one request.
   */
  private async admitJob(
    req: IncomingMessage,
    bodyJob: unknown,
    requestHash: `0x${string}`,
    units: number,
  ): Promise<Admission | undefined> {
    const rawJob = bodyJob ?? req.headers["x-shardmesh-job"];
    if (rawJob === undefined || rawJob === "") return undefined;
    const jobId = this.jobIdOf(rawJob);
    const key = jobKey(jobId);
    const nonce = nonceOf(req.headers["x-shardmesh-nonce"]);
    const signature = req.headers["x-shardmesh-signature"];
    if (this.init.hooks?.verifyJobRequest) {
      if (nonce === undefined)
        throw new GatewayBadRequestError(`a request under job ${key} needs x-shardmesh-nonce, the request number its session key signed`);
      if (typeof signature !== "string" || !(await this.init.hooks.verifyJobRequest(key, nonce, requestHash, signature))) {
        throw new GatewayUnauthorizedError(`request not signed by job ${key}'s session key (for nonce ${nonce})`);
      }
    } else if (!this.init.unsignedJobs) {
      throw new GatewayChainUnavailableError("job requests need a chain connection to check the session key");
    }
    return this.init.admission.admit(jobId, units, nonce);
  }

  /** A job id from a path, header or body: the number (JobsInvalidJobIdError 400 otherwise). */
  private jobIdOf(raw: unknown): bigint {
    if (typeof raw === "number" && Number.isSafeInteger(raw)) return parseJobId(String(raw));
    if (typeof raw !== "string") throw new GatewayBadRequestError("jobId must be a decimal string");
    return parseJobId(raw);
  }

  /**
   * A job's status: public counts and receipts; its per-request details (hashes, routes, stage
   * records) only to the job's session key (jobs/details.ts), or to anyone on a development mesh
   * without a chain (unsigned jobs).
   */
  private async job(jobId: string, req: IncomingMessage): Promise<JobStatus> {
    const requests = this.init.trace.requests(jobId);
    const status = {
      jobId,
      served: requests.length,
      receipts: this.init.hooks?.jobReceipts ? await this.init.hooks.jobReceipts(jobId) : [],
    };
    const signature = req.headers["x-shardmesh-signature"];
    const expires = Number(req.headers["x-shardmesh-expires"]);
    const verify = this.init.hooks?.verifyJobReader;
    const reader = verify ? typeof signature === "string" && (await verify(jobId, expires, signature)) : this.init.unsignedJobs === true;
    if (!reader) {
      if (typeof signature === "string") throw new GatewayUnauthorizedError(`not signed by job ${jobId}'s session key, or expired`);
      return status;
    }
    return { ...status, requests, stageRecords: this.init.trace.records(jobId) };
  }
}

/** The x-shardmesh-nonce header: a decimal request number (0..MAX_REQUEST_NONCE), undefined when absent. */
function nonceOf(raw: string | string[] | undefined): number | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (typeof raw !== "string" || !/^[0-9]{1,10}$/.test(raw) || Number(raw) > MAX_REQUEST_NONCE)
    throw new GatewayBadRequestError(`x-shardmesh-nonce must be a decimal integer 0..${MAX_REQUEST_NONCE}`);
  return Number(raw);
}

/** A model id from a request body: the mesh's string id, or an on-chain id sent as a JSON number. */
function modelIdOf(raw: unknown): string {
  if (typeof raw === "string") return raw;
  if (typeof raw === "number" && Number.isSafeInteger(raw) && raw >= 0) return String(raw);
  throw new GatewayBadRequestError("modelId must be a string or a non-negative integer");
}

/** The receipt route's body, checked here: a malformed one is the buyer's 400, not a peer's 502. */
function receiptBody(raw: unknown): { count: number; units: number; outputRoot: `0x${string}`; signature: `0x${string}` } {
  const b = raw as { count?: unknown; units?: unknown; outputRoot?: unknown; signature?: unknown } | null;
  const uint32 = (v: unknown) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 0xffffffff;
  if (!b || typeof b !== "object" || !uint32(b.count) || !uint32(b.units))
    throw new GatewayBadRequestError("receipt body needs count and units (integers), outputRoot and signature");
  if (typeof b.outputRoot !== "string" || !/^0x[0-9a-fA-F]{64}$/.test(b.outputRoot))
    throw new GatewayBadRequestError("outputRoot must be 32 hex bytes");
  // 65-byte signatures, or EIP-2098 compact ones of 64.
  if (typeof b.signature !== "string" || !/^0x(?:[0-9a-fA-F]{128}|[0-9a-fA-F]{130})$/.test(b.signature))
    throw new GatewayBadRequestError("signature must be a 64- or 65-byte hex signature");
  return {
    count: b.count as number,
    units: b.units as number,
    outputRoot: b.outputRoot as `0x${string}`,
    signature: b.signature as `0x${string}`,
  };
}

/** The client a request's limits are counted for: its peer address. */
function clientOf(req: IncomingMessage): string {
  return req.socket?.remoteAddress ?? "?";
}

/** A client's mistake that counts against its refused share: a 4xx other than 429 (which costs nothing more). */
function isRefusal(status: number): boolean {
  return status >= 400 && status < 500 && status !== 429;
}
