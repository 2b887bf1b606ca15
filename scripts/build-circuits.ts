// Builds the zk circuits of circuits/circuits.json: compile (circom2, --O2), development
// ceremony (Powers of Tau by beacon only), Groth16 setup + zkey beacon, verification key and
// Solidity verifier (contracts/verifiers/, renamed per circuit, generated-file header) and a
// keys file (circuits/keys/<instance>.json: constraint count, artifact hashes, vkey).
// Every step is deterministic, so `--check` can prove the committed files match the circuits.
//
//   node scripts/build-circuits.ts                    build every instance, write committed files
//   node scripts/build-circuits.ts digits-head        only the named instances
//   node scripts/build-circuits.ts --test             only instances marked "test": true
//   node scripts/build-circuits.ts --check [...]      build, then fail if committed files differ
//
// THE CEREMONY IS FOR DEVELOPMENT ONLY: its "secrets" come from public beacon strings, so anyone
// can forge proofs against these keys. Production needs a public multi-party Powers of Tau and a
// real phase-2 ceremony per circuit.
import { createHash } from "node:crypto";
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join, relative } from "node:path";
import { circuitConfig, instancePaths, ROOT, type CircuitInstance } from "../node/src/zk/artifacts.ts";
import { spawnTracked, stopChildrenOnExit } from "./lib/procs.ts";
import { exitOnHelp } from "./lib/usage.ts";

const SNARKJS_CLI = join(ROOT, "node_modules/snarkjs/build/cli.cjs");
const CIRCOM2 = join(ROOT, "node_modules/circom2/cli.js");
const SHARED_PTAU_DIR = join(ROOT, "../shared/ptau");
/**
 * This user's cache, shared by every clone on the machine (as npm's is): the dev ptau is the
 * same bytes for all of them (its sha256 is pinned in circuits.json) and costs minutes to make.
 */
const USER_PTAU_DIR = join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "shardmesh/ptau");

exitOnHelp(`usage: npx node scripts/build-circuits.ts [--check] [--test] [instance …]
  builds the circuits of circuits/circuits.json (development ceremony: beacon-only, never for production)
  instance …   only the named instances
  --test       only the instances marked "test": true
  --check      build, then fail if the committed verifiers and keys differ`);
const args = process.argv.slice(2);
const check = args.includes("--check");
const onlyTest = args.includes("--test");
const named = args.filter((a) => !a.startsWith("--"));

const config = circuitConfig();
const started = Date.now();
const since = (t: number) => `${((Date.now() - t) / 1000).toFixed(1)} s`;
function step(msg: string): void {
  console.log(`  ${new Date().toISOString().slice(11, 19)}  ${msg}`);
}

function sha256File(path: string): string {
  return createHash("sha256").update(readFileSync(path)).digest("hex");
}

/** Runs a command; its output is shown only when it fails (or always with `live`). */
async function run(cmd: string, cmdArgs: string[], live = false): Promise<string> {
  const child = spawnTracked(cmd, cmdArgs, { cwd: ROOT, stdio: live ? ["ignore", "inherit", "inherit"] : ["ignore", "pipe", "pipe"] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout?.on("data", (d: Buffer) => out.push(d));
  child.stderr?.on("data", (d: Buffer) => err.push(d));
  const code = await new Promise<number | null>((resolve) => child.once("close", resolve));
  const stdout = Buffer.concat(out).toString();
  if (code !== 0) {
    if (!live) process.stderr.write(`${stdout}${Buffer.concat(err).toString()}`);
    console.error(`✖ ${relative(ROOT, cmdArgs[0] ?? cmd)} ${cmdArgs.slice(1).join(" ")} failed (exit ${code ?? child.signalCode})`);
    process.exit(1);
  }
  return stdout;
}
const snarkjs = (cmdArgs: string[], live = false) => run(process.execPath, [SNARKJS_CLI, ...cmdArgs], live);

/**
 * One build at a time per clone: test files run side by side and each asks for the circuits it
 * needs. The lock is a folder holding the owner's pid; a lock whose owner is gone is taken over.
 */
async function lockBuildFolder(): Promise<void> {
  const lock = join(ROOT, "circuits/build/.lock");
  mkdirSync(dirname(lock), { recursive: true });
  let told = false;
  for (;;) {
    try {
      mkdirSync(lock);
      writeFileSync(join(lock, "pid"), String(process.pid));
      process.on("exit", () => rmSync(lock, { recursive: true, force: true }));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    let owner = Number.NaN;
    try {
      owner = Number(readFileSync(join(lock, "pid"), "utf8"));
    } catch {
      /* being created or removed right now */
    }
    // A lock without a pid is being created, unless it is older than that takes.
    const age = Date.now() - (statSync(lock, { throwIfNoEntry: false })?.mtimeMs ?? 0);
    let alive = Number.isInteger(owner) || age < 10_000;
    if (Number.isInteger(owner)) {
      try {
        process.kill(owner, 0);
      } catch {
        alive = false;
      }
    }
    if (!alive) {
      rmSync(lock, { recursive: true, force: true });
      continue;
    }
    if (!told) console.log(`  waiting for the circuit build of process ${owner} …`);
    told = true;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Copies `from` to `to` through a temporary file (never a half-written file at `to`); false if it cannot. */
function copyInto(from: string, to: string): boolean {
  try {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, `${to}.${process.pid}.tmp`);
    renameSync(`${to}.${process.pid}.tmp`, to);
    return true;
  } catch {
    return false;
  }
}

/**
 * The prepared dev ptau: ../shared/ptau when present, else this user's cache, else this clone's
 * build folder, else regenerated by the recipe (and kept in the user's cache for other clones).
 * Whatever its source, its sha256 must be the one in circuits.json.
 */
async function ptauFile(): Promise<string> {
  const { power, sha256, beacon, beaconIterationsExp, name } = config.ptau;
  const file = `dev-bn128-${power}.ptau`;
  const local = join(ROOT, "circuits/build/ptau", file);
  const cached = join(USER_PTAU_DIR, file);
  for (const candidate of [join(SHARED_PTAU_DIR, file), cached, local]) {
    if (!existsSync(candidate)) continue;
    const got = sha256File(candidate);
    if (got === sha256) return candidate;
    console.warn(`  ! ${candidate} has sha256 ${got}, expected ${sha256}: ignored`);
  }
  console.log(`▶ Powers of Tau (power ${power}) not cached: generating by the dev recipe (prepare takes ~5-6 min on 2 cores)`);
  mkdirSync(dirname(local), { recursive: true });
  const p0 = `${local}.0`;
  const pb = `${local}.beacon`;
  let t = Date.now();
  await snarkjs(["powersoftau", "new", "bn128", String(power), p0]);
  step(`new (${since(t)})`);
  t = Date.now();
  await snarkjs(["powersoftau", "beacon", p0, pb, beacon, String(beaconIterationsExp), `-n=${name}`]);
  step(`beacon (${since(t)})`);
  t = Date.now();
  await snarkjs(["powersoftau", "prepare", "phase2", pb, `${local}.tmp`, "-v"], true);
  step(`prepare phase2 (${since(t)})`);
  renameSync(`${local}.tmp`, local);
  rmSync(p0);
  rmSync(pb);
  const got = sha256File(local);
  if (got !== sha256) {
    console.error(`✖ regenerated ptau has sha256 ${got}, expected ${sha256} (snarkjs version changed?)`);
    process.exit(1);
  }
  if (copyInto(local, cached)) step(`kept in ${cached} for other clones`);
  return local;
}

/** Everything a build depends on: when this hash is unchanged the cached build is reused. */
function inputsHash(inst: CircuitInstance, mainSource: string): string {
  const h = createHash("sha256");
  h.update(mainSource);
  const src = join(ROOT, "circuits/src");
  for (const f of readdirSync(src).sort()) h.update(f).update(readFileSync(join(src, f)));
  for (const pkg of ["circom2", "circomlib", "snarkjs"])
    h.update(pkg).update(readFileSync(join(ROOT, "node_modules", pkg, "package.json")));
  h.update(JSON.stringify(config.ptau)).update(JSON.stringify(config.zkeyBeacon)).update(JSON.stringify(inst));
  return h.digest("hex");
}

function mainSource(inst: CircuitInstance): string {
  const args = Object.values(inst.params).join(", ");
  return [
    "// Generated by scripts/build-circuits.ts from circuits/circuits.json. Do not edit.",
    "pragma circom 2.1.6;",
    `include "../../src/${inst.file}";`,
    `component main {public [${inst.public.join(", ")}]} = ${inst.template}(${args});`,
    "",
  ].join("\n");
}

function verifierSource(inst: CircuitInstance, generated: string): string {
  if (!generated.includes("contract Groth16Verifier {")) throw new Error("unexpected snarkjs verifier template");
  const header = [
    "// SPDX-License-Identifier: GPL-3.0",
    `// GENERATED FILE - DO NOT EDIT. Produced by scripts/build-circuits.ts from circuits/circuits.json`,
    `// instance "${inst.name}" (${inst.template}(${Object.entries(inst.params)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")})),`,
    "// with snarkjs' Groth16 verifier template (GPL-3.0, below). DEVELOPMENT CEREMONY ONLY: the keys",
    "// come from public beacons, anyone can forge proofs; production needs a multi-party ceremony.",
  ].join("\n");
  const body = generated
    .replace(/^\/\/ SPDX-License-Identifier: GPL-3.0\n/, "")
    .replace("contract Groth16Verifier {", `contract ${inst.verifier} {`);
  return `${header}\n${body}`;
}

interface Built {
  inst: CircuitInstance;
  verifier: string;
  keys: string;
}

async function build(inst: CircuitInstance, ptau: () => Promise<string>): Promise<Built> {
  const paths = instancePaths(inst.name);
  const main = mainSource(inst);
  const hash = inputsHash(inst, main);
  const stampFile = join(paths.dir, "stamp.json");
  const fresh =
    existsSync(stampFile) &&
    JSON.parse(readFileSync(stampFile, "utf8")).inputs === hash &&
    [paths.r1cs, paths.wasm, paths.zkey, paths.vkey, paths.verifierBuild].every((p) => existsSync(p));
  if (fresh) {
    console.log(`▶ ${inst.name}: build is up to date`);
  } else {
    console.log(`▶ ${inst.name}: ${inst.description}`);
    rmSync(paths.dir, { recursive: true, force: true });
    mkdirSync(paths.dir, { recursive: true });
    writeFileSync(paths.main, main);
    let t = Date.now();
    const out = await run(process.execPath, [
      CIRCOM2,
      relative(ROOT, paths.main),
      "--O2",
      "--r1cs",
      "--wasm",
      "--sym",
      "-l",
      "node_modules",
      "-o",
      relative(ROOT, paths.dir),
    ]);
    const constraints = /non-linear constraints: (\d+)/.exec(out)?.[1];
    step(`compiled: ${constraints} constraints (${since(t)})`);
    const ptauPath = await ptau();
    t = Date.now();
    const zkey0 = join(paths.dir, `${inst.name}_0000.zkey`);
    await snarkjs(["groth16", "setup", paths.r1cs, ptauPath, zkey0]);
    step(`groth16 setup (${since(t)})`);
    t = Date.now();
    const { hash: beaconHash, iterationsExp, name } = config.zkeyBeacon;
    await snarkjs(["zkey", "beacon", zkey0, paths.zkey, beaconHash, String(iterationsExp), `-n=${name}`]);
    rmSync(zkey0);
    step(`zkey beacon (${since(t)})`);
    await snarkjs(["zkey", "export", "verificationkey", paths.zkey, paths.vkey]);
    await snarkjs(["zkey", "export", "solidityverifier", paths.zkey, paths.verifierBuild]);
    step("exported verification key and Solidity verifier");
    writeFileSync(stampFile, `${JSON.stringify({ inputs: hash }, null, 2)}\n`);
  }
  const info = await snarkjs(["r1cs", "info", paths.r1cs]);
  const constraints = Number(/# of Constraints: (\d+)/.exec(info)?.[1]);
  const keys = {
    instance: inst.name,
    template: inst.template,
    params: inst.params,
    constraints,
    publicSignals: JSON.parse(readFileSync(paths.vkey, "utf8")).nPublic,
    ptauSha256: config.ptau.sha256,
    r1csSha256: sha256File(paths.r1cs),
    wasmSha256: sha256File(paths.wasm),
    zkeySha256: sha256File(paths.zkey),
    verificationKey: JSON.parse(readFileSync(paths.vkey, "utf8")),
  };
  return {
    inst,
    verifier: verifierSource(inst, readFileSync(paths.verifierBuild, "utf8")),
    keys: `${JSON.stringify(keys, null, 2)}\n`,
  };
}

const instances = Object.values(config.instances).filter((i) => (named.length ? named.includes(i.name) : !onlyTest || i.test));
for (const n of named) {
  if (!config.instances[n]) {
    console.error(`unknown circuit instance "${n}"; known: ${Object.keys(config.instances).join(", ")}`);
    process.exit(2);
  }
}
stopChildrenOnExit();
await lockBuildFolder();
let ptauCache: Promise<string> | undefined;
const ptau = () => (ptauCache ??= ptauFile());
let stale = 0;
for (const inst of instances) {
  const out = await build(inst, ptau);
  const targets: [string, string][] = [
    [join(ROOT, "contracts/verifiers", `${inst.verifier}.sol`), out.verifier],
    [join(ROOT, "circuits/keys", `${inst.name}.json`), out.keys],
  ];
  for (const [path, text] of targets) {
    const current = existsSync(path) ? readFileSync(path, "utf8") : undefined;
    if (current === text) continue;
    if (check) {
      console.error(
        `✖ ${relative(ROOT, path)} is ${current === undefined ? "missing" : "stale"}: run npx node scripts/build-circuits.ts ${inst.name}`,
      );
      stale++;
    } else {
      mkdirSync(dirname(path), { recursive: true });
      writeFileSync(path, text);
      step(`wrote ${relative(ROOT, path)}`);
    }
  }
}
if (stale) process.exit(1);
console.log(`✔ circuits ${check ? "checked" : "built"}: ${instances.map((i) => i.name).join(", ")} (${since(started)})`);
