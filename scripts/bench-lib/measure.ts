/** Raw measurements; report.ts turns them into medians, ratios and verdicts. */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Impl } from "../../conformance-tests/lib/paths.js";
import type { Pod, SandboxNode } from "../../conformance-tests/lib/sandbox.js";
import { type Chain, type ChainId, CHAINS, type NodeChains, cnitoolJob, directJob, versionJob } from "./chains.js";
import { NOOP_RUNTIMES, type NoopRuntime, noopJob } from "./noop-chain.js";
import { FLOOR, type Job, type JobOutcome, runBatch } from "./timer.js";
import type { ProcessCounts } from "./process-count.js";
import { type TraceRecord, parseTraceLog } from "./trace-log.js";

export type Verb = "VERSION" | "ADD" | "CHECK" | "DEL";
export const VERBS: readonly Verb[] = ["VERSION", "ADD", "CHECK", "DEL"];
export const IMPLS: readonly Impl[] = ["reference", "ours"];

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
}

export interface TracedCall {
  chain: ChainId;
  verb: Exclude<Verb, "VERSION">;
  /** "cnitool" = through libcni (one line per plugin process), "direct" = the chain's first plugin alone. */
  via: "cnitool" | "direct";
  wallMs: number;
  ok: boolean;
  records: TraceRecord[];
}

export interface Measurements {
  sequential: Record<ChainId, Record<Verb, Record<Impl, Sample[]>>>;
  concurrent: Record<ChainId, Record<number, Record<Impl, { add: ConcurrentRun[]; del: ConcurrentRun[] }>>>;
  /** Peak RSS (kB) of the chain's first plugin executed directly (its delegates included). */
  memory: Record<ChainId, Record<Impl, { add: number[]; del: number[] }>>;
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
}

export interface Side {
  impl: Impl;
  node: SandboxNode;
  chains: NodeChains;
  /** The pod namespace of the sequential rounds (reused: every round ends with DEL). */
  pod: Pod;
  /** Pods for the concurrent runs. */
  pods: Pod[];
}

export function emptyMeasurements(): Measurements {
  const perImpl = <T>(make: () => T): Record<Impl, T> => ({ reference: make(), ours: make() });
  const perChain = <T>(make: () => T): Record<ChainId, T> => ({ bridge: make(), flannel: make() });
  return {
    sequential: perChain(() => ({
      VERSION: perImpl(() => []),
      ADD: perImpl(() => []),
      CHECK: perImpl(() => []),
      DEL: perImpl(() => []),
    })),
    concurrent: perChain(() => ({})),
    memory: perChain(() => perImpl(() => ({ add: [], del: [] }))),
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
  if (what.startsWith("ours ")) m.oursFailed++;
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

/** Alternation: even rounds start with the reference, odd rounds with ours. */
export function sideOrder(sides: Record<Impl, Side>, round: number): Side[] {
  return round % 2 === 0 ? [sides.reference, sides.ours] : [sides.ours, sides.reference];
}

/** One round: per chain (order alternating too) and side, VERSION (bridge chain only), ADD, CHECK, DEL. */
export async function sequentialRound(m: Measurements | null, sides: Record<Impl, Side>, round: number): Promise<void> {
  const chains = round % 2 === 0 ? CHAINS : [...CHAINS].reverse();
  for (const chainId of chains) {
    for (const side of sideOrder(sides, round)) {
      const chain = side.chains[chainId];
      const withVersion = chainId === "bridge";
      const floor = withVersion && side.impl === "ours";
      const jobs: Job[] = [
        ...(floor ? [{ argv: [FLOOR], env: {}, stdin: JSON.stringify({ cniVersion: "1.0.0" }) }] : []),
        ...(withVersion ? [versionJob(side.node, "bridge")] : []),
        cnitoolJob(side.node, chain, "add", side.pod),
        cnitoolJob(side.node, chain, "check", side.pod),
        cnitoolJob(side.node, chain, "del", side.pod),
      ];
      const { results } = await runBatch(side.node, jobs);
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
        m.sequential[chainId][verb][side.impl].push(sample(o));
        noteFailure(m, `${side.impl} ${chainId} ${verb}`, o);
      });
    }
  }
}

/** n concurrent ADDs (all released at once), then n concurrent DELs of the same pods. */
export async function concurrentRun(
  m: Measurements,
  sides: Record<Impl, Side>,
  chainId: ChainId,
  n: number,
  rep: number,
): Promise<void> {
  for (const side of sideOrder(sides, rep)) {
    const chain = side.chains[chainId];
    const pods = side.pods.slice(0, n);
    if (pods.length < n) throw new Error(`only ${pods.length} pods for ${n} concurrent calls`);
    const slot = (m.concurrent[chainId][n] ??= { reference: { add: [], del: [] }, ours: { add: [], del: [] } })[
      side.impl
    ];
    for (const verb of ["add", "del"] as const) {
      const batch = await runBatch(
        side.node,
        pods.map((p) => cnitoolJob(side.node, chain, verb, p)),
        true,
      );
      const ok = batch.results.filter((r) => r.status === 0).length;
      slot[verb].push({ wallMs: batch.wallMs, ok, n });
      batch.results.forEach((r) => noteFailure(m, `${side.impl} ${chainId} ${n}x concurrent ${verb.toUpperCase()}`, r));
    }
  }
}

/** The chain's first plugin run directly (ADD then DEL): its peak RSS, delegates included. */
export async function memoryRun(
  m: Measurements,
  sides: Record<Impl, Side>,
  chainId: ChainId,
  rep: number,
): Promise<void> {
  for (const side of sideOrder(sides, rep)) {
    const chain = side.chains[chainId];
    const { results } = await runBatch(side.node, [
      directJob(side.node, chain, "ADD", side.pod),
      directJob(side.node, chain, "DEL", side.pod),
    ]);
    const [add, del] = results as [JobOutcome, JobOutcome];
    if (add.status === 0) m.memory[chainId][side.impl].add.push(add.maxRssKb);
    if (del.status === 0) m.memory[chainId][side.impl].del.push(del.maxRssKb);
    noteFailure(m, `${side.impl} ${chainId} direct ADD`, add);
    noteFailure(m, `${side.impl} ${chainId} direct DEL`, del);
  }
}

/** Cold start: page cache dropped right before a VERSION (and, unless skipped, a libcni ADD). */
export async function coldRun(
  m: Measurements,
  sides: Record<Impl, Side>,
  rep: number,
  withAdd: boolean,
): Promise<void> {
  for (const side of sideOrder(sides, rep)) {
    if (!m.cold.available) return;
    const v = (await runBatch(side.node, [versionJob(side.node, "bridge", true)])).results[0]!;
    if (v.error?.startsWith("drop_caches")) {
      m.cold.available = false;
      m.cold.reason = v.error;
      return;
    }
    if (v.status === 0) m.cold.version[side.impl].push(v.ms);
    noteFailure(m, `${side.impl} cold VERSION`, v);
    if (side.impl === "ours") {
      // The runtime's own cold start: the minimal Bun program, page cache dropped too.
      const f = (await runBatch(side.node, [{ argv: [FLOOR], env: {}, stdin: "{}", dropCaches: true }])).results[0]!;
      if (f.status === 0) m.cold.floor.push(f.ms);
    }
    if (!withAdd) continue;
    const chain = side.chains.flannel;
    const add = { ...cnitoolJob(side.node, chain, "add", side.pod), dropCaches: true };
    const { results } = await runBatch(side.node, [add, cnitoolJob(side.node, chain, "del", side.pod)]);
    if (results[0]!.status === 0) m.cold.add[side.impl].push(results[0]!.ms);
    noteFailure(m, `${side.impl} cold flannel-chain ADD`, results[0]!);
  }
}

/** Our ADD/CHECK/DEL with the debug trace on, each call logging to its own file. */
export async function tracedRun(m: Measurements, side: Side, chain: Chain, rep: number): Promise<void> {
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
  const { results } = await runBatch(
    side.node,
    calls.map((c) => c.job),
  );
  calls.forEach((c, i) => {
    const o = results[i]!;
    let text = "";
    try {
      text = readFileSync(c.log, "utf8");
    } catch {
      // no trace written (the plugin failed before its trace, or tracing is broken): records stay empty
    }
    m.traced.push({
      chain: chain.id,
      verb: c.verb,
      via: c.via,
      wallMs: o.ms,
      ok: o.status === 0,
      records: parseTraceLog(text),
    });
    noteFailure(m, `ours ${chain.id} traced ${c.via} ${c.verb}`, o);
  });
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
    const { results } = await runBatch(side.node, [
      noopJob(side.node, chain, dirs[rt], "add", side.pod),
      noopJob(side.node, chain, dirs[rt], "del", side.pod),
    ]);
    m.noop[rt].add.push(sample(results[0]!));
    m.noop[rt].del.push(sample(results[1]!));
    noteFailure(m, `no-op ${rt} chain ADD`, results[0]!);
  }
}
