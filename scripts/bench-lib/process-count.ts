/**
 * Processes started per call, both sides alike: one ADD, CHECK and DEL per chain through libcni
 * under `strace -f -e trace=execve` (a separate pass, never timed). Every successful execve is a
 * process; the client itself and executables from the chain's CNI_PATH are the plugins, anything
 * else (ip, iptables, nsenter, …) is what the plugins started. On the resident side the plugin
 * processes only hand their calls over, and what the service starts for a call (outside strace's
 * view) comes from the call's debug trace, which also proves the service ran it.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { type ChainId, cnitoolJob } from "./chains.js";
import { type Measurements, type Side, type SideId, noteUnserved, readTrace, runSide } from "./measure.js";
import { unservedReason } from "./resident.js";
import type { TraceRecord } from "./trace-log.js";

export type CountVerb = "ADD" | "CHECK" | "DEL";
export const COUNT_VERBS: readonly CountVerb[] = ["ADD", "CHECK", "DEL"];

export interface ProcessCount {
  plugins: number;
  others: number;
  /** The other programs by name, in order (what an operator would look for). */
  otherNames: string[];
}

export type ProcessCounts = Partial<Record<ChainId, Partial<Record<CountVerb, Partial<Record<SideId, ProcessCount>>>>>>;

/** Counts the successful execve calls of an `strace -f -e trace=execve` log. */
export function countExecs(log: string, pluginDirs: readonly string[]): ProcessCount {
  const out: ProcessCount = { plugins: 0, others: 0, otherNames: [] };
  let first = true;
  for (const line of log.split("\n")) {
    const m = /execve\("([^"]+)",.*\)\s+=\s+0\s*$/.exec(line);
    if (!m) continue;
    const path = m[1]!;
    if (first) {
      first = false; // the libcni client
      continue;
    }
    if (pluginDirs.some((d) => path.startsWith(`${d.replace(/\/$/, "")}/`))) out.plugins++;
    else {
      out.others++;
      out.otherNames.push(path.slice(path.lastIndexOf("/") + 1));
    }
  }
  return out;
}

/** Adds the processes the resident service started for a call (from its trace) to the strace count. */
export function addServiceChildren(count: ProcessCount, records: readonly TraceRecord[]): ProcessCount {
  const names = records.flatMap((r) => r.processes.map((p) => p.cmd.split(" ")[0]!));
  return { plugins: count.plugins, others: count.others + names.length, otherNames: [...count.otherNames, ...names] };
}

/** One ADD, CHECK, DEL of `chainId` on `side`, each under strace. */
export async function processCountRun(m: Measurements, side: Side, chainId: ChainId): Promise<void> {
  const counts = m.processes;
  const chain = side.chains[chainId];
  const logs = COUNT_VERBS.map((v) => join(side.node.workDir, `execs-${chainId}-${v}.log`));
  const traces = COUNT_VERBS.map((v) => join(side.node.workDir, `execs-${chainId}-${v}.trace`));
  const jobs = COUNT_VERBS.map((verb, i) => {
    const opts = side.service ? { env: { CNI_TS_DEBUG_LOG: traces[i]! } } : {};
    const job = cnitoolJob(side.node, chain, verb.toLowerCase() as "add", side.pod, opts);
    return {
      ...job,
      argv: ["strace", "-f", "-qq", "-e", "trace=execve", "-e", "signal=none", "-o", logs[i]!, "--", ...job.argv],
    };
  });
  const { results } = await runSide(side, jobs);
  COUNT_VERBS.forEach((verb, i) => {
    if (results[i]!.status !== 0 && !(side.impl === "reference" && verb === "CHECK")) return;
    let text = "";
    try {
      text = readFileSync(logs[i]!, "utf8");
      rmSync(logs[i]!, { force: true });
    } catch {
      return;
    }
    const byVerb = ((counts[chainId] ??= {})[verb] ??= {});
    const count = countExecs(text, side.node.cniPath);
    if (!side.service) {
      byVerb[side.id] = count;
      return;
    }
    const records = readTrace(traces[i]!);
    const why = unservedReason(records, side.service.pid);
    if (why) noteUnserved(m, `${chainId} ${verb} under strace: ${why}`);
    byVerb[side.id] = addServiceChildren(count, records);
  });
}
