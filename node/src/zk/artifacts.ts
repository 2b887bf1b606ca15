// Where the circuit instances of circuits/circuits.json and their build artifacts live.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { ZkArtifactMissingError } from "./errors.ts";

/** The repository root (this file is node/src/zk/artifacts.ts). */
export const ROOT = new URL("../../../", import.meta.url).pathname;

export interface CircuitInstance {
  readonly name: string;
  readonly description: string;
  readonly file: string;
  readonly template: string;
  /** Template arguments in order; for Int8DenseHead: N, M, SHIFT. */
  readonly params: Readonly<Record<string, number>>;
  readonly public: readonly string[];
  /** Contract name of the generated verifier in contracts/verifiers/. */
  readonly verifier: string;
  /** Built before `npm test -- circuits` (the bigger heads are built by the build script and bench). */
  readonly test: boolean;
}

export interface CircuitConfig {
  readonly ptau: { power: number; beacon: string; beaconIterationsExp: number; name: string; sha256: string };
  readonly zkeyBeacon: { hash: string; iterationsExp: number; name: string };
  readonly instances: Readonly<Record<string, CircuitInstance>>;
}

export function circuitConfig(root = ROOT): CircuitConfig {
  const raw = JSON.parse(readFileSync(join(root, "circuits/circuits.json"), "utf8")) as {
    ptau: CircuitConfig["ptau"];
    zkeyBeacon: CircuitConfig["zkeyBeacon"];
    instances: Record<string, Omit<CircuitInstance, "name">>;
  };
  const instances: Record<string, CircuitInstance> = {};
  for (const [name, inst] of Object.entries(raw.instances)) instances[name] = { ...inst, name };
  return { ptau: raw.ptau, zkeyBeacon: raw.zkeyBeacon, instances };
}

export interface InstancePaths {
  readonly dir: string;
  readonly main: string;
  readonly r1cs: string;
  readonly wasm: string;
  readonly zkey: string;
  readonly vkey: string;
  readonly verifierBuild: string;
  /** Committed: constraint count, artifact hashes and the verification key. */
  readonly keys: string;
}

export function instancePaths(name: string, root = ROOT): InstancePaths {
  const dir = join(root, "circuits/build", name);
  return {
    dir,
    main: join(dir, `${name}.circom`),
    r1cs: join(dir, `${name}.r1cs`),
    wasm: join(dir, `${name}_js`, `${name}.wasm`),
    zkey: join(dir, `${name}.zkey`),
    vkey: join(dir, "vkey.json"),
    verifierBuild: join(dir, "verifier.sol"),
    keys: join(root, "circuits/keys", `${name}.json`),
  };
}

/** Paths of a built instance; throws ZkArtifactMissingError when the build is missing. */
export function builtInstance(name: string, root = ROOT): InstancePaths & { instance: CircuitInstance } {
  const instance = circuitConfig(root).instances[name];
  if (!instance) throw new ZkArtifactMissingError(`unknown circuit instance "${name}"`);
  const paths = instancePaths(name, root);
  for (const p of [paths.wasm, paths.zkey]) {
    if (!existsSync(p)) throw new ZkArtifactMissingError(`${p} is missing: run npx node scripts/build-circuits.ts ${name}`);
  }
  return { ...paths, instance };
}
