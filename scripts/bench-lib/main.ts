import { PLUGIN_NAMES } from "../../shared/plugins.js";
import { execFileSync } from "node:child_process";
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, relative } from "node:path";
import { ensureCnitool } from "../../conformance-tests/lib/cnitool-build.js";
import { OURS_BIN, REFERENCE_BIN, REPO_ROOT, type Impl } from "../../conformance-tests/lib/paths.js";
import { type SandboxNode, createNode, newToken } from "../../conformance-tests/lib/sandbox.js";
import { CHAINS, cnitoolJob, setUpChains } from "./chains.js";
import { ensureNoopPlugins, setUpNoopChain } from "./noop-chain.js";
import {
  type Side,
  type SideId,
  type Sides,
  coldRun,
  concurrentRun,
  emptyMeasurements,
  memoryRun,
  noopRound,
  sequentialRound,
  runSide,
  sideList,
  tracedRun,
} from "./measure.js";
import { type ResidentService, startResident } from "./resident.js";
import { type BenchOptions, USAGE, UsageError, parseOptions } from "./options.js";
import { type Meta, buildReport, renderMarkdown, renderText } from "./report.js";
import { abortBatches, ensureFloor, ensureTimer, setRealtime, wasAborted } from "./timer.js";
import { renderChart } from "./chart.js";
import { formatImportCosts, measureImportCosts } from "./import-cost.js";
import { processCountRun } from "./process-count.js";
import { formatBreakdown } from "./trace-log.js";

const log = (msg: string): void => void process.stderr.write(`bench: ${msg}\n`);

function preflight(): void {
  if (process.getuid?.() !== 0) throw new Error("run as root: the bench creates network namespaces");
  if (!existsSync(join(OURS_BIN, "cni-ts")))
    throw new Error(`${OURS_BIN}/cni-ts is missing: run 'npm run build' first`);
  if (!existsSync(join(REFERENCE_BIN, "bridge")))
    throw new Error(`${REFERENCE_BIN}/bridge is missing: apt-get install containernetworking-plugins`);
}

function quiet(argv: string[]): string {
  try {
    return execFileSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
  } catch {
    return "?";
  }
}

function describeRun(opts: BenchOptions, oursDir: string): Meta {
  const residentNotes = opts.resident
    ? [
        "Resident side: the same executables of ours with CNI_TS_SOCKET naming a `cni-ts serve` (same build) started in its own sandbox node, entered with `nsenter --net` (the bench's mount namespace, which the service requires of its clients) for the service and for every measured call of that side; the plain side gets CNI_TS_SOCKET=off. Under nsenter /sys shows the root namespace, so the service forgoes our sysfs fast path (conservative for it).",
        "Resident side verified served: a traced ADD/CHECK/DEL per chain before and after the sequential rounds and the strace pass must show each plugin call's trace line marked resident by the service's pid (the bench fails otherwise), so the sequential calls between them were served too (untraced, like the plain side's). Concurrent batches of that side carry the debug trace and count the plugin calls the service ran: it runs one at a time and declines a call that waited over 2 s in its queue, whose plugin process then runs it itself (by design), so a burst's wall time mixes both.",
      ]
    : [];
  const bin = join(oursDir, "bridge");
  const commit = quiet(["git", "-C", REPO_ROOT, "rev-parse", "--short", "HEAD"]);
  const dirty = quiet(["git", "-C", REPO_ROOT, "status", "--porcelain", "--untracked-files=no"])
    ? " + uncommitted changes"
    : "";
  return {
    date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
    command: opts.command,
    host: `Linux ${quiet(["uname", "-r"])}, ${cpus().length} CPUs (${cpus()[0]?.model ?? "?"}), ${Math.round(totalmem() / 2 ** 30)} GB`,
    reference: `Debian containernetworking-plugins ${quiet(["dpkg-query", "-W", "-f=${Version}", "containernetworking-plugins"])} (${REFERENCE_BIN}), libcni client conformance-tests/cnitool (Debian libcni ${quiet(["dpkg-query", "-W", "-f=${Version}", "golang-github-appc-cni-dev"])})`,
    ours: `dist/bin/cni-ts at ${commit}${dirty}, ${(statSync(bin).size / 1e6).toFixed(1)} MB, built ${statSync(bin)
      .mtime.toISOString()
      .replace(/\.\d+Z$/, "Z")}`,
    notes: [
      "Flannel chain: Debian has no Go flannel binary, so the reference side runs bridge + host-local fed the exact delegate config flannel renders for this node, then portmap (upstream's chain minus one Go process); ours runs kube-flannel's conflist (flannel + portmap).",
      "All config lists use cniVersion 1.0.0 (CHECK needs >= 0.4.0); pods have no hostPorts, so portmap has nothing to program.",
      `Rounds alternate which side (and which chain) goes first; ${opts.rounds} measured rounds after ${opts.warmup} warm-up rounds. Times are from fork to reap of the libcni client, measured in the sandbox node's namespace.`,
      ...(opts.realtime === undefined
        ? []
        : [
            `Every measured process ran under SCHED_FIFO priority ${opts.realtime} (--rt), all sides alike (the resident service too), so other load on the machine did not compete for the CPU (kernel-side contention, e.g. the rtnl lock and the disk, remains).`,
          ]),
      ...residentNotes,
    ],
  };
}

/**
 * Our executables as of the start, hard-linked into a private directory: a concurrent
 * `npm run build` renames a new file into dist/bin and must not switch builds mid-run.
 */
function snapshotOurs(): string {
  const dir = mkdtempSync(join(REPO_ROOT, ".tmp", "bench-bin-"));
  for (const name of [...PLUGIN_NAMES, "cni-ts"]) linkSync(join(OURS_BIN, "cni-ts"), join(dir, name));
  return dir;
}

/**
 * A side in its own sandbox node. The resident side's service is started by the caller once the
 * node is registered for teardown (`withService`).
 */
async function makeSide(
  id: SideId,
  token: string,
  podCount: number,
  nodes: SandboxNode[],
  oursDir: string,
  startService?: (node: SandboxNode) => Promise<ResidentService>,
): Promise<Side> {
  const impl: Impl = id === "reference" ? "reference" : "ours";
  const node = await createNode({ impl, token, cniPath: impl === "ours" ? [oursDir] : undefined });
  nodes.push(node);
  const chains = setUpChains(node, impl);
  const pod = await node.addPod("p0");
  const pods = [];
  for (let i = 0; i < podCount; i++) pods.push(await node.addPod(`c${i}`));
  const side: Side = { id, impl, node, chains, pod, pods, env: {}, entry: "ip-netns-exec" };
  if (id === "ours") side.env = { CNI_TS_SOCKET: "off" };
  if (id === "resident") {
    side.entry = "nsenter";
    side.service = await startService!(node);
    side.env = { CNI_TS_SOCKET: side.service.socket };
  }
  return side;
}

/** Checks that our flannel renders the same delegate config the reference side is given. */
async function compareDelegate(sides: Sides): Promise<string> {
  const ours = sides.ours;
  const chain = ours.chains.flannel;
  const { results } = await runSide(ours, [cnitoolJob(ours.node, chain, "add", ours.pod)]);
  try {
    if (results[0]!.status !== 0) return "our flannel ADD failed, so its rendered delegate could not be compared";
    const file = join(ours.chains.flannelDataDir, ours.pod.containerId);
    if (!existsSync(file)) return `our flannel saved no delegate config at ${file}`;
    const saved = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
    const ref = sides.reference.chains.flannel.list;
    const expected = { ...ref.plugins[0], name: ref.name, cniVersion: ref.cniVersion };
    const a = canonical(saved);
    // The two sandboxes differ only in their directories.
    const b = canonical(expected).replaceAll(sides.reference.node.dir, ours.node.dir);
    return a === b
      ? "our flannel's saved delegate config equals the reference side's bridge config (key order aside)"
      : `DELEGATE CONFIGS DIFFER: ours ${a} vs reference ${b}`;
  } finally {
    await runSide(ours, [cnitoolJob(ours.node, chain, "del", ours.pod)]);
  }
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

async function bench(opts: BenchOptions): Promise<void> {
  const started = Date.now();
  preflight();
  const [, , , noopDirs] = await Promise.all([ensureCnitool(), ensureTimer(), ensureFloor(), ensureNoopPlugins()]);
  setRealtime(opts.realtime);
  mkdirSync(join(REPO_ROOT, ".tmp"), { recursive: true });
  const oursDir = snapshotOurs();
  const meta = describeRun(opts, oursDir);
  const loadStart = loadavg()[0]!.toFixed(1);
  const podCount = Math.max(0, ...opts.concurrency);
  const token = newToken();
  const nodes: SandboxNode[] = [];
  let service: ResidentService | undefined;
  const m = emptyMeasurements();
  let tornDown: Promise<void> | undefined;
  // One teardown, whoever asks first (the signal handler waits for the one already running).
  const teardown = (): Promise<void> =>
    (tornDown ??= (async () => {
      if (service) {
        if (m.resident) m.resident.peakRssKb = service.peakRssKb();
        await service.stop();
      }
      for (const n of nodes) await n.teardown().catch((e: Error) => log(`teardown: ${e.message}`));
      rmSync(oursDir, { recursive: true, force: true });
    })());
  const onSignal = (sig: string): void => {
    log(`${sig}: stopping the running batch, then cleaning up`);
    void abortBatches()
      .then(teardown)
      .finally(() => process.exit(130));
  };
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));

  let delegateNote = "";
  try {
    log(`sandboxes: ${opts.resident ? 3 : 2} nodes, ${podCount + 1} pods each`);
    const reference = await makeSide("reference", token, podCount, nodes, oursDir);
    const ours = await makeSide("ours", token, podCount, nodes, oursDir);
    const sides: Sides = { reference, ours };
    if (opts.resident) {
      sides.resident = await makeSide("resident", token, podCount, nodes, oursDir, async (node) => {
        service = await startResident(node, oursDir);
        m.resident = { pid: service.pid, unserved: [] };
        log(`resident side: cni-ts serve pid ${service.pid} on ${service.socket}`);
        return service;
      });
    }

    delegateNote = await compareDelegate(sides);
    log(delegateNote);
    log(`warm-up: ${opts.warmup} rounds`);
    for (let r = 0; r < opts.warmup; r++) await sequentialRound(null, sides, r);
    await checkServed(m, sides.resident, "before the sequential rounds", true);
    log(`sequential: ${opts.rounds} rounds`);
    for (let r = 0; r < opts.rounds; r++) await sequentialRound(m, sides, r);
    await checkServed(m, sides.resident, "after the sequential rounds", false);
    log(`no-op two-plugin chain (Go vs Bun): ${opts.rounds} rounds`);
    const noopChain = setUpNoopChain(ours.node);
    for (let r = 0; r < opts.rounds; r++) await noopRound(m, ours, noopChain, noopDirs, r);
    for (const n of opts.concurrency) {
      for (const chain of CHAINS) {
        const reps = opts.concurrencyReps[n] ?? 1;
        log(`concurrent: ${n} ADDs then ${n} DELs, ${chain} chain, ${reps}x`);
        for (let rep = 0; rep < reps; rep++) await concurrentRun(m, sides, chain, n, rep);
      }
    }
    log(`memory: ${opts.memoryReps}x direct ADD/DEL per chain`);
    for (let rep = 0; rep < opts.memoryReps; rep++) for (const chain of CHAINS) await memoryRun(m, sides, chain, rep);
    if (opts.coldReps > 0) {
      log(`cold start: ${opts.coldReps}x (drops the page cache)`);
      for (let rep = 0; rep < opts.coldReps; rep++) await coldRun(m, sides, rep, opts.coldAdd);
    } else {
      m.cold.available = false;
      m.cold.reason = "skipped (--no-cold)";
    }
    log(`trace: ${opts.traceReps}x our ADD/CHECK/DEL per chain with CNI_TS_DEBUG_LOG`);
    const traced = sideList(sides).filter((s) => s.id !== "reference");
    for (let rep = 0; rep < opts.traceReps; rep++)
      for (const chain of CHAINS) for (const side of traced) await tracedRun(m, side, side.chains[chain], rep);
    if (existsSync("/usr/bin/strace")) {
      log("processes per call: one ADD/CHECK/DEL per chain and side under strace");
      for (const chain of CHAINS) for (const side of sideList(sides)) await processCountRun(m, side, chain);
    } else log("processes per call: skipped (apt-get install strace)");
    if (service && !service.running()) noteServiceGone(m);
  } finally {
    await teardown();
  }

  meta.notes.push(`Flannel delegate check: ${delegateNote}`);
  meta.host += `; load average ${loadStart} at start, ${loadavg()[0]!.toFixed(1)} at end (other work on the machine inflates wall times on both sides; the CPU columns are less sensitive)`;
  let imports: ReturnType<typeof measureImportCosts> | undefined;
  if (opts.importRuns > 0) {
    log(`start-up cost per module: ${opts.importRuns} probe runs`);
    imports = measureImportCosts(opts.importRuns);
  }
  const report = buildReport(m, meta);
  const breakdowns = [
    pickBreakdown(m, "ours", "ADD"),
    pickBreakdown(m, "resident", "ADD"),
    pickBreakdown(m, "resident", "DEL"),
  ].filter((b) => b !== undefined);
  const breakdown = breakdowns.length ? breakdowns.join("\n\n") : undefined;
  const importText = imports ? formatImportCosts(imports, 15) : undefined;
  process.stdout.write(renderText(report));
  if (importText) process.stdout.write(`\n${importText}\n`);
  if (opts.trace) process.stdout.write(`\n${breakdown ?? "no successful traced ADD of ours to break down"}\n`);
  if (opts.json) writeOut(opts.json, `${JSON.stringify({ ...report, breakdown, imports }, null, 2)}\n`);
  const svg = opts.svg ?? (opts.markdown ? opts.markdown.replace(/\.md$/, "") + ".svg" : undefined);
  if (svg) writeOut(svg, renderChart(report));
  if (opts.markdown) {
    const chartRef = svg ? relative(dirname(opts.markdown), svg) : undefined;
    const extra = [
      ...(breakdown
        ? ["", "## Where our flannel-chain calls spend their time (trace)", "", "```", breakdown, "```"]
        : []),
      ...(importText ? ["", "## Start-up cost per module (CPU ms)", "", "```", importText, "```"] : []),
    ];
    writeOut(opts.markdown, renderMarkdown(report, extra, chartRef));
  }
  log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  // Speed is never asserted; a call of ours that failed is (the figures would compare nothing).
  if (m.oursFailed > 0) {
    log(`FAILED: ${m.oursFailed} of our calls failed (the first of each kind are listed above)`);
    process.exitCode = 1;
  }
  // A resident-side call run by the plugin process itself would pass its time off as the service's.
  if (m.resident && m.resident.unserved.length > 0) {
    log(`FAILED: the resident service did not run ${m.resident.unserved.length} checked call(s) of its side:`);
    for (const u of m.resident.unserved.slice(0, 12)) log(`  ${u}`);
    process.exitCode = 1;
  }
}

/**
 * A traced ADD/CHECK/DEL per chain on the resident side, each plugin call of which the service must
 * have run. Before the measured rounds a failure stops the bench at once; the calls between two
 * passing checks were served (they can only be declined for another build or namespace, which the
 * checks rule out, for a queue wait sequential calls never reach, or a service that stopped).
 */
async function checkServed(
  m: ReturnType<typeof emptyMeasurements>,
  side: Side | undefined,
  when: string,
  abort: boolean,
): Promise<void> {
  if (!side?.service || !m.resident) return;
  const before = m.resident.unserved.length;
  for (const chain of CHAINS) await tracedRun(m, side, side.chains[chain], `check-${when.split(" ")[0]}`);
  if (!side.service.running()) noteServiceGone(m);
  const found = m.resident.unserved.slice(before);
  if (found.length === 0) return log(`resident side: every checked call ${when} was run by the service`);
  if (abort) throw new Error(`the resident service did not run the resident side's calls ${when}: ${found.join("; ")}`);
}

function noteServiceGone(m: ReturnType<typeof emptyMeasurements>): void {
  m.resident?.unserved.push("the resident service exited during the run");
}

/** The traced flannel-chain call through libcni with the median wall time, of one side and verb. */
function pickBreakdown(
  m: ReturnType<typeof emptyMeasurements>,
  side: "ours" | "resident",
  verb: "ADD" | "DEL",
): string | undefined {
  const calls = m.traced.filter(
    (c) =>
      c.side === side && c.chain === "flannel" && c.via === "cnitool" && c.verb === verb && c.ok && c.records.length,
  );
  if (!calls.length) return undefined;
  const sorted = [...calls].sort((a, b) => a.wallMs - b.wallMs);
  const c = sorted[(sorted.length - 1) >> 1]!;
  const whose = `One of our flannel-chain ${verb}s${side === "ours" ? "" : " run by the resident service"}`;
  return formatBreakdown(c.records, c.wallMs, `${whose} through libcni (median of ${calls.length} traced):`);
}

function writeOut(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  log(`wrote ${file}`);
}

try {
  await bench(parseOptions(process.argv.slice(2)));
} catch (e) {
  if (e instanceof UsageError) {
    if (e.message) process.stderr.write(`bench: ${e.message}\n`);
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
  } else if (wasAborted()) {
    process.exitCode = 130;
  } else {
    process.stderr.write(`bench: ${(e as Error).stack ?? String(e)}\n`);
    process.exitCode = 1;
  }
}
