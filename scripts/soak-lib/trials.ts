/**
 * Crash-safety trials: kill the plugin chain (SIGKILL through the test build's fault hook) at one
 * point of an ADD or DEL, do what a runtime does next, and audit the node for leaks.
 *   recovery "del": retry DEL with the same arguments (containerd and podman after a failed ADD,
 *                   kubelet after a failed DEL);
 *   recovery "gc":  the runtime gives up on the pod, removes its namespace and later runs GC
 *                   (cniVersion 1.1.0, invoked directly) with the attachments still valid.
 */
import { existsSync, readFileSync, utimesSync } from "node:fs";
import { basename, join } from "node:path";
import { type Chain, podCapArgs } from "./chains.js";
import { listState } from "./files.js";
import { type Audit, type LiveAttachment, auditNode } from "./leaks.js";
import { deleteNetns } from "../../conformance-tests/lib/netns.js";
import type { Pod, SandboxNode } from "../../conformance-tests/lib/sandbox.js";

export type FaultVerb = "ADD" | "DEL" | "GC";
export type Recovery = "del" | "gc";

export interface FaultPoint {
  name: string;
  /** Which pass of the point (chains pass generic points such as exec#1 in several processes). */
  nth: number;
}

export interface TrialResult {
  chain: string;
  verb: FaultVerb;
  point: string;
  recovery: Recovery;
  /** False when the chain finished without passing the point (then nothing was killed). */
  reached: boolean;
  leaks: string[];
  duplicates: string[];
  ms: number;
}

export function pointKey(p: FaultPoint): string {
  return p.nth > 1 ? `${p.name}#${p.nth}` : p.name;
}

/** One chain on one sandbox node, with the runtime's bookkeeping of which pods exist. */
export class FaultLab {
  readonly live: LiveAttachment[] = [];
  /** Leaks already charged to an earlier trial (each leak counts once, against the trial that made it). */
  private readonly knownLeaks = new Set<string>();
  private counter = 0;
  private port = 31000;
  /** The runtime sends the same capability args on DEL as on ADD. */
  private readonly ports = new Map<string, number>();

  constructor(
    readonly node: SandboxNode,
    readonly chain: Chain,
  ) {}

  get idPrefix(): string {
    return `cts-${this.node.token}-`;
  }

  async newPod(): Promise<Pod> {
    return this.node.addPod(`t${String(++this.counter).padStart(4, "0")}`);
  }

  private faultEnv(point: FaultPoint | undefined, log: string | undefined): Record<string, string> {
    const env: Record<string, string> = {};
    if (log) env.CNI_TS_FAULT_LOG = log;
    if (point) Object.assign(env, { CNI_TS_FAULT: point.name, CNI_TS_FAULT_NTH: String(point.nth) });
    return env;
  }

  /** cnitool add; on success the pod joins the live set. */
  async add(pod: Pod, point?: FaultPoint, log?: string): Promise<{ ok: boolean; stderr: string }> {
    const o = await this.node.cnitool("add", this.chain.network, pod, {
      capArgs: podCapArgs(this.portOf(pod)),
      env: this.faultEnv(point, log ?? (point ? this.scratchLog() : undefined)),
    });
    if (o.ok)
      this.live.push({
        containerId: pod.containerId,
        ifname: "eth0",
        ips: resultIps(o.json),
        network: this.chain.network,
      });
    return { ok: o.ok, stderr: o.stderr };
  }

  /** cnitool del; on success the pod leaves the live set. */
  async del(pod: Pod, point?: FaultPoint, log?: string): Promise<{ ok: boolean; stderr: string }> {
    const o = await this.node.cnitool("del", this.chain.network, pod, {
      capArgs: podCapArgs(this.portOf(pod)),
      env: this.faultEnv(point, log ?? (point ? this.scratchLog() : undefined)),
    });
    if (o.ok) this.forget(pod);
    return { ok: o.ok, stderr: o.stderr };
  }

  private portOf(pod: Pod): number {
    let p = this.ports.get(pod.containerId);
    if (p === undefined) this.ports.set(pod.containerId, (p = this.port++));
    return p;
  }

  forget(pod: Pod): void {
    const i = this.live.findIndex((a) => a.containerId === pod.containerId);
    if (i >= 0) this.live.splice(i, 1);
  }

  /** GC for every plugin of the list, as a 1.1.0 runtime sends it, keeping the live attachments. */
  async gc(point?: FaultPoint, log?: string): Promise<string[]> {
    const env = this.faultEnv(point, log ?? (point ? this.scratchLog() : undefined));
    const failures: string[] = [];
    const valid = this.live
      .filter((a) => a.network === this.chain.network)
      .map((a) => ({ containerID: a.containerId, ifname: a.ifname }));
    for (const plugin of this.chain.plugins) {
      const conf = { cniVersion: "1.1.0", name: this.chain.network, ...plugin, "cni.dev/valid-attachments": valid };
      const o = await this.node.invoke(String(plugin.type), "GC", conf, null, { env });
      if (!o.ok)
        failures.push(`GC of ${String(plugin.type)} failed: ${o.stdout.trim()} ${o.stderr.trim()}`.slice(0, 400));
    }
    return failures;
  }

  /** The runtime removes the pod's sandbox (its namespace, and with it the pod end of any veth). */
  async removeSandbox(pod: Pod): Promise<void> {
    await deleteNetns(pod.name);
  }

  audit(checkVeths = true): Promise<Audit> {
    return auditNode(this.node, [this.chain], this.live, { idPrefix: this.idPrefix, checkVeths });
  }

  /** Leaks not seen by an earlier audit of this lab. */
  async newLeaks(): Promise<Audit> {
    const a = await this.audit(true);
    const fresh = a.leaks.filter((l) => !this.knownLeaks.has(l));
    for (const l of fresh) this.knownLeaks.add(l);
    return { leaks: fresh, duplicates: a.duplicates };
  }

  private logCount = 0;
  scratchLog(): string {
    return join(this.node.workDir, `fault-${++this.logCount}.log`);
  }

  /** The points one ADD and one DEL pass, in order (with the pass number of repeated names). */
  async enumerate(): Promise<Record<"ADD" | "DEL", FaultPoint[]>> {
    const pod = await this.newPod();
    const addLog = this.scratchLog();
    const a = await this.add(pod, undefined, addLog);
    if (!a.ok) throw new Error(`ADD without a fault failed: ${a.stderr}`);
    const delLog = this.scratchLog();
    const d = await this.del(pod, undefined, delLog);
    if (!d.ok) throw new Error(`DEL without a fault failed: ${d.stderr}`);
    await this.removeSandbox(pod);
    return { ADD: readPoints(addLog), DEL: readPoints(delLog) };
  }

  /** The points one GC of the list passes while it reclaims a pod whose DEL never came. */
  async enumerateGc(): Promise<FaultPoint[]> {
    const pod = await this.newPod();
    const a = await this.add(pod);
    if (!a.ok) throw new Error(`ADD without a fault failed: ${a.stderr}`);
    this.forget(pod);
    await this.removeSandbox(pod);
    const log = this.scratchLog();
    const failures = await this.gc(undefined, log);
    if (failures.length > 0) throw new Error(failures.join("\n"));
    return readPoints(log);
  }

  /**
   * A GC trial: a pod's DEL never came (its sandbox is gone), GC is killed at `point` while
   * reclaiming it, and the runtime's next GC must finish the job.
   */
  async gcTrial(point: FaultPoint): Promise<TrialResult> {
    const started = Date.now();
    const pod = await this.newPod();
    const problems: string[] = [];
    const a = await this.add(pod);
    if (!a.ok) problems.push(`ADD before the GC fault failed: ${a.stderr.trim().slice(0, 300)}`);
    this.forget(pod);
    await this.removeSandbox(pod);
    const killed = await this.gc(point);
    problems.push(...(await this.gc()));
    const audit = await this.newLeaks();
    return this.result("GC", point, "gc", killed.length > 0, [...problems, ...audit.leaks], audit.duplicates, started);
  }

  /** One trial: fault at `point` during `verb`, then `recovery`, then the audit. */
  async trial(verb: FaultVerb, point: FaultPoint, recovery: Recovery): Promise<TrialResult> {
    const started = Date.now();
    const pod = await this.newPod();
    const problems: string[] = [];
    let reached = true;
    if (verb === "ADD") {
      const r = await this.add(pod, point);
      reached = !r.ok;
    } else {
      const a = await this.add(pod);
      if (!a.ok) problems.push(`ADD before the DEL fault failed: ${a.stderr.trim().slice(0, 300)}`);
      const r = await this.del(pod, point);
      reached = !r.ok;
    }
    if (recovery === "del") {
      const r = await this.del(pod);
      if (!r.ok) problems.push(`DEL retry failed: ${r.stderr.trim().slice(0, 300)}`);
      const audit = await this.newLeaks();
      await this.removeSandbox(pod);
      return this.result(verb, point, recovery, reached, [...problems, ...audit.leaks], audit.duplicates, started);
    }
    this.forget(pod);
    await this.removeSandbox(pod);
    ageTempFiles(this.node.dataDir, GC_LATER_MS);
    problems.push(...(await this.gc()));
    const audit = await this.newLeaks();
    return this.result(verb, point, recovery, reached, [...problems, ...audit.leaks], audit.duplicates, started);
  }

  private result(
    verb: FaultVerb,
    point: FaultPoint,
    recovery: Recovery,
    reached: boolean,
    leaks: string[],
    duplicates: string[],
    started: number,
  ): TrialResult {
    return {
      chain: this.chain.kind,
      verb,
      point: pointKey(point),
      recovery,
      reached,
      leaks,
      duplicates,
      ms: Date.now() - started,
    };
  }

  /** Adds `n` pods without faults (the addresses handed out after the crashes must be unique). */
  async addPods(n: number): Promise<Pod[]> {
    const pods: Pod[] = [];
    for (let i = 0; i < n; i++) {
      const pod = await this.newPod();
      const r = await this.add(pod);
      if (!r.ok) throw new Error(`ADD after the fault trials failed: ${r.stderr}`);
      pods.push(pod);
    }
    return pods;
  }
}

/**
 * A runtime's GC comes long after a sandbox died (containerd and CRI-O run it periodically, minutes
 * apart). Plugins may leave a young temp file alone because it could be a save still in progress
 * (flannel reaps them after 10 minutes), so before a GC recovery the trial ages temp files by this
 * much: what GC then leaves is a leak.
 */
const GC_LATER_MS = 15 * 60 * 1000;

function ageTempFiles(root: string, byMs: number): void {
  for (const f of listState(root)) {
    if (f.isDir || !basename(f.path).startsWith(".")) continue;
    const when = new Date(Date.now() - byMs);
    utimesSync(f.path, when, when);
  }
}

function readPoints(log: string): FaultPoint[] {
  if (!existsSync(log)) return [];
  const seen = new Map<string, number>();
  return readFileSync(log, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map(generalize)
    .map((name) => {
      const nth = (seen.get(name) ?? 0) + 1;
      seen.set(name, nth);
      return { name, nth };
    });
}

/** Point names that carry a pod's address ("host-local:reserve:linked:10.1.2.3") become a prefix family. */
function generalize(name: string): string {
  return name.replace(/:(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9a-f]*:[0-9a-f:]+)$/i, ":*");
}

/** Addresses (no prefix) of a result of any version. */
export function resultIps(json: unknown): string[] {
  const r = json as { ips?: { address: string }[]; ip4?: { ip: string }; ip6?: { ip: string } } | undefined;
  if (!r) return [];
  const cidrs = r.ips ? r.ips.map((i) => i.address) : [r.ip4?.ip, r.ip6?.ip].filter((x): x is string => !!x);
  return cidrs.map((c) => c.split("/")[0]!);
}

/** Figures over many trials. */
export interface FaultFigures {
  trials: number;
  reached: number;
  leaks: number;
  duplicates: number;
  perPoint: Record<string, number>;
  failures: TrialResult[];
}

export function summarize(results: readonly TrialResult[]): FaultFigures {
  const perPoint: Record<string, number> = {};
  for (const r of results) {
    const k = `${r.chain} ${r.verb} ${r.point}`;
    perPoint[k] = (perPoint[k] ?? 0) + 1;
  }
  const failures = results.filter((r) => r.leaks.length > 0 || r.duplicates.length > 0);
  return {
    trials: results.length,
    reached: results.filter((r) => r.reached).length,
    leaks: results.reduce((n, r) => n + r.leaks.length, 0),
    duplicates: results.reduce((n, r) => n + r.duplicates.length, 0),
    perPoint,
    failures,
  };
}
