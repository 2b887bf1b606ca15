// The gateway's language-model service: for each generation, one provider per block stage that
// can hold the session (free KV cache advertised on gossip ≥ the session's reservation), this
// node's own stages first, then the least loaded; on a failure, the next such provider. A paid
// generation (under a job) goes only to providers the job accepted quotes from (jobFilter).
import type { Directory, StageProvider } from "../mesh/directory.ts";
import type { JobProviderFilter } from "../router/router.ts";
import { KvCacheFullError, LlmNoProviderError } from "./errors.ts";
import type { DecoderGateway, GenerateOptions, StageLink } from "./generate.ts";
import { RemoteStageLink, type SessionClient } from "./session-protocol.ts";
import type { DecoderStageRunner } from "./stage-runner.ts";

export interface LlmModelHandle {
  gateway: DecoderGateway;
  /**
   * Opens nothing: one link per block stage for a generation of `maxLength` positions, and how
   * to replace a stage's link that failed during that generation.
   */
  links(
    maxLength: number,
    signal: AbortSignal,
    o?: { jobId?: string },
  ): Promise<{ links: StageLink[]; replace?: GenerateOptions["replace"]; peerOf: (link: StageLink) => string }>;
}

/** The language models a gateway offers (what its OpenAI-compatible routes serve). */
export interface LlmService {
  models(): Array<{ id: string; created: number }>;
  model(id: string): LlmModelHandle | undefined;
}

export interface MeshLlmServiceInit {
  directory: Directory;
  client: SessionClient;
  selfPeerId: string;
  /** Decoder stages this node serves itself, by model id then stage. */
  local: Map<string, Map<number, DecoderStageRunner>>;
  /** The gateway parts (tokenizer, embed, head) of each decoder this gateway offers. */
  gateways: Map<string, DecoderGateway>;
  /** When the model was published or loaded (seconds), for /v1/models. */
  created?: number;
  /** Which providers may serve a job's generations (the job's quoted providers); absent: any. */
  jobFilter?: JobProviderFilter;
}

/** A provider can hold a session of `need` KV bytes (providers that do not advertise are tried last). */
function canHold(p: StageProvider, need: number): boolean {
  return p.kvFreeBytes === undefined || p.kvFreeBytes >= need;
}

export class MeshLlmService implements LlmService {
  private readonly init: MeshLlmServiceInit;
  private readonly created: number;

  constructor(init: MeshLlmServiceInit) {
    this.init = init;
    this.created = init.created ?? Math.floor(Date.now() / 1000);
  }

  models(): Array<{ id: string; created: number }> {
    return [...this.init.gateways.keys()].map((id) => ({ id, created: this.created }));
  }

  /** Candidate links of one stage, best first, for a session of `maxLength` positions. */
  candidates(
    modelId: string,
    stage: number,
    maxLength: number,
    exclude: ReadonlySet<string> = new Set(),
    allowed: (stage: number, p: StageProvider) => boolean = () => true,
  ): Array<{ peer: string; link: StageLink }> {
    const gw = this.init.gateways.get(modelId);
    const perToken = gw?.manifest.manifest.decoder?.kvBytesPerToken[stage] ?? 0;
    const need = perToken * maxLength;
    const out: Array<{ peer: string; link: StageLink }> = [];
    const self = this.init.local.get(modelId)?.get(stage);
    const listed = this.init.directory.providers(modelId, stage);
    const selfEntry = listed.find((p) => p.peerId === this.init.selfPeerId);
    if (self && !exclude.has(this.init.selfPeerId) && self.canHold(maxLength) && (!selfEntry || allowed(stage, selfEntry)))
      out.push({ peer: this.init.selfPeerId, link: self });
    const remote = listed
      .filter((p) => p.peerId !== this.init.selfPeerId && !exclude.has(p.peerId) && canHold(p, need) && allowed(stage, p))
      .sort(
        (a, b) =>
          Number(b.kvFreeBytes !== undefined) - Number(a.kvFreeBytes !== undefined) ||
          a.load / Math.max(1, a.capacity) - b.load / Math.max(1, b.capacity) ||
          a.latencyMs - b.latencyMs,
      );
    for (const p of remote) out.push({ peer: p.peerId, link: new RemoteStageLink(this.init.client, p.peerId, modelId, stage) });
    return out;
  }

  model(id: string): LlmModelHandle | undefined {
    const gateway = this.init.gateways.get(id);
    if (!gateway) return undefined;
    const stages = gateway.manifest.manifest.stages.length;
    // Per generation: which peer serves each stage now, and the peers that failed it.
    return {
      gateway,
      links: async (maxLength, _signal, o = {}) => {
        const allowed = o.jobId !== undefined && this.init.jobFilter ? await this.init.jobFilter(o.jobId) : undefined;
        const chosen: StageLink[] = [];
        const peers = new Map<StageLink, string>();
        const tried = new Map<number, Set<string>>();
        for (let s = 0; s < stages; s++) {
          const c = this.candidates(id, s, maxLength, new Set(), allowed);
          if (c.length === 0) {
            const served =
              this.init.local.get(id)?.has(s) || this.init.directory.providers(id, s).some((p) => p.peerId !== this.init.selfPeerId);
            if (!served) throw new LlmNoProviderError(`no provider serves stage ${s} of ${id} now`);
            throw new KvCacheFullError(`no provider of stage ${s} of ${id} can hold a session of ${maxLength} positions now`);
          }
          tried.set(s, new Set([c[0].peer]));
          chosen.push(c[0].link);
          peers.set(c[0].link, c[0].peer);
        }
        const replace = async (stage: number) => {
          const seen = tried.get(stage) ?? new Set<string>();
          const next = this.candidates(id, stage, maxLength, seen, allowed)[0];
          if (!next) return null;
          seen.add(next.peer);
          peers.set(next.link, next.peer);
          return next.link;
        };
        return { links: chosen, replace, peerOf: (l: StageLink) => peers.get(l) ?? "" };
      },
    };
  }
}
