/**
 * Churn: N pods added concurrently, audited, deleted concurrently, audited again, for several
 * rounds, on one sandbox node — with one network, or two network names sharing one bridge.
 */
import { type Chain, type ChainKind, podCapArgs, setupChain } from "./chains.js";
import { type LiveAttachment, auditNode } from "./leaks.js";
import { type FaultPoint, resultIps } from "./trials.js";
import { deleteNetns } from "../../conformance-tests/lib/netns.js";
import type { Pod, SandboxNode } from "../../conformance-tests/lib/sandbox.js";

export interface LoadOptions {
  kind: ChainKind;
  pods: number;
  rounds: number;
  /**
   * 2 = two network names on one bridge; pods alternate. They share the subnet and gateway (a bridge
   * holds one IPv4 gateway subnet, as upstream) and split its range, each with its own store.
   */
  networks: 1 | 2;
  /**
   * Crashes under load (the node must use the test build): this share of the ADDs and of the DELs
   * is SIGKILLed at a point drawn from the lists; the runtime then retries DEL until it succeeds.
   */
  chaos?: { add: FaultPoint[]; del: FaultPoint[]; rate: number; seed: number };
}

export interface LoadRound {
  round: number;
  addMs: number;
  delMs: number;
  addLatency: Latency;
  delLatency: Latency;
}

export interface Latency {
  p50: number;
  p95: number;
  max: number;
}

export interface LoadResult {
  opts: LoadOptions;
  rounds: LoadRound[];
  failures: string[];
  /** Operations killed on purpose (chaos), and DEL retries they needed. */
  killed: number;
  retries: number;
  leaks: string[];
  duplicates: string[];
  ms: number;
}

function latency(samples: number[]): Latency {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
  return { p50: at(0.5), p95: at(0.95), max: s[s.length - 1] ?? 0 };
}

export async function runLoad(node: SandboxNode, opts: LoadOptions): Promise<LoadResult> {
  const started = Date.now();
  const chains: Chain[] = [];
  if (opts.networks === 1) chains.push(setupChain(node, opts.kind));
  else {
    const bridge = node.uniqueName("cs");
    const base = node.subnet(3).replace(/\.0\/24$/, "");
    const halves = [
      { rangeStart: `${base}.2`, rangeEnd: `${base}.127` },
      { rangeStart: `${base}.128`, rangeEnd: `${base}.254` },
    ];
    chains.push(setupChain(node, opts.kind, { suffix: "a", subnetIndex: 3, bridge, range: halves[0] }));
    chains.push(setupChain(node, opts.kind, { suffix: "b", subnetIndex: 3, bridge, range: halves[1] }));
  }
  const pods: Pod[] = [];
  for (let i = 0; i < opts.pods; i++) pods.push(await node.addPod(`l${String(i).padStart(4, "0")}`));
  const chainOf = (i: number): Chain => chains[i % chains.length]!;
  const idPrefix = `cts-${node.token}-`;
  const result: LoadResult = {
    opts,
    rounds: [],
    failures: [],
    killed: 0,
    retries: 0,
    leaks: [],
    duplicates: [],
    ms: 0,
  };
  let rand = opts.chaos?.seed ?? 1;
  const next = (): number => (rand = (rand * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pick = (points: FaultPoint[] | undefined): FaultPoint | undefined =>
    points && points.length > 0 && next() < (opts.chaos?.rate ?? 0)
      ? points[Math.floor(next() * points.length)]
      : undefined;
  const faultEnv = (p: FaultPoint | undefined, pod: Pod, what: string): Record<string, string> =>
    p
      ? {
          CNI_TS_FAULT: p.name,
          CNI_TS_FAULT_NTH: String(p.nth),
          CNI_TS_FAULT_LOG: `${node.workDir}/chaos-${pod.label}-${what}.log`,
        }
      : {};
  /** The runtime's answer to a failed operation: DEL with the same arguments until it succeeds. */
  const retryDel = async (pod: Pod, i: number, round: number): Promise<void> => {
    for (let attempt = 1; attempt <= 3; attempt++) {
      result.retries++;
      const o = await node.cnitool("del", chainOf(i).network, pod, { capArgs: podCapArgs(32000 + i) });
      if (o.ok) return;
      if (attempt === 3)
        result.failures.push(`round ${round} DEL retry of ${pod.containerId}: ${o.stderr.trim().slice(0, 300)}`);
    }
  };
  for (let round = 1; round <= opts.rounds; round++) {
    const live: LiveAttachment[] = [];
    const addTimes: number[] = [];
    const t0 = Date.now();
    await Promise.all(
      pods.map(async (pod, i) => {
        const fault = pick(opts.chaos?.add);
        const s = Date.now();
        const o = await node.cnitool("add", chainOf(i).network, pod, {
          capArgs: podCapArgs(32000 + i),
          env: faultEnv(fault, pod, `add${round}`),
        });
        addTimes.push(Date.now() - s);
        if (o.ok)
          live.push({
            containerId: pod.containerId,
            ifname: "eth0",
            ips: resultIps(o.json),
            network: chainOf(i).network,
          });
        else if (fault) {
          result.killed++;
          await retryDel(pod, i, round);
        } else result.failures.push(`round ${round} ADD ${pod.containerId}: ${o.stderr.trim().slice(0, 300)}`);
      }),
    );
    const addMs = Date.now() - t0;
    const afterAdd = await auditNode(node, chains, live, { idPrefix });
    result.leaks.push(...afterAdd.leaks.map((l) => `round ${round} after ADD: ${l}`));
    result.duplicates.push(...afterAdd.duplicates.map((d) => `round ${round}: ${d}`));
    const delTimes: number[] = [];
    const t1 = Date.now();
    await Promise.all(
      pods.map(async (pod, i) => {
        const fault = live.some((a) => a.containerId === pod.containerId) ? pick(opts.chaos?.del) : undefined;
        const s = Date.now();
        const o = await node.cnitool("del", chainOf(i).network, pod, {
          capArgs: podCapArgs(32000 + i),
          env: faultEnv(fault, pod, `del${round}`),
        });
        delTimes.push(Date.now() - s);
        if (o.ok) return;
        if (fault) {
          result.killed++;
          await retryDel(pod, i, round);
        } else result.failures.push(`round ${round} DEL ${pod.containerId}: ${o.stderr.trim().slice(0, 300)}`);
      }),
    );
    const delMs = Date.now() - t1;
    const afterDel = await auditNode(node, chains, [], { idPrefix });
    result.leaks.push(...afterDel.leaks.map((l) => `round ${round} after DEL: ${l}`));
    result.rounds.push({ round, addMs, delMs, addLatency: latency(addTimes), delLatency: latency(delTimes) });
  }
  for (const pod of pods) await deleteNetns(pod.name);
  result.ms = Date.now() - started;
  return result;
}

export function formatLoad(r: LoadResult): string {
  const chaos = r.opts.chaos
    ? `, ${Math.round(r.opts.chaos.rate * 100)}% of operations SIGKILLed at a random point (${r.killed} kills, ${r.retries} DEL retries)`
    : "";
  const head = `${r.opts.kind} chain, ${r.opts.networks} network(s), ${r.opts.pods} pods x ${r.opts.rounds} rounds${chaos}`;
  const rows = r.rounds.map(
    (x) =>
      `  round ${x.round}: ADD all ${x.addMs} ms (p50 ${x.addLatency.p50}, p95 ${x.addLatency.p95}, max ${x.addLatency.max}), ` +
      `DEL all ${x.delMs} ms (p50 ${x.delLatency.p50}, p95 ${x.delLatency.p95}, max ${x.delLatency.max})`,
  );
  const tail = `  failures ${r.failures.length}, duplicates ${r.duplicates.length}, leftovers ${r.leaks.length}`;
  return [head, ...rows, tail].join("\n");
}
