/**
 * Reading the debug trace our plugins write (shared/cni/trace.ts): one JSON line per plugin
 * process with per-phase milliseconds, the processes it started and its peak RSS.
 */
export interface TraceProcess {
  cmd: string;
  ms: number;
  status: number;
}

export interface TraceRecord {
  plugin: string;
  verb: string;
  /** Phases in the order they were logged; "total" is the in-process time up to the log line. */
  ms: Record<string, number>;
  processes: TraceProcess[];
  /** Netlink requests made in-process, each as its equivalent ip command line. */
  netlink: TraceProcess[];
  maxRssKb?: number;
  error?: { code: number; msg: string };
  /** The writing process; with `resident`, the service that ran the call for a plugin client. */
  pid?: number;
  resident?: boolean;
}

export function parseTraceLog(text: string): TraceRecord[] {
  const out: TraceRecord[] = [];
  for (const line of text.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    try {
      const r = JSON.parse(line) as Partial<TraceRecord>;
      out.push({
        plugin: String(r.plugin ?? "?"),
        verb: String(r.verb ?? "?"),
        ms: r.ms ?? {},
        processes: Array.isArray(r.processes) ? r.processes : [],
        netlink: Array.isArray(r.netlink) ? r.netlink : [],
        maxRssKb: r.maxRssKb,
        error: r.error,
        pid: typeof r.pid === "number" ? r.pid : undefined,
        resident: r.resident === true,
      });
    } catch {
      // a torn line (a crashed writer) is skipped
    }
  }
  return out;
}

/** Processes started for one call: the plugin processes (one trace line each) plus their children. */
export function processesPerCall(records: readonly TraceRecord[]): {
  plugins: number;
  children: number;
  total: number;
} {
  const children = records.reduce((n, r) => n + r.processes.length, 0);
  return { plugins: records.length, children, total: records.length + children };
}

/** The in-process time of all plugin processes of one call (sum of their "total"). */
export function inProcessMs(records: readonly TraceRecord[]): number {
  return records.reduce((s, r) => s + (r.ms.total ?? 0), 0);
}

/** Human breakdown of one call, plugin by plugin: phases, then the processes it started. */
export function formatBreakdown(records: readonly TraceRecord[], wallMs: number, title: string): string {
  const lines = [title];
  for (const r of records) {
    const rss = r.maxRssKb ? `, peak RSS ${(r.maxRssKb / 1024).toFixed(1)} MB` : "";
    lines.push(
      `  ${r.plugin} ${r.verb}: ${fmt(r.ms.total)} ms in our code${rss}${r.error ? ` (error ${r.error.code}: ${r.error.msg})` : ""}`,
    );
    for (const [phase, ms] of Object.entries(r.ms)) {
      if (phase === "total") continue;
      lines.push(`    ${phase.padEnd(34)} ${fmt(ms).padStart(8)} ms`);
    }
    const procMs = r.processes.reduce((s, p) => s + p.ms, 0);
    lines.push(`    processes started: ${r.processes.length} (${fmt(procMs)} ms waiting for them)`);
    for (const p of r.processes)
      lines.push(`      ${fmt(p.ms).padStart(7)} ms  ${p.cmd}${p.status !== 0 ? ` (exit ${p.status})` : ""}`);
    if (r.netlink.length > 0) {
      const nlMs = r.netlink.reduce((s, p) => s + p.ms, 0);
      lines.push(`    netlink requests: ${r.netlink.length} (${fmt(nlMs)} ms in the kernel)`);
      for (const p of r.netlink)
        lines.push(`      ${fmt(p.ms).padStart(7)} ms  ${p.cmd}${p.status !== 0 ? ` (errno ${p.status})` : ""}`);
    }
  }
  const inside = inProcessMs(records);
  const outside = records.every((r) => r.resident)
    ? `libcni client; exec, runtime start-up, hand-over and exit of ${records.length} plugin process(es) whose calls the service ran`
    : `libcni client, exec + runtime start-up of ${records.length} plugin process(es), exit`;
  lines.push(
    `  wall ${fmt(wallMs)} ms = ${fmt(inside)} ms in our code + ${fmt(wallMs - inside)} ms outside it (${outside})`,
  );
  return lines.join("\n");
}

function fmt(ms: number | undefined): string {
  return ms === undefined ? "?" : ms.toFixed(2);
}
