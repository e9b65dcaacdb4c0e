/** Medians, ratios and target verdicts from the raw measurements; as JSON, a table and Markdown. */
import type { Impl } from "../../conformance-tests/lib/paths.js";
import { type ChainId, CHAINS } from "./chains.js";
import {
  type ConcurrentRun,
  type Measurements,
  OUR_SIDES,
  type OurSideId,
  type Sample,
  type SideId,
  type TracedCall,
  type Verb,
  VERBS,
} from "./measure.js";
import { type Summary, median, ratio, summarize } from "./stats.js";
import { COUNT_VERBS, type ProcessCounts } from "./process-count.js";
import { inProcessMs, processesPerCall } from "./trace-log.js";

export interface Meta {
  date: string;
  command: string;
  host: string;
  reference: string;
  ours: string;
  notes: string[];
}

interface ConcurrentSummary {
  /** Median wall time over the repetitions in which every call succeeded (null if none did). */
  wallMedianMs: number | null;
  allOk: boolean;
  runs: ConcurrentRun[];
}

interface TraceSummary {
  calls: number;
  /** Plugin processes + the processes they started, per call (median). */
  processesPerCall: number | null;
  pluginProcessesPerCall: number | null;
  inProcessMedianMs: number | null;
  wallMedianMs: number | null;
  /** Median of each phase over the calls, per plugin. */
  phases: Record<string, Record<string, number>>;
  peakRssKb: number | null;
}

export interface Target {
  name: string;
  limit: string;
  value: string;
  /**
   * The best ratio reachable with two Bun plugin processes if our work cost exactly what the
   * reference's does: (Bun no-op pair + (reference - Go no-op pair)) / reference.
   */
  floorBound?: string;
  verdict: Verdict;
  /** The same target for the resident side (ours served by `cni-ts serve`), when it was measured. */
  resident?: { value: string; verdict: Verdict };
}

export type Verdict = "met" | "missed" | "no data" | "info";

type SideSummary = Summary & { failedOnly?: boolean };
/** Per side; the resident side only when it was measured. */
type PerSide<T> = Record<Impl, T> & { resident?: T };

export interface Report {
  meta: Meta;
  /** `ratio` is ours / reference, `residentRatio` the resident side's / reference. */
  sequential: Record<
    ChainId,
    Record<
      Verb,
      PerSide<SideSummary> & {
        ratio: number | null;
        residentRatio?: number | null;
        cpu: PerSide<number | null> & { ratio: number | null; residentRatio?: number | null };
      }
    >
  >;
  concurrent: Record<
    ChainId,
    Record<
      string,
      Record<"add" | "del", PerSide<ConcurrentSummary> & { ratio: number | null; residentRatio?: number | null }>
    >
  >;
  /** Resident side: the plugin client's peak (the service's is `resident.peakRssMb`). */
  memory: Record<ChainId, PerSide<{ addPeakMb: number | null; delPeakMb: number | null }>>;
  /** Peak RSS of each of our plugin processes, from the trace (MB); plain side only. */
  oursTracePeakMb: Record<string, number>;
  /** The resident side's service: pid, peak RSS over the run, checked calls it did not run. */
  resident?: { pid: number; peakRssMb: number | null; unserved: string[] };
  /** A minimal stdin->stdout program compiled like ours: the floor VERSION is measured against. */
  floor: Summary;
  floorCpuMs: number | null;
  /** The trace's "startup" phase of a program with no modules of ours (Bun's own share of it). */
  floorFirstLineMs: number | null;
  /** Two no-op plugins through libcni (ADD, DEL), per runtime. */
  noop: Record<"go" | "bun", { add: Summary; del: Summary; addCpuMs: number | null }>;
  cold: {
    available: boolean;
    reason?: string;
    version: Record<Impl, Summary>;
    add: Record<Impl, Summary>;
    floor: Summary;
    versionRatio: number | null;
    addRatio: number | null;
  };
  trace: Record<string, TraceSummary>;
  /** Processes per call through libcni (strace pass): plugin processes and the others they started. */
  processes: ProcessCounts;
  /** Flannel chain median minus the runtime's no-op pair median, per side (ADD, DEL). */
  workBeyondFloor: Record<"add" | "del", PerSide<number | null>>;
  targets: Target[];
  failures: string[];
}

const mb = (kb: number | null | undefined): number | null => (kb == null ? null : Math.round((kb / 1024) * 10) / 10);
const maxOf = (xs: readonly number[]): number | null => (xs.length ? Math.max(...xs) : null);

function concurrentSummary(runs: ConcurrentRun[]): ConcurrentSummary {
  const good = runs.filter((r) => r.ok === r.n);
  return {
    wallMedianMs: median(good.map((r) => r.wallMs)),
    allOk: runs.length > 0 && good.length === runs.length,
    runs,
  };
}

function traceSummary(calls: TracedCall[]): TraceSummary {
  const phases: Record<string, Record<string, number[]>> = {};
  for (const c of calls) {
    for (const r of c.records) {
      const p = (phases[r.plugin] ??= {});
      for (const [k, v] of Object.entries(r.ms)) (p[k] ??= []).push(v);
    }
  }
  const medianPhases: Record<string, Record<string, number>> = {};
  for (const [plugin, byPhase] of Object.entries(phases)) {
    medianPhases[plugin] = Object.fromEntries(
      Object.entries(byPhase).map(([k, v]) => [k, Math.round(median(v)! * 100) / 100]),
    );
  }
  const rss = calls.flatMap((c) => c.records.map((r) => r.maxRssKb ?? 0)).filter((k) => k > 0);
  return {
    calls: calls.length,
    processesPerCall: median(calls.map((c) => processesPerCall(c.records).total)),
    pluginProcessesPerCall: median(calls.map((c) => processesPerCall(c.records).plugins)),
    inProcessMedianMs: median(calls.map((c) => inProcessMs(c.records))),
    wallMedianMs: median(calls.map((c) => c.wallMs)),
    phases: medianPhases,
    peakRssKb: maxOf(rss),
  };
}

/**
 * Successful calls only; but when every reference call failed (Go bridge 1.1.1's CHECK rejects
 * the gateway-less routes flannel configures), its time to failure is still the reference's cost
 * of that verb, so it is summarised and flagged. Our failures are never timed.
 */
function sideSummary(samples: readonly Sample[], timeFailures = false): Summary & { failedOnly?: boolean } {
  const ok = samples.filter((x) => x.ok).map((x) => x.ms);
  if (ok.length === 0 && samples.length > 0 && timeFailures) {
    return {
      ...summarize(
        samples.map((x) => x.ms),
        samples.length,
      ),
      ok: 0,
      failedOnly: true,
    };
  }
  return summarize(ok, samples.length);
}

/** Median CPU time (user + system of the whole process tree) of the successful calls. */
function cpuMedian(samples: readonly Sample[]): number | null {
  const ok = samples.filter((x) => x.ok);
  return median((ok.length ? ok : samples).map((x) => x.cpuMs));
}

/** The figure per side, the resident side's only when it was measured. */
function perSide<T>(resident: boolean, f: (side: SideId) => T): PerSide<T> {
  const out: PerSide<T> = { reference: f("reference"), ours: f("ours") };
  if (resident) out.resident = f("resident");
  return out;
}

export function buildReport(m: Measurements, meta: Meta): Report {
  const res = m.resident !== undefined;
  const sequential = {} as Report["sequential"];
  for (const chain of CHAINS) {
    sequential[chain] = {} as Report["sequential"][ChainId];
    for (const verb of VERBS) {
      const s = m.sequential[chain][verb];
      const wall = perSide(res, (side) => sideSummary(s[side] ?? [], side === "reference"));
      const cpu = perSide(res, (side) => cpuMedian(s[side] ?? []));
      sequential[chain][verb] = {
        ...wall,
        ratio: ratio(wall.ours.median, wall.reference.median),
        ...(res ? { residentRatio: ratio(wall.resident?.median, wall.reference.median) } : {}),
        cpu: {
          ...cpu,
          ratio: ratio(cpu.ours, cpu.reference),
          ...(res ? { residentRatio: ratio(cpu.resident, cpu.reference) } : {}),
        },
      };
    }
  }
  const concurrent = {} as Report["concurrent"];
  for (const chain of CHAINS) {
    concurrent[chain] = {};
    for (const [n, bySide] of Object.entries(m.concurrent[chain])) {
      const entry = {} as Report["concurrent"][ChainId][string];
      for (const verb of ["add", "del"] as const) {
        const c = perSide(res, (side) => concurrentSummary(bySide[side]?.[verb] ?? []));
        entry[verb] = {
          ...c,
          ratio: ratio(c.ours.wallMedianMs, c.reference.wallMedianMs),
          ...(res ? { residentRatio: ratio(c.resident?.wallMedianMs, c.reference.wallMedianMs) } : {}),
        };
      }
      concurrent[chain][n] = entry;
    }
  }
  const memory = {} as Report["memory"];
  for (const chain of CHAINS) {
    memory[chain] = perSide(res, (side) => ({
      addPeakMb: mb(maxOf(m.memory[chain][side]?.add ?? [])),
      delPeakMb: mb(maxOf(m.memory[chain][side]?.del ?? [])),
    }));
  }
  const oursTracePeakMb: Record<string, number> = {};
  for (const c of m.traced.filter((x) => x.side === "ours")) {
    for (const r of c.records) {
      const v = mb(r.maxRssKb);
      if (v != null) oursTracePeakMb[r.plugin] = Math.max(oursTracePeakMb[r.plugin] ?? 0, v);
    }
  }
  const coldVersion = {
    reference: summarize(m.cold.version.reference, m.cold.version.reference.length),
    ours: summarize(m.cold.version.ours, m.cold.version.ours.length),
  };
  const coldAdd = {
    reference: summarize(m.cold.add.reference, m.cold.add.reference.length),
    ours: summarize(m.cold.add.ours, m.cold.add.ours.length),
  };
  const trace: Report["trace"] = {};
  for (const side of OUR_SIDES) {
    for (const chain of CHAINS) {
      for (const via of ["cnitool", "direct"] as const) {
        for (const verb of ["ADD", "CHECK", "DEL"] as const) {
          const calls = m.traced.filter(
            (c) => c.side === side && c.chain === chain && c.via === via && c.verb === verb && c.ok,
          );
          if (calls.length)
            trace[`${side === "resident" ? "resident: " : ""}${chain} ${verb} (${via})`] = traceSummary(calls);
        }
      }
    }
  }
  // The service's peak: its VmHWM at the end, or the highest its trace lines reported.
  const serviceTracePeak = maxOf(
    m.traced.filter((c) => c.side === "resident").flatMap((c) => c.records.map((x) => x.maxRssKb ?? 0)),
  );
  const report: Report = {
    meta,
    sequential,
    concurrent,
    memory,
    oursTracePeakMb,
    floor: sideSummary(m.floor),
    floorCpuMs: cpuMedian(m.floor),
    floorFirstLineMs: median(m.floorFirstLineMs),
    noop: {
      go: { add: sideSummary(m.noop.go.add), del: sideSummary(m.noop.go.del), addCpuMs: cpuMedian(m.noop.go.add) },
      bun: { add: sideSummary(m.noop.bun.add), del: sideSummary(m.noop.bun.del), addCpuMs: cpuMedian(m.noop.bun.add) },
    },
    cold: {
      available: m.cold.available,
      reason: m.cold.reason,
      version: coldVersion,
      add: coldAdd,
      floor: summarize(m.cold.floor, m.cold.floor.length),
      versionRatio: ratio(coldVersion.ours.median, coldVersion.reference.median),
      addRatio: ratio(coldAdd.ours.median, coldAdd.reference.median),
    },
    trace,
    processes: m.processes,
    workBeyondFloor: { add: { reference: null, ours: null }, del: { reference: null, ours: null } },
    targets: [],
    failures: m.failures,
  };
  if (m.resident)
    report.resident = {
      pid: m.resident.pid,
      peakRssMb: mb(maxOf([m.resident.peakRssKb ?? 0, serviceTracePeak ?? 0].filter((k) => k > 0))),
      unserved: m.resident.unserved,
    };
  for (const verb of ["add", "del"] as const) {
    const fl = sequential.flannel[verb === "add" ? "ADD" : "DEL"];
    const minus = (a: number | null | undefined, b: number | null) =>
      a == null || b == null ? null : Math.round((a - b) * 10) / 10;
    // The resident side still starts two Bun plugin processes (they hand the call over): same floor.
    report.workBeyondFloor[verb] = perSide(res, (side) =>
      minus(fl[side]?.median, side === "reference" ? report.noop.go[verb].median : report.noop.bun[verb].median),
    );
  }
  report.targets = evaluateTargets(report);
  return report;
}

/** "ip x2, iptables-restore" from a list of program names. */
function summariseNames(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  return [...counts].map(([n, c]) => (c > 1 ? `${n} x${c}` : n)).join(", ");
}

function startupCell(t: TraceSummary): string {
  const parts = Object.entries(t.phases).map(([plugin, ph]) => `${plugin} ${f1(ph.startup)}`);
  return parts.length ? parts.join(", ") : "-";
}

interface Measured {
  value: string;
  verdict: Verdict;
}

function ratioMeasured(r: number | null | undefined, limit: number): Measured {
  return { value: r == null ? "-" : r.toFixed(2), verdict: r == null ? "no data" : r <= limit ? "met" : "missed" };
}

/**
 * The issue's targets (median ratio ours/reference, same run; issue 17), each judged for our plain
 * side and, when it was measured, for the resident side.
 */
export function evaluateTargets(r: Report): Target[] {
  const t: Target[] = [];
  const sides: OurSideId[] = r.sequential.flannel.ADD.resident ? ["ours", "resident"] : ["ours"];
  const push = (name: string, limit: string, measure: (side: OurSideId) => Measured, floorBound?: string) => {
    const [ours, resident] = sides.map(measure);
    t.push({ name, limit, ...ours!, ...(floorBound ? { floorBound } : {}), ...(resident ? { resident } : {}) });
  };
  const bound = (chain: ChainId, reference: number | null, noop: "add" | "del"): string | undefined => {
    const go = r.noop.go[noop].median;
    const bun = r.noop.bun[noop].median;
    if (chain !== "flannel" || reference == null || go == null || bun == null) return undefined;
    return ((bun + (reference - go)) / reference).toFixed(2);
  };
  const sideRatio = (x: { ratio: number | null; residentRatio?: number | null }, side: OurSideId) =>
    side === "ours" ? x.ratio : x.residentRatio;
  for (const chain of ["flannel", "bridge"] as const) {
    const s = r.sequential[chain];
    const checkLimit = chain === "flannel" ? 2.0 : 1.5;
    for (const [verb, limit, noop] of [
      ["ADD", 1.5, "add"],
      ["DEL", 1.5, "del"],
      ["CHECK", checkLimit, "del"],
    ] as const) {
      const v = s[verb];
      const name = `${chain} chain ${verb} ratio${v.reference.failedOnly ? " (vs the reference's time to failure)" : ""}`;
      push(
        name,
        `<= ${limit.toFixed(2)}`,
        (side) => ratioMeasured(sideRatio(v, side), limit),
        bound(chain, v.reference.median, noop),
      );
    }
  }
  for (const n of ["20", "100"]) {
    const c = r.concurrent.flannel[n]?.add;
    if (!c) continue;
    push(`flannel chain ${n} concurrent ADDs: all succeed, wall ratio`, "<= 1.75", (side) => {
      const runs = c[side]?.runs ?? [];
      const unserved = runs.reduce((k, x) => k + (x.unserved ?? 0), 0);
      const calls = runs.reduce((k, x) => k + (x.pluginCalls ?? 0), 0);
      const m = ratioMeasured(sideRatio(c, side), 1.75);
      if (unserved > 0) m.value += ` (served ${calls - unserved}/${calls} plugin calls)`;
      if (c[side]?.allOk !== false || runs.length === 0) return m;
      return { value: `${m.value} (ok: ${runs.map((x) => `${x.ok}/${x.n}`).join(", ")})`, verdict: "missed" };
    });
  }
  const flannel = r.processes.flannel;
  if (flannel) {
    push("processes started per flannel-chain ADD, CHECK, DEL besides the plugins (no rule changes)", "0", (side) => {
      const counts = COUNT_VERBS.map((v) => flannel[v]?.[side]);
      if (!counts.every((c) => c !== undefined)) return { value: "-", verdict: "no data" };
      const total = counts.reduce((n, c) => n + c!.others, 0);
      return {
        value: COUNT_VERBS.map((v, i) => `${v} ${counts[i]!.others}`).join(", "),
        verdict: total === 0 ? "met" : "missed",
      };
    });
  }
  for (const verb of ["add", "del"] as const) {
    const w = r.workBeyondFloor[verb];
    push(
      `flannel chain ${verb.toUpperCase()}: our work beyond the runtime floor vs the reference's (moonshot)`,
      "ours <= reference",
      (side) => {
        const ours = w[side];
        if (ours == null || w.reference == null) return { value: "-", verdict: "no data" };
        return {
          value: `${side === "ours" ? "ours" : "resident"} ${ours.toFixed(1)} ms, reference ${w.reference.toFixed(1)} ms`,
          verdict: ours <= w.reference ? "met" : "missed",
        };
      },
    );
  }
  const memoryTarget = `peak memory per invocation (ours${sides.length > 1 ? "; resident side: its plugin client" : ""})`;
  push(memoryTarget, "<= 64 MB", (side) => {
    const peaks = [
      ...CHAINS.flatMap((c) => [r.memory[c][side]?.addPeakMb, r.memory[c][side]?.delPeakMb]),
      ...(side === "ours" ? Object.values(r.oursTracePeakMb) : []),
    ].filter((v): v is number => v != null);
    const peak = peaks.length ? Math.max(...peaks) : null;
    const service =
      side === "resident" && r.resident ? ` (the one service per node: ${f1(r.resident.peakRssMb)} MB)` : "";
    return {
      value: peak == null ? "-" : `${peak.toFixed(1)} MB${service}`,
      verdict: peak == null ? "no data" : peak <= 64 ? "met" : "missed",
    };
  });
  const v = r.sequential.bridge.VERSION;
  push("VERSION as fast as start-up allows (ours - minimal Bun stdin->stdout program)", "<= 1.0 ms", (side) => {
    const ours = v[side]?.median;
    const over = ours != null && r.floor.median != null ? ours - r.floor.median : null;
    return {
      value:
        over == null
          ? "-"
          : `${over.toFixed(2)} ms (${side} ${f1(ours)}, floor ${f1(r.floor.median)}, reference ${f1(v.reference.median)})`,
      verdict: over == null ? "no data" : over <= 1.0 ? "met" : "missed",
    };
  });
  return t;
}

// ---- rendering -------------------------------------------------------------------------------

const f1 = (v: number | null | undefined): string => (v == null ? "-" : v.toFixed(1));
const f2 = (v: number | null | undefined): string => (v == null ? "-" : v.toFixed(2));

function seqCell(s: Summary & { failedOnly?: boolean }): string {
  const flag = s.failedOnly ? " (all failed: time to failure)" : s.ok === s.n ? "" : ` (${s.ok}/${s.n} ok)`;
  return `${f1(s.median)} / ${f1(s.p95)}${flag}`;
}

function concCell(c: ConcurrentSummary): string {
  const fails = c.runs.filter((r) => r.ok !== r.n).map((r) => `${r.ok}/${r.n}`);
  const unserved = c.runs.reduce((n, r) => n + (r.unserved ?? 0), 0);
  const calls = c.runs.reduce((n, r) => n + (r.pluginCalls ?? 0), 0);
  const base = `${f1(c.wallMedianMs)}${fails.length ? ` (ok ${fails.join(",")})` : ` (${c.runs.length}x all ok)`}`;
  return calls > 0 ? `${base}; served ${calls - unserved}/${calls} plugin calls` : base;
}

/** Rows of the report's tables, shared by the text and Markdown renderings. */
function tables(r: Report): Array<{ title: string; head: string[]; rows: string[][] }> {
  const res = r.sequential.bridge.ADD.resident !== undefined;
  /** The resident side's cells, only when it was measured. */
  const rc = (...cells: string[]): string[] => (res ? cells : []);
  const seqRows: string[][] = [];
  for (const chain of CHAINS) {
    for (const verb of VERBS) {
      const s = r.sequential[chain][verb];
      if (s.reference.n === 0 && s.ours.n === 0 && !s.resident?.n) continue;
      seqRows.push([
        chain,
        verb,
        seqCell(s.reference),
        seqCell(s.ours),
        f2(s.ratio),
        ...rc(s.resident ? seqCell(s.resident) : "-", f2(s.residentRatio)),
        f1(s.cpu.reference),
        f1(s.cpu.ours),
        f2(s.cpu.ratio),
        ...rc(f1(s.cpu.resident), f2(s.cpu.residentRatio)),
      ]);
    }
  }
  if (r.floor.n > 0)
    seqRows.push([
      "-",
      "minimal Bun program (VERSION floor)",
      "-",
      seqCell(r.floor),
      "-",
      ...rc("-", "-"),
      "-",
      f1(r.floorCpuMs),
      "-",
      ...rc("-", "-"),
    ]);
  const concRows: string[][] = [];
  for (const chain of CHAINS) {
    for (const [n, e] of Object.entries(r.concurrent[chain])) {
      for (const verb of ["add", "del"] as const) {
        const c = e[verb];
        concRows.push([
          chain,
          `${n}x ${verb.toUpperCase()}`,
          concCell(c.reference),
          concCell(c.ours),
          f2(c.ratio),
          ...rc(c.resident ? concCell(c.resident) : "-", f2(c.residentRatio)),
        ]);
      }
    }
  }
  const noopRows: string[][] = [];
  if (r.noop.go.add.n + r.noop.bun.add.n > 0) {
    const fl = r.sequential.flannel;
    const w = r.workBeyondFloor;
    for (const [verb, key, big] of [
      ["ADD", "add", "ADD"],
      ["DEL", "del", "DEL"],
    ] as const) {
      const go = r.noop.go[key];
      const bun = r.noop.bun[key];
      noopRows.push([
        verb,
        seqCell(go),
        seqCell(bun),
        f1(bun.median != null && go.median != null ? bun.median - go.median : null),
        f1(fl[big].reference.median),
        f1(fl[big].ours.median),
        ...rc(f1(fl[big].resident?.median)),
        f1(w[key].reference),
        f1(w[key].ours),
        ...rc(f1(w[key].resident)),
      ]);
    }
  }
  const memCell = (x: { addPeakMb: number | null; delPeakMb: number | null } | undefined) =>
    x ? `${f1(x.addPeakMb)} / ${f1(x.delPeakMb)}` : "-";
  const memRows: string[][] = CHAINS.map((c) => [
    c,
    memCell(r.memory[c].reference),
    memCell(r.memory[c].ours),
    ...rc(memCell(r.memory[c].resident)),
  ]);
  for (const [plugin, v] of Object.entries(r.oursTracePeakMb))
    memRows.push([`${plugin} (trace, any verb)`, "-", f1(v), ...rc("-")]);
  if (r.resident)
    memRows.push(["the resident service (one per node; VmHWM / trace)", "-", "-", f1(r.resident.peakRssMb)]);
  const coldRows: string[][] = r.cold.available
    ? [
        ["VERSION", seqCell(r.cold.version.reference), seqCell(r.cold.version.ours), f2(r.cold.versionRatio)],
        ...(r.cold.floor.n > 0 ? [["minimal Bun program (VERSION floor)", "-", seqCell(r.cold.floor), "-"]] : []),
        ...(r.cold.add.reference.n + r.cold.add.ours.n > 0
          ? [
              [
                "flannel chain ADD (libcni)",
                seqCell(r.cold.add.reference),
                seqCell(r.cold.add.ours),
                f2(r.cold.addRatio),
              ],
            ]
          : []),
      ]
    : [["(unavailable)", r.cold.reason ?? "", "", ""]];
  const traceRows: string[][] = Object.entries(r.trace).map(([k, t]) => [
    k,
    f1(t.wallMedianMs),
    f1(t.inProcessMedianMs),
    t.processesPerCall == null ? "-" : `${t.processesPerCall} (${t.pluginProcessesPerCall} plugin)`,
    startupCell(t),
    t.peakRssKb == null ? "-" : f1(t.peakRssKb / 1024),
  ]);
  const procRows: string[][] = [];
  const procCell = (c: { plugins: number; others: number; otherNames: string[] } | undefined): string =>
    c === undefined
      ? "-"
      : `${c.others}${c.otherNames.length ? ` (${summariseNames(c.otherNames)})` : ""}; plugins ${c.plugins}`;
  for (const chain of CHAINS) {
    for (const verb of COUNT_VERBS) {
      const c = r.processes[chain]?.[verb];
      if (c) procRows.push([chain, verb, procCell(c.reference), procCell(c.ours), ...rc(procCell(c.resident))]);
    }
  }
  const targetRows = r.targets.map((t) => [
    t.name,
    t.limit,
    t.value,
    t.verdict,
    ...rc(t.resident?.value ?? "-", t.resident?.verdict ?? "-"),
    t.floorBound ?? "-",
  ]);
  return [
    {
      title:
        "Sequential calls through libcni, wall ms: median / p95, and CPU ms (user+sys of the whole process tree): median (VERSION: plugin executed directly)" +
        (res
          ? '; "resident": ours served by `cni-ts serve`, whose CPU time during the call (all its threads) is added to the call\'s'
          : ""),
      head: [
        "chain",
        "verb",
        "reference",
        "ours",
        "ratio",
        ...rc("resident", "resident ratio"),
        "ref CPU",
        "ours CPU",
        "CPU ratio",
        ...rc("resident CPU", "resident CPU ratio"),
      ],
      rows: seqRows,
    },
    {
      title:
        "Floor of a two-plugin chain (what kube-flannel's flannel + portmap costs before any work): two no-op plugins through libcni, wall ms median / p95",
      head: [
        "verb",
        "Go no-op pair",
        "Bun no-op pair",
        "Bun - Go",
        "reference flannel chain",
        "our flannel chain",
        ...rc("resident flannel chain"),
        "reference work beyond its floor",
        "our work beyond our floor",
        ...rc("resident work beyond the Bun floor"),
      ],
      rows: noopRows,
    },
    {
      title:
        "Processes started per call through libcni besides the plugins (strace -f of one call each; plugin processes after the semicolon" +
        (res ? "; resident: the service's children for the call, from its trace" : "") +
        ")",
      head: ["chain", "verb", "reference", "ours", ...rc("resident")],
      rows: procRows,
    },
    {
      title: "Concurrent calls, wall ms (median over repetitions; all released at once)",
      head: ["chain", "calls", "reference", "ours", "ratio", ...rc("resident", "resident ratio")],
      rows: concRows,
    },
    {
      title: "Peak memory per invocation, MB (chain's first plugin executed directly, ADD / DEL; delegates included)",
      head: ["chain", "reference", "ours", ...rc("resident (plugin client)")],
      rows: memRows,
    },
    {
      title: "Cold start, ms (page cache dropped before each call): median / p95",
      head: ["call", "reference", "ours", "ratio"],
      rows: coldRows,
    },
    {
      title: `Our invocations traced (CNI_TS_DEBUG_LOG): medians. "startup" is each plugin process's time before its trace began (module loading included); a program with no modules of ours reaches its first line at ${f1(r.floorFirstLineMs)} ms${res ? '. "resident:" rows: the service ran the call (no start-up; "in our code" from when the service began it, peak RSS the service\'s)' : ""}`,
      head: ["call", "wall ms", "in our code ms", "processes per call", "startup ms per plugin", "peak RSS MB"],
      rows: traceRows,
    },
    {
      title:
        "Targets (median ratio ours/reference, same run). Runtime bound: the best ratio two Bun plugin processes can reach if our work cost exactly what the reference's does (Bun no-op pair + reference work) / reference",
      head: ["target", "limit", "ours", "verdict", ...rc("resident", "resident verdict"), "runtime bound"],
      rows: targetRows,
    },
  ];
}

export function renderText(r: Report): string {
  const out: string[] = [
    `cni-ts bench ${r.meta.date}`,
    `command: ${r.meta.command}`,
    `host: ${r.meta.host}`,
    `reference: ${r.meta.reference}`,
    `ours: ${r.meta.ours}`,
  ];
  for (const n of r.meta.notes) out.push(`note: ${n}`);
  for (const t of tables(r)) {
    out.push("", t.title);
    const widths = t.head.map((h, i) => Math.max(h.length, ...t.rows.map((row) => (row[i] ?? "").length)));
    const line = (cells: string[]): string =>
      cells
        .map((c, i) => c.padEnd(widths[i]!))
        .join("  ")
        .trimEnd();
    out.push(line(t.head), line(widths.map((w) => "-".repeat(w))), ...t.rows.map(line));
  }
  if (r.failures.length) out.push("", "Failures (first of each kind):", ...r.failures.map((f) => `  ${f}`));
  if (r.resident?.unserved.length)
    out.push("", "Resident-side calls the service did not run:", ...r.resident.unserved.map((u) => `  ${u}`));
  return `${out.join("\n")}\n`;
}

export function renderMarkdown(r: Report, extra: string[] = [], chart?: string): string {
  const out: string[] = [
    "# Bench: latest results from this machine",
    "",
    `- Date: ${r.meta.date}`,
    `- Command: \`${r.meta.command}\``,
    `- Host: ${r.meta.host}`,
    `- Reference: ${r.meta.reference}`,
    `- Ours: ${r.meta.ours}`,
    ...r.meta.notes.map((n) => `- Note: ${n}`),
    "",
    "How to reproduce: as root on a Debian 12 machine with `golang-go`, `golang-github-appc-cni-dev`,",
    "`containernetworking-plugins` and iproute2 installed, `npm ci && npm run build && scripts/bench --rt`",
    "(`--quick` for a smoke run, `--help` for the options). Each call is timed from fork to reap by a small",
    'Go timer running inside the sandbox node\'s namespace; "CPU" is user + system time of the whole process',
    "tree of the call (libcni client, plugins, the processes they start), which other load on the machine",
    "disturbs far less than wall time. Ratios are ours / reference of the medians of the same run.",
    ...(chart ? ["", `![median wall time per call, reference and ours side by side](${chart})`] : []),
  ];
  for (const t of tables(r)) {
    out.push("", `## ${t.title}`, "", `| ${t.head.join(" | ")} |`, `|${t.head.map(() => "---").join("|")}|`);
    for (const row of t.rows) out.push(`| ${row.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`);
  }
  if (r.failures.length)
    out.push("", "## Failures (first of each kind)", "", ...r.failures.map((f) => `- ${f.replace(/\|/g, "\\|")}`));
  if (r.resident?.unserved.length)
    out.push("", "## Resident-side calls the service did not run", "", ...r.resident.unserved.map((u) => `- ${u}`));
  out.push(...extra);
  return `${out.join("\n")}\n`;
}
