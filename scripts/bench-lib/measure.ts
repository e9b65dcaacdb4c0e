/** Raw measurements; report.ts turns them into medians, ratios and verdicts. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Impl } from "../../conformance-tests/lib/paths.js";
import type { Pod, SandboxNode } from "../../conformance-tests/lib/sandbox.js";
import { type Chain, type ChainId, CHAINS, type NodeChains, cnitoolJob, directJob, versionJob } from "./chains.js";
import { NOOP_RUNTIMES, type NoopRuntime, noopJob } from "./noop-chain.js";
import { type BatchOutcome, FLOOR, type Job, type JobOutcome, type NetnsEntry, runBatch } from "./timer.js";
import type { ProcessCounts } from "./process-count.js";
import { type ResidentService, unservedReason } from "./resident.js";
import { type TraceRecord, parseTraceLog } from "./trace-log.js";

export type Verb = "VERSION" | "ADD" | "CHECK" | "DEL";
export const VERBS: readonly Verb[] = ["VERSION", "ADD", "CHECK", "DEL"];
export const IMPLS: readonly Impl[] = ["reference", "ours"];

/**
 * The measured sides: the Go reference plugins, ours run by each plugin process itself, and ours
 * served by the resident service (`cni-ts serve`) through the same plugin executables.
 */
export type SideId = Impl | "resident";
export const SIDE_IDS: readonly SideId[] = ["reference", "ours", "resident"];
/** Our two sides, whose calls count as ours (failures, targets). */
export type OurSideId = Exclude<SideId, "reference">;
export const OUR_SIDES: readonly OurSideId[] = ["ours", "resident"];

export interface Sample {
  ms: number;
  cpuMs: number;
  ok: boolean;
  /** Peak RSS of the largest process the timer reaped for this call (cnitool or a plugin). */
  rssKb: number;
}

export interface ConcurrentRun {
  wallMs: number;
  ok: number;
  n: number;
  /**
   * Resident side: of `pluginCalls`, how many the service did not run. Under a burst the service
   * declines calls that waited over 2 s in its one-at-a-time queue and their plugin processes run
   * them, by design; the figure says how much of the wall time is the service's.
   */
  unserved?: number;
  pluginCalls?: number;
}

export interface TracedCall {
  side: OurSideId;
  chain: ChainId;
  verb: Exclude<Verb, "VERSION">;
  /** "cnitool" = through libcni (one line per plugin process), "direct" = the chain's first plugin alone. */
  via: "cnitool" | "direct";
  wallMs: number;
  ok: boolean;
  records: TraceRecord[];
}

export interface Measurements {
  sequential: Record<ChainId, Record<Verb, Partial<Record<SideId, Sample[]>>>>;
  concurrent: Record<ChainId, Record<number, Partial<Record<SideId, { add: ConcurrentRun[]; del: ConcurrentRun[] }>>>>;
  /**
   * Peak RSS (kB) of the chain's first plugin executed directly (its delegates included); for
   * the resident side that is the plugin client, the service's own peak is `resident.peakRssKb`.
   */
  memory: Record<ChainId, Partial<Record<SideId, { add: number[]; del: number[] }>>>;
  cold: {
    available: boolean;
    reason?: string;
    version: Record<Impl, number[]>;
    add: Record<Impl, number[]>;
    floor: number[];
  };
  traced: TracedCall[];
  /** A read-stdin-write-stdout program compiled like ours (VERSION's floor), run beside our VERSION. */
  floor: Sample[];
  /** performance.now() at the minimal program's first line: the runtime's part of our "startup" phase. */
  floorFirstLineMs: number[];
  /** Two no-op plugins chained through libcni, per runtime: the floor of a two-plugin chain. */
  noop: Record<NoopRuntime, { add: Sample[]; del: Sample[] }>;
  /** Processes started per call (strace pass), plugins and the others they started. */
  processes: ProcessCounts;
  failures: string[];
  /** How many of our calls failed (all kinds, beyond the listed first ones). */
  oursFailed: number;
  /** The resident side, when measured: the service's pid and peak RSS, and calls it did not serve. */
  resident?: { pid: number; peakRssKb?: number; unserved: string[] };
}

export interface Side {
  id: SideId;
  /** Whose plugins: the resident side runs our executables. */
  impl: Impl;
  node: SandboxNode;
  chains: NodeChains;
  /** The pod namespace of the sequential rounds (reused: every round ends with DEL). */
  pod: Pod;
  /** Pods for the concurrent runs. */
  pods: Pod[];
  /** Added to every job's environment (CNI_TS_SOCKET: "off", or the resident service's socket). */
  env: Record<string, string>;
  entry: NetnsEntry;
  service?: ResidentService;
}

export interface Sides {
  reference: Side;
  ours: Side;
  resident?: Side;
}

export function sideList(sides: Sides): Side[] {
  return [sides.reference, sides.ours, ...(sides.resident ? [sides.resident] : [])];
}

/** Runs the jobs on the side: its environment added, through its way into the node's namespace. */
export function runSide(side: Side, jobs: readonly Job[], concurrent = false): Promise<BatchOutcome> {
  return runBatch(
    side.node,
    jobs.map((j) => ({ ...j, env: { ...j.env, ...side.env } })),
    concurrent,
    side.entry,
  );
}

export function emptyMeasurements(): Measurements {
  const perImpl = <T>(make: () => T): Record<Impl, T> => ({ reference: make(), ours: make() });
  const perChain = <T>(make: () => T): Record<ChainId, T> => ({ bridge: make(), flannel: make() });
  return {
    sequential: perChain(() => ({ VERSION: {}, ADD: {}, CHECK: {}, DEL: {} })),
    concurrent: perChain(() => ({})),
    memory: perChain(() => ({})),
    cold: { available: true, version: perImpl(() => []), add: perImpl(() => []), floor: [] },
    traced: [],
    floor: [],
    floorFirstLineMs: [],
    noop: { go: { add: [], del: [] }, bun: { add: [], del: [] } },
    processes: {},
    failures: [],
    oursFailed: 0,
  };
}

const MAX_FAILURES = 12;

function noteFailure(m: Measurements, what: string, o: JobOutcome): void {
  if (o.status === 0) return;
  if (OUR_SIDES.some((s) => what.startsWith(`${s} `))) m.oursFailed++;
  const text = (o.error || o.stderr.trim() || o.stdout.trim() || `exit ${o.status}`)
    .split("\n")
    .slice(0, 3)
    .join(" | ");
  const line = `${what}: ${text}`;
  if (m.failures.length < MAX_FAILURES && !m.failures.includes(line)) m.failures.push(line);
}

function sample(o: JobOutcome): Sample {
  return { ms: o.ms, cpuMs: o.cpuMs, ok: o.status === 0, rssKb: o.maxRssKb };
}

/** Rotation: round r starts with the (r mod sides)-th side (two sides: reference first on even rounds). */
export function sideOrder(sides: Sides, round: number): Side[] {
  const all = sideList(sides);
  const k = round % all.length;
  return [...all.slice(k), ...all.slice(0, k)];
}

/** One round: per chain (order alternating too) and side, VERSION (bridge chain only), ADD, CHECK, DEL. */
export async function sequentialRound(m: Measurements | null, sides: Sides, round: number): Promise<void> {
  const chains = round % 2 === 0 ? CHAINS : [...CHAINS].reverse();
  for (const chainId of chains) {
    for (const side of sideOrder(sides, round)) {
      const chain = side.chains[chainId];
      const withVersion = chainId === "bridge";
      const floor = withVersion && side.id === "ours";
      const jobs: Job[] = [
        ...(floor ? [{ argv: [FLOOR], env: {}, stdin: JSON.stringify({ cniVersion: "1.0.0" }) }] : []),
        ...(withVersion ? [versionJob(side.node, "bridge")] : []),
        cnitoolJob(side.node, chain, "add", side.pod),
        cnitoolJob(side.node, chain, "check", side.pod),
        cnitoolJob(side.node, chain, "del", side.pod),
      ];
      const results = side.service
        ? await withServiceCpu(side, side.service, jobs)
        : (await runSide(side, jobs)).results;
      if (!m) continue;
      if (floor) {
        const o = results.shift()!;
        m.floor.push(sample(o));
        const first = (JSON.parse(o.stdout || "{}") as { firstLineMs?: number }).firstLineMs;
        if (typeof first === "number") m.floorFirstLineMs.push(first);
      }
      const verbs: Verb[] = withVersion ? ["VERSION", "ADD", "CHECK", "DEL"] : ["ADD", "CHECK", "DEL"];
      verbs.forEach((verb, i) => {
        const o = results[i]!;
        (m.sequential[chainId][verb][side.id] ??= []).push(sample(o));
        noteFailure(m, `${side.id} ${chainId} ${verb}`, o);
      });
    }
  }
}

/**
 * The jobs one batch each, with the CPU time the service spent while each ran added to the job's
 * own: a served call's work happens in the service, outside the call's process tree.
 */
async function withServiceCpu(side: Side, service: ResidentService, jobs: readonly Job[]): Promise<JobOutcome[]> {
  const out: JobOutcome[] = [];
  for (const job of jobs) {
    const before = service.cpuMs();
    const o = (await runSide(side, [job])).results[0]!;
    out.push({ ...o, cpuMs: o.cpuMs + (service.cpuMs() - before) });
  }
  return out;
}

/** n concurrent ADDs (all released at once), then n concurrent DELs of the same pods. */
export async function concurrentRun(
  m: Measurements,
  sides: Sides,
  chainId: ChainId,
  n: number,
  rep: number,
): Promise<void> {
  for (const side of sideOrder(sides, rep)) {
    const chain = side.chains[chainId];
    const pods = side.pods.slice(0, n);
    if (pods.length < n) throw new Error(`only ${pods.length} pods for ${n} concurrent calls`);
    const slot = ((m.concurrent[chainId][n] ??= {})[side.id] ??= { add: [], del: [] });
    for (const verb of ["add", "del"] as const) {
      // The resident side's calls are traced, to count the ones the service did not run.
      const log = side.service && join(side.node.workDir, `concurrent-${chainId}-${n}-${verb}-${rep}.log`);
      const opts = log ? { env: { CNI_TS_DEBUG_LOG: log } } : {};
      const batch = await runSide(
        side,
        pods.map((p) => cnitoolJob(side.node, chain, verb, p, opts)),
        true,
      );
      const ok = batch.results.filter((r) => r.status === 0).length;
      const run: ConcurrentRun = { wallMs: batch.wallMs, ok, n };
      if (log && side.service) {
        const records = readTrace(log);
        const served = records.filter((r) => unservedReason([r], side.service!.pid) === undefined).length;
        run.pluginCalls = n * chain.list.plugins.length;
        run.unserved = run.pluginCalls - served;
      }
      slot[verb].push(run);
      batch.results.forEach((r) => noteFailure(m, `${side.id} ${chainId} ${n}x concurrent ${verb.toUpperCase()}`, r));
    }
  }
}

/** The chain's first plugin run directly (ADD then DEL): its peak RSS, delegates included. */
export async function memoryRun(m: Measurements, sides: Sides, chainId: ChainId, rep: number): Promise<void> {
  for (const side of sideOrder(sides, rep)) {
    const chain = side.chains[chainId];
    const { results } = await runSide(side, [
      directJob(side.node, chain, "ADD", side.pod),
      directJob(side.node, chain, "DEL", side.pod),
    ]);
    const [add, del] = results as [JobOutcome, JobOutcome];
    const slot = (m.memory[chainId][side.id] ??= { add: [], del: [] });
    if (add.status === 0) slot.add.push(add.maxRssKb);
    if (del.status === 0) slot.del.push(del.maxRssKb);
    noteFailure(m, `${side.id} ${chainId} direct ADD`, add);
    noteFailure(m, `${side.id} ${chainId} direct DEL`, del);
  }
}

/** Cold start: page cache dropped right before a VERSION (and, unless skipped, a libcni ADD). */
export async function coldRun(m: Measurements, sides: Sides, rep: number, withAdd: boolean): Promise<void> {
  for (const side of sideOrder({ reference: sides.reference, ours: sides.ours }, rep)) {
    if (!m.cold.available) return;
    const v = (await runSide(side, [versionJob(side.node, "bridge", true)])).results[0]!;
    if (v.error?.startsWith("drop_caches")) {
      m.cold.available = false;
      m.cold.reason = v.error;
      return;
    }
    if (v.status === 0) m.cold.version[side.impl].push(v.ms);
    noteFailure(m, `${side.impl} cold VERSION`, v);
    if (side.impl === "ours") {
      // The runtime's own cold start: the minimal Bun program, page cache dropped too.
      const f = (await runSide(side, [{ argv: [FLOOR], env: {}, stdin: "{}", dropCaches: true }])).results[0]!;
      if (f.status === 0) m.cold.floor.push(f.ms);
    }
    if (!withAdd) continue;
    const chain = side.chains.flannel;
    const add = { ...cnitoolJob(side.node, chain, "add", side.pod), dropCaches: true };
    const { results } = await runSide(side, [add, cnitoolJob(side.node, chain, "del", side.pod)]);
    if (results[0]!.status === 0) m.cold.add[side.impl].push(results[0]!.ms);
    noteFailure(m, `${side.impl} cold flannel-chain ADD`, results[0]!);
  }
}

/**
 * Our ADD/CHECK/DEL with the debug trace on, each call logging to its own file; returns the calls.
 * On the resident side every call must have been run by the service: the others are noted.
 */
export async function tracedRun(
  m: Measurements,
  side: Side,
  chain: Chain,
  rep: number | string,
): Promise<TracedCall[]> {
  if (side.id === "reference") throw new Error("only our sides write the debug trace");
  const sideId = side.id;
  const logFor = (what: string): string => join(side.node.workDir, `trace-${chain.id}-${rep}-${what}.log`);
  const calls: Array<{ via: TracedCall["via"]; verb: TracedCall["verb"]; job: Job; log: string }> = [];
  for (const verb of ["ADD", "CHECK", "DEL"] as const) {
    const log = logFor(`cnitool-${verb}`);
    calls.push({
      via: "cnitool",
      verb,
      log,
      job: cnitoolJob(side.node, chain, verb.toLowerCase() as "add", side.pod, { env: { CNI_TS_DEBUG_LOG: log } }),
    });
  }
  for (const verb of ["ADD", "DEL"] as const) {
    const log = logFor(`direct-${verb}`);
    calls.push({
      via: "direct",
      verb,
      log,
      job: directJob(side.node, chain, verb, side.pod, { env: { CNI_TS_DEBUG_LOG: log } }),
    });
  }
  const { results } = await runSide(
    side,
    calls.map((c) => c.job),
  );
  return calls.map((c, i) => {
    const o = results[i]!;
    const call: TracedCall = {
      side: sideId,
      chain: chain.id,
      verb: c.verb,
      via: c.via,
      wallMs: o.ms,
      ok: o.status === 0,
      records: readTrace(c.log),
    };
    m.traced.push(call);
    noteFailure(m, `${sideId} ${chain.id} traced ${c.via} ${c.verb}`, o);
    const why = side.service && unservedReason(call.records, side.service.pid);
    if (why) noteUnserved(m, `${chain.id} ${c.verb} (${c.via}): ${why}`);
    return call;
  });
}

/** The trace records of one log file; none when nothing was written (a failure before the trace). */
export function readTrace(file: string): TraceRecord[] {
  try {
    return parseTraceLog(readFileSync(file, "utf8"));
  } catch {
    return [];
  }
}

/** A resident-side call the service did not run: the bench fails, its figures would be ours. */
export function noteUnserved(m: Measurements, what: string): void {
  if (!m.resident) throw new Error(`resident side not measured, yet ${what} was checked`);
  m.resident.unserved.push(what);
}

/** One round of the no-op chain (ADD then DEL) per runtime, alternating which goes first. */
export async function noopRound(
  m: Measurements,
  side: Side,
  chain: Chain,
  dirs: Record<NoopRuntime, string>,
  round: number,
): Promise<void> {
  const order = round % 2 === 0 ? NOOP_RUNTIMES : [...NOOP_RUNTIMES].reverse();
  for (const rt of order) {
    const { results } = await runSide(side, [
      noopJob(side.node, chain, dirs[rt], "add", side.pod),
      noopJob(side.node, chain, dirs[rt], "del", side.pod),
    ]);
    m.noop[rt].add.push(sample(results[0]!));
    m.noop[rt].del.push(sample(results[1]!));
    noteFailure(m, `no-op ${rt} chain ADD`, results[0]!);
  }
}
