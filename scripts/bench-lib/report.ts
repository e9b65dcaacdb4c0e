/** Medians, ratios and target verdicts from the raw measurements; as JSON, a table and Markdown. */
import type { Impl } from "../../conformance-tests/lib/paths.js";
import { type ChainId, CHAINS } from "./chains.js";
import {
  type ConcurrentRun,
  IMPLS,
  type Measurements,
  type Sample,
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
  verdict: "met" | "missed" | "no data" | "info";
}

export interface Report {
  meta: Meta;
  sequential: Record<
    ChainId,
    Record<
      Verb,
      Record<Impl, Summary & { failedOnly?: boolean }> & {
        ratio: number | null;
        cpu: Record<Impl, number | null> & { ratio: number | null };
      }
    >
  >;
  concurrent: Record<
    ChainId,
    Record<string, Record<"add" | "del", Record<Impl, ConcurrentSummary> & { ratio: number | null }>>
  >;
  memory: Record<ChainId, Record<Impl, { addPeakMb: number | null; delPeakMb: number | null }>>;
  /** Peak RSS of each of our plugin processes, from the trace (MB). */
  oursTracePeakMb: Record<string, number>;
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
  workBeyondFloor: Record<"add" | "del", Record<Impl, number | null>>;
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

export function buildReport(m: Measurements, meta: Meta): Report {
  const sequential = {} as Report["sequential"];
  for (const chain of CHAINS) {
    sequential[chain] = {} as Report["sequential"][ChainId];
    for (const verb of VERBS) {
      const s = m.sequential[chain][verb];
      const reference = sideSummary(s.reference, true);
      const ours = sideSummary(s.ours);
      const cpu = { reference: cpuMedian(s.reference), ours: cpuMedian(s.ours) };
      sequential[chain][verb] = {
        reference,
        ours,
        ratio: ratio(ours.median, reference.median),
        cpu: { ...cpu, ratio: ratio(cpu.ours, cpu.reference) },
      };
    }
  }
  const concurrent = {} as Report["concurrent"];
  for (const chain of CHAINS) {
    concurrent[chain] = {};
    for (const [n, byImpl] of Object.entries(m.concurrent[chain])) {
      const entry = {} as Report["concurrent"][ChainId][string];
      for (const verb of ["add", "del"] as const) {
        const reference = concurrentSummary(byImpl.reference[verb]);
        const ours = concurrentSummary(byImpl.ours[verb]);
        entry[verb] = { reference, ours, ratio: ratio(ours.wallMedianMs, reference.wallMedianMs) };
      }
      concurrent[chain][n] = entry;
    }
  }
  const memory = {} as Report["memory"];
  for (const chain of CHAINS) {
    memory[chain] = {} as Report["memory"][ChainId];
    for (const impl of IMPLS) {
      memory[chain][impl] = {
        addPeakMb: mb(maxOf(m.memory[chain][impl].add)),
        delPeakMb: mb(maxOf(m.memory[chain][impl].del)),
      };
    }
  }
  const oursTracePeakMb: Record<string, number> = {};
  for (const c of m.traced) {
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
  for (const chain of CHAINS) {
    for (const via of ["cnitool", "direct"] as const) {
      for (const verb of ["ADD", "CHECK", "DEL"] as const) {
        const calls = m.traced.filter((c) => c.chain === chain && c.via === via && c.verb === verb && c.ok);
        if (calls.length) trace[`${chain} ${verb} (${via})`] = traceSummary(calls);
      }
    }
  }
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
  for (const verb of ["add", "del"] as const) {
    const fl = sequential.flannel[verb === "add" ? "ADD" : "DEL"];
    const minus = (a: number | null, b: number | null) =>
      a == null || b == null ? null : Math.round((a - b) * 10) / 10;
    report.workBeyondFloor[verb] = {
      reference: minus(fl.reference.median, report.noop.go[verb].median),
      ours: minus(fl.ours.median, report.noop.bun[verb].median),
    };
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

function ratioTarget(name: string, r: number | null, limit: number): Target {
  return {
    name,
    limit: `<= ${limit.toFixed(2)}`,
    value: r == null ? "-" : r.toFixed(2),
    verdict: r == null ? "no data" : r <= limit ? "met" : "missed",
  };
}

/** The issue's targets (median ratio ours/reference, same run; issue 17). */
export function evaluateTargets(r: Report): Target[] {
  const t: Target[] = [];
  const bound = (chain: ChainId, reference: number | null, noop: "add" | "del"): string | undefined => {
    const go = r.noop.go[noop].median;
    const bun = r.noop.bun[noop].median;
    if (chain !== "flannel" || reference == null || go == null || bun == null) return undefined;
    return ((bun + (reference - go)) / reference).toFixed(2);
  };
  for (const chain of ["flannel", "bridge"] as const) {
    const s = r.sequential[chain];
    const checkLimit = chain === "flannel" ? 2.0 : 1.5;
    t.push({
      ...ratioTarget(`${chain} chain ADD ratio`, s.ADD.ratio, 1.5),
      floorBound: bound(chain, s.ADD.reference.median, "add"),
    });
    t.push({
      ...ratioTarget(`${chain} chain DEL ratio`, s.DEL.ratio, 1.5),
      floorBound: bound(chain, s.DEL.reference.median, "del"),
    });
    const check = {
      ...ratioTarget(`${chain} chain CHECK ratio`, s.CHECK.ratio, checkLimit),
      floorBound: bound(chain, s.CHECK.reference.median, "del"),
    };
    t.push(
      s.CHECK.reference.failedOnly ? { ...check, name: `${check.name} (vs the reference's time to failure)` } : check,
    );
  }
  for (const n of ["20", "100"]) {
    const c = r.concurrent.flannel[n]?.add;
    if (!c) continue;
    const tt = ratioTarget(`flannel chain ${n} concurrent ADDs: all succeed, wall ratio`, c.ratio, 1.75);
    if (!c.ours.allOk) {
      const failed = c.ours.runs.map((x) => `${x.ok}/${x.n}`).join(", ");
      t.push({ ...tt, value: `${tt.value} (ok: ${failed})`, verdict: "missed" });
    } else t.push(tt);
  }
  const flannel = r.processes.flannel;
  if (flannel) {
    const counts = COUNT_VERBS.map((v) => flannel[v]?.ours);
    const known = counts.every((c) => c !== undefined);
    const total = counts.reduce((n, c) => n + (c?.others ?? 0), 0);
    t.push({
      name: "processes started per flannel-chain ADD, CHECK, DEL besides the plugins (no rule changes)",
      limit: "0",
      value: known ? COUNT_VERBS.map((v, i) => `${v} ${counts[i]!.others}`).join(", ") : "-",
      verdict: !known ? "no data" : total === 0 ? "met" : "missed",
    });
  }
  for (const verb of ["add", "del"] as const) {
    const w = r.workBeyondFloor[verb];
    t.push({
      name: `flannel chain ${verb.toUpperCase()}: our work beyond the runtime floor vs the reference's (moonshot)`,
      limit: "ours <= reference",
      value:
        w.ours == null || w.reference == null
          ? "-"
          : `ours ${w.ours.toFixed(1)} ms, reference ${w.reference.toFixed(1)} ms`,
      verdict: w.ours == null || w.reference == null ? "no data" : w.ours <= w.reference ? "met" : "missed",
    });
  }
  const peaks = [
    ...CHAINS.flatMap((c) => [r.memory[c].ours.addPeakMb, r.memory[c].ours.delPeakMb]),
    ...Object.values(r.oursTracePeakMb),
  ].filter((v): v is number => v != null);
  const peak = peaks.length ? Math.max(...peaks) : null;
  t.push({
    name: "peak memory per invocation (ours)",
    limit: "<= 64 MB",
    value: peak == null ? "-" : `${peak.toFixed(1)} MB`,
    verdict: peak == null ? "no data" : peak <= 64 ? "met" : "missed",
  });
  const v = r.sequential.bridge.VERSION;
  const over = v.ours.median != null && r.floor.median != null ? v.ours.median - r.floor.median : null;
  t.push({
    name: "VERSION as fast as start-up allows (ours - minimal Bun stdin->stdout program)",
    limit: "<= 1.0 ms",
    value:
      over == null
        ? "-"
        : `${over.toFixed(2)} ms (ours ${f1(v.ours.median)}, floor ${f1(r.floor.median)}, reference ${f1(v.reference.median)})`,
    verdict: over == null ? "no data" : over <= 1.0 ? "met" : "missed",
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
  return `${f1(c.wallMedianMs)}${fails.length ? ` (ok ${fails.join(",")})` : ` (${c.runs.length}x all ok)`}`;
}

/** Rows of the report's tables, shared by the text and Markdown renderings. */
function tables(r: Report): Array<{ title: string; head: string[]; rows: string[][] }> {
  const seqRows: string[][] = [];
  for (const chain of CHAINS) {
    for (const verb of VERBS) {
      const s = r.sequential[chain][verb];
      if (s.reference.n === 0 && s.ours.n === 0) continue;
      seqRows.push([
        chain,
        verb,
        seqCell(s.reference),
        seqCell(s.ours),
        f2(s.ratio),
        f1(s.cpu.reference),
        f1(s.cpu.ours),
        f2(s.cpu.ratio),
      ]);
    }
  }
  if (r.floor.n > 0)
    seqRows.push(["-", "minimal Bun program (VERSION floor)", "-", seqCell(r.floor), "-", "-", f1(r.floorCpuMs), "-"]);
  const concRows: string[][] = [];
  for (const chain of CHAINS) {
    for (const [n, e] of Object.entries(r.concurrent[chain])) {
      for (const verb of ["add", "del"] as const) {
        concRows.push([
          chain,
          `${n}x ${verb.toUpperCase()}`,
          concCell(e[verb].reference),
          concCell(e[verb].ours),
          f2(e[verb].ratio),
        ]);
      }
    }
  }
  const noopRows: string[][] = [];
  if (r.noop.go.add.n + r.noop.bun.add.n > 0) {
    const fl = r.sequential.flannel;
    const w = r.workBeyondFloor;
    noopRows.push([
      "ADD",
      seqCell(r.noop.go.add),
      seqCell(r.noop.bun.add),
      f1(
        r.noop.bun.add.median != null && r.noop.go.add.median != null
          ? r.noop.bun.add.median - r.noop.go.add.median
          : null,
      ),
      f1(fl.ADD.reference.median),
      f1(fl.ADD.ours.median),
      f1(w.add.reference),
      f1(w.add.ours),
    ]);
    noopRows.push([
      "DEL",
      seqCell(r.noop.go.del),
      seqCell(r.noop.bun.del),
      f1(
        r.noop.bun.del.median != null && r.noop.go.del.median != null
          ? r.noop.bun.del.median - r.noop.go.del.median
          : null,
      ),
      f1(fl.DEL.reference.median),
      f1(fl.DEL.ours.median),
      f1(w.del.reference),
      f1(w.del.ours),
    ]);
  }
  const memRows: string[][] = CHAINS.map((c) => [
    c,
    `${f1(r.memory[c].reference.addPeakMb)} / ${f1(r.memory[c].reference.delPeakMb)}`,
    `${f1(r.memory[c].ours.addPeakMb)} / ${f1(r.memory[c].ours.delPeakMb)}`,
  ]);
  for (const [plugin, v] of Object.entries(r.oursTracePeakMb))
    memRows.push([`${plugin} (trace, any verb)`, "-", f1(v)]);
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
      if (c) procRows.push([chain, verb, procCell(c.reference), procCell(c.ours)]);
    }
  }
  const targetRows = r.targets.map((t) => [t.name, t.limit, t.value, t.floorBound ?? "-", t.verdict]);
  return [
    {
      title:
        "Sequential calls through libcni, wall ms: median / p95, and CPU ms (user+sys of the whole process tree): median (VERSION: plugin executed directly)",
      head: ["chain", "verb", "reference", "ours", "ratio", "ref CPU", "ours CPU", "CPU ratio"],
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
        "reference work beyond its floor",
        "our work beyond our floor",
      ],
      rows: noopRows,
    },
    {
      title:
        "Processes started per call through libcni besides the plugins (strace -f of one call each; plugin processes after the semicolon)",
      head: ["chain", "verb", "reference", "ours"],
      rows: procRows,
    },
    {
      title: "Concurrent calls, wall ms (median over repetitions; all released at once)",
      head: ["chain", "calls", "reference", "ours", "ratio"],
      rows: concRows,
    },
    {
      title: "Peak memory per invocation, MB (chain's first plugin executed directly, ADD / DEL; delegates included)",
      head: ["chain", "reference", "ours"],
      rows: memRows,
    },
    {
      title: "Cold start, ms (page cache dropped before each call): median / p95",
      head: ["call", "reference", "ours", "ratio"],
      rows: coldRows,
    },
    {
      title: `Our invocations traced (CNI_TS_DEBUG_LOG): medians. "startup" is each plugin process's time before its trace began (module loading included); a program with no modules of ours reaches its first line at ${f1(r.floorFirstLineMs)} ms`,
      head: ["call", "wall ms", "in our code ms", "processes per call", "startup ms per plugin", "peak RSS MB"],
      rows: traceRows,
    },
    {
      title:
        "Targets (median ratio ours/reference, same run). Runtime bound: the best ratio two Bun plugin processes can reach if our work cost exactly what the reference's does (Bun no-op pair + reference work) / reference",
      head: ["target", "limit", "measured", "runtime bound", "verdict"],
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
  out.push(...extra);
  return `${out.join("\n")}\n`;
}
