// OpenAPI 3.1 document of the gateway, served at GET /openapi.json.
import { GATEWAY_VERSION_DOC } from "./version.ts";

const error = {
  type: "object",
  required: ["error"],
  properties: {
    error: { type: "object", required: ["name", "message"], properties: { name: { type: "string" }, message: { type: "string" } } },
  },
};
const tensor = {
  type: "object",
  required: ["dtype", "dims", "data"],
  properties: {
    dtype: {
      oneOf: [
        { type: "string", enum: ["float32", "uint8", "int8", "int32", "int64", "bool", "float16", "float64"] },
        { type: "integer", description: "ONNX TensorProto.DataType code" },
      ],
    },
    dims: { type: "array", items: { type: "integer", minimum: 0 } },
    data: { type: "string", contentEncoding: "base64", description: "raw little-endian row-major element bytes" },
  },
};
const hex32 = { type: "string", pattern: "^0x[0-9a-f]{64}$" };
const errors = {
  "400": { description: "bad request", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
  "404": { description: "unknown model or route", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
  "413": {
    description: "body or input larger than the served models allow",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  },
  "422": {
    description: "every stage-0 provider refused the input as malformed",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  },
  "429": {
    description: "over the client's share of unpaid requests (Retry-After says when)",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  },
  "501": { description: "needs a chain connection", content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } },
  "503": {
    description: "no live provider for a stage",
    content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } },
  },
};
const json = (schema: unknown) => ({ "application/json": { schema } });
const errorBody = { "application/json": { schema: { $ref: "#/components/schemas/Error" } } };
/** The headers of a request under a job (docs/PROTOCOL.md, "Who checks what"). */
const jobHeaders = [
  { name: "x-shardmesh-job", in: "header", required: false, schema: { type: "string" }, description: "the job (decimal id) that pays" },
  {
    name: "x-shardmesh-nonce",
    in: "header",
    required: false,
    description:
      "the request's number in the job (0, 1, 2, …; below the job's maxUnits), signed with it; required with a job, answered once per job (409 JobsNonceReusedError otherwise; a request that failed frees it)",
    schema: { type: "string", pattern: "^[0-9]{1,10}$" },
  },
  {
    name: "x-shardmesh-signature",
    in: "header",
    required: false,
    description: "the job's session-key signature of EIP-712 JobRequest(jobId, nonce, requestHash) (with a job)",
    schema: { type: "string" },
  },
];
const jobErrors = {
  "401": { description: "not signed by the job's session key for this nonce and request", content: errorBody },
  "402": { description: "the job has fewer units left than the request reserves", content: errorBody },
  "409": {
    description: "the job is closed or used up, or the nonce was answered or is in flight (JobsNonceReusedError)",
    content: errorBody,
  },
};

export function openapiDocument() {
  return {
    openapi: "3.1.0",
    info: {
      title: "ShardMesh gateway",
      version: GATEWAY_VERSION_DOC,
      description:
        "Buyer-facing HTTP API of a ShardMesh provider node. Errors are `{ error: { name, message } }`; `name` is a stable error class name.",
    },
    paths: {
      "/v1/health": {
        get: {
          summary: "Node identity and liveness",
          responses: { "200": { description: "ok", content: json({ $ref: "#/components/schemas/Health" }) } },
        },
      },
      "/v1/models": {
        get: {
          summary:
            "Models on the mesh with the providers serving each stage now (`models`); language models also in OpenAI's list shape (`object`, `data`)",
          responses: {
            "200": {
              description: "ok",
              content: json({
                type: "object",
                properties: {
                  models: { type: "array", items: { $ref: "#/components/schemas/Model" } },
                  object: { type: "string", enum: ["list"] },
                  data: {
                    type: "array",
                    items: {
                      type: "object",
                      properties: {
                        id: { type: "string" },
                        object: { type: "string" },
                        created: { type: "integer" },
                        owned_by: { type: "string" },
                      },
                    },
                  },
                },
              }),
            },
          },
        },
      },
      "/v1/chat/completions": {
        post: {
          summary:
            "OpenAI-compatible chat completion with a language model on the mesh (messages through the model's chat template); `stream: true` answers with server-sent events (`data: {chunk}` … `data: [DONE]`). Fields: model, messages, max_tokens | max_completion_tokens, temperature (default 1), top_p, seed, stop, stream, stream_options.include_usage; n = 1 only, no logprobs. Errors in OpenAI's shape `{ error: { message, type, param, code, name } }`",
          parameters: jobHeaders,
          requestBody: { required: true, content: json({ type: "object", required: ["model", "messages"] }) },
          responses: { "200": { description: "chat.completion, or text/event-stream of chat.completion.chunk" }, ...errors, ...jobErrors },
        },
      },
      "/v1/completions": {
        post: {
          summary: "OpenAI-compatible text completion (prompt: a string); streamed like /v1/chat/completions",
          parameters: jobHeaders,
          requestBody: { required: true, content: json({ type: "object", required: ["model", "prompt"] }) },
          responses: { "200": { description: "text_completion, or text/event-stream of text_completion chunks" }, ...errors, ...jobErrors },
        },
      },
      "/v1/quotes": {
        get: {
          summary: "EIP-712 quotes signed by providers, per stage, made out to the buyer, ready for openJob",
          parameters: [
            { name: "modelId", in: "query", required: true, schema: { type: "string" } },
            { name: "maxUnits", in: "query", required: true, schema: { type: "integer", minimum: 1 } },
            { name: "buyer", in: "query", required: true, schema: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" } },
          ],
          responses: {
            "200": {
              description: "ok",
              content: json({
                type: "object",
                required: ["quotes"],
                properties: { quotes: { type: "array", items: { $ref: "#/components/schemas/SignedQuote" } } },
              }),
            },
            ...errors,
          },
        },
      },
      "/v1/infer": {
        post: {
          summary: "Run one inference through every stage of a model",
          parameters: jobHeaders,
          requestBody: { required: true, content: json({ $ref: "#/components/schemas/InferRequest" }) },
          responses: {
            "200": { description: "ok", content: json({ $ref: "#/components/schemas/InferResponse" }) },
            ...errors,
            ...jobErrors,
          },
        },
      },
      "/v1/prepare": {
        post: {
          summary: "Pre-process an image into the model input tensors and request hash /v1/infer would compute (for signing a job request)",
          requestBody: { required: true, content: json({ $ref: "#/components/schemas/PrepareRequest" }) },
          responses: { "200": { description: "ok", content: json({ $ref: "#/components/schemas/PrepareResponse" }) }, ...errors },
        },
      },
      "/v1/jobs/{jobId}": {
        get: {
          summary:
            "A job's served count and receipts; its requests and this node's stage records only with the session key's details signature (x-shardmesh-signature over jobDetailsMessage(jobId, expires), x-shardmesh-expires)",
          parameters: [
            { name: "jobId", in: "path", required: true, schema: { type: "string", pattern: "^[0-9]{1,80}$" } },
            { name: "x-shardmesh-signature", in: "header", required: false, schema: { type: "string" } },
            { name: "x-shardmesh-expires", in: "header", required: false, schema: { type: "integer" } },
          ],
          responses: { "200": { description: "ok", content: json({ $ref: "#/components/schemas/Job" }) }, "401": errors["400"], ...errors },
        },
      },
      "/v1/jobs/{jobId}/receipt": {
        get: {
          summary:
            "What the buyer's session key must sign for the next receipt: { count, units, outputRoot }, with the leaves the buyer checks against its own log first (leaf from + k answers requests[k]; leaves [nonce, units, requestHash, responseHash, route index])",
          parameters: [{ name: "jobId", in: "path", required: true, schema: { type: "string" } }],
          responses: {
            "200": {
              description: "ok",
              content: json({
                type: "object",
                properties: {
                  jobId: { type: "string" },
                  from: { type: "integer" },
                  count: { type: "integer" },
                  units: { type: "integer" },
                  outputRoot: hex32,
                  requests: { type: "array", items: { type: "integer" } },
                  leaves: {
                    type: "object",
                    properties: {
                      from: { type: "integer" },
                      routes: { type: "array", items: { type: "array", items: { type: "string" } } },
                      leaves: { type: "array", items: { type: "array" } },
                    },
                  },
                },
              }),
            },
            ...errors,
          },
        },
        post: {
          summary: "Submit the session key's signature over (jobId, count, units, outputRoot); the node submits the receipt on chain",
          parameters: [{ name: "jobId", in: "path", required: true, schema: { type: "string" } }],
          requestBody: {
            required: true,
            content: json({
              type: "object",
              properties: { count: { type: "integer" }, units: { type: "integer" }, outputRoot: hex32, signature: { type: "string" } },
            }),
          },
          responses: { "200": { description: "ok", content: json({ type: "object" }) }, ...errors },
        },
      },
      "/v1/mesh": {
        get: {
          summary: "Peers, their stages, load and latency (what `shardmesh mesh status` prints)",
          responses: { "200": { description: "ok", content: json({ $ref: "#/components/schemas/Mesh" }) } },
        },
      },
    },
    components: {
      schemas: {
        Error: error,
        Tensor: tensor,
        Health: {
          type: "object",
          properties: {
            ok: { type: "boolean" },
            peerId: { type: "string" },
            chainId: { type: ["integer", "null"] },
            version: { type: "string" },
          },
        },
        SignedQuote: {
          type: "object",
          description: "the JobMarket Quote struct signed by its provider (EIP-712); uint256 fields as decimal strings",
          required: ["quote", "signature"],
          properties: {
            quote: {
              type: "object",
              required: ["modelId", "stage", "provider", "buyer", "price", "maxUnits", "expiry", "maxJobExpiry", "nonce"],
              properties: {
                modelId: { type: "string" },
                stage: { type: "integer" },
                provider: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
                buyer: { type: "string", pattern: "^0x[0-9a-fA-F]{40}$" },
                price: { type: "string", description: "token base units per unit" },
                maxUnits: { type: "integer" },
                expiry: { type: "string", description: "unix seconds: open the job by then" },
                maxJobExpiry: { type: "string", description: "unix seconds: the latest job expiry it allows" },
                nonce: { type: "string" },
              },
            },
            signature: { type: "string" },
          },
        },
        Provider: {
          type: "object",
          properties: {
            peerId: { type: "string" },
            stakingAddress: { type: ["string", "null"] },
            price: { type: "string", description: "token base units per inference" },
            load: { type: "integer" },
            capacity: { type: "integer" },
            latencyMs: { type: "number" },
          },
        },
        Model: {
          type: "object",
          properties: {
            id: { type: "string" },
            name: { type: "string" },
            stageCount: { type: "integer" },
            stages: {
              type: "array",
              items: {
                type: "object",
                properties: { stage: { type: "integer" }, providers: { type: "array", items: { $ref: "#/components/schemas/Provider" } } },
              },
            },
          },
        },
        InferRequest: {
          type: "object",
          required: ["modelId", "input"],
          properties: {
            modelId: { type: ["string", "integer"], minimum: 0, description: "the mesh's model id; an on-chain id may be a number" },
            jobId: { type: "string" },
            input: {
              type: "object",
              properties: {
                image: { type: "string", contentEncoding: "base64", description: "PNG/JPEG for OCR models" },
                tensors: { type: "object", additionalProperties: { $ref: "#/components/schemas/Tensor" } },
              },
            },
          },
        },
        PrepareRequest: {
          type: "object",
          required: ["modelId", "input"],
          properties: {
            modelId: { type: ["string", "integer"], minimum: 0, description: "the mesh's model id; an on-chain id may be a number" },
            input: {
              type: "object",
              required: ["image"],
              properties: { image: { type: "string", contentEncoding: "base64", description: "PNG/JPEG for OCR models" } },
            },
          },
        },
        PrepareResponse: {
          type: "object",
          properties: {
            tensors: { type: "object", additionalProperties: { $ref: "#/components/schemas/Tensor" } },
            requestHash: { ...hex32, description: "bag hash of the tensors (docs/PROTOCOL.md); what JobRequest signs" },
          },
        },
        InferResponse: {
          type: "object",
          properties: {
            index: { type: ["integer", "null"], description: "the request's index in the job's answered requests (what receipts count)" },
            nonce: { type: ["integer", "null"], description: "the request nonce it was answered under (the buyer leaf's nonce)" },
            output: { type: "object", additionalProperties: { $ref: "#/components/schemas/Tensor" } },
            text: { type: "string" },
            requestHash: hex32,
            responseHash: hex32,
            stages: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  stage: { type: "integer" },
                  peerId: { type: "string" },
                  ms: { type: "number" },
                  retries: { type: "integer" },
                },
              },
            },
          },
        },
        Job: {
          type: "object",
          required: ["jobId", "served", "receipts"],
          properties: {
            jobId: { type: "string" },
            served: { type: "integer" },
            requests: { type: "array", items: { type: "object" } },
            stageRecords: { type: "array", items: { type: "object" } },
            receipts: { type: "array", items: { type: "object" } },
          },
        },
        Mesh: {
          type: "object",
          properties: {
            self: { type: "string" },
            peers: {
              type: "array",
              items: {
                type: "object",
                properties: {
                  peerId: { type: "string" },
                  self: { type: "boolean" },
                  stakingAddress: { type: ["string", "null"] },
                  addrs: { type: "array", items: { type: "string" } },
                  gateway: { type: ["string", "null"] },
                  stages: {
                    type: "array",
                    items: {
                      type: "object",
                      properties: { modelId: { type: "string" }, stage: { type: "integer" }, price: { type: "string" } },
                    },
                  },
                  load: { type: "integer" },
                  capacity: { type: "integer" },
                  latencyMs: { type: "number" },
                  served: { type: "integer" },
                  failed: { type: "integer" },
                  penalty: { type: "number" },
                  ageMs: { type: "number" },
                  reach: {
                    type: "string",
                    enum: ["unknown", "reachable", "unreachable"],
                    description: "whether peers outside reach it directly",
                  },
                  relay: {
                    type: ["object", "null"],
                    description: "present when it offers circuit relaying: limits per relayed connection",
                    properties: { dataLimitBytes: { type: "string" }, durationLimitMs: { type: "integer" } },
                  },
                  path: {
                    type: ["string", "null"],
                    enum: ["self", "direct", "punched", "stream", "relayed", null],
                    description: "how this gateway's open hop to it carries tensors (null: no hop open)",
                  },
                  via: { type: ["string", "null"], description: "the relay's peer id when that hop's connection is relayed" },
                },
              },
            },
          },
        },
      },
    },
  };
}
