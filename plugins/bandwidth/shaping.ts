/**
 * The tc layout bandwidth builds, as upstream's: ingress (towards the pod) is a root tbf on the
 * host side of the pod's veth; egress (from the pod) is an ingress qdisc on that veth whose u32
 * filter redirects every packet to the pod's ifb device, which has the root tbf. Planning the tc
 * changes (typed steps of the kernel layer; tc lines for the htb below) and judging what
 * `tc -j -d -r` reports live here; running them is shaping-kernel's job.
 *
 * With shapedSubnets or unshapedSubnets the root qdisc of each shaped device is instead the htb
 * upstream introduced with those fields (plugins#921): class 1:30 (minor 48) capped at the rate
 * with the same bucket and a ceiling of twice the rate, class 1:1 uncapped (100 Gbyte/s), the
 * listed subnets sent by u32 filters (prio 16 IPv4, 15 IPv6) to the class they name and the rest
 * to the other one by default. Towards the pod the filters match the source address, from the pod
 * the destination: the remote end either way (upstream matched the destination both ways, which
 * towards the pod is the pod itself).
 */
import { type TcOp, tcLine, type TcQuery, tcQueryLine } from "../../shared/net/kernel.js";
import type { BandwidthConf, Subnets } from "./config.js";
import type { TcStep } from "./shaping-kernel.js";
import { type TbfParams, tbfParams, tcBurst, tcXmitTicks } from "./tbf-params.js";

export interface ShapingPlan {
  hostDev: string;
  ifb?: string;
  ingress?: TbfParams;
  egress?: TbfParams;
  subnets?: Subnets;
}

const SHAPED_CLASS = "1:30";
const UNSHAPED_CLASS = "1:1";
/** Upstream's uncapped class: 100 Gbyte/s. */
const UNCAPPED_RATE = 100_000_000_000;
const NO_ROOT_QDISC = /Cannot delete qdisc with handle of zero|Invalid handle|No such file or directory/;

export function planShaping(conf: BandwidthConf, hostDev: string, ifb: string, tick: number): ShapingPlan {
  return {
    hostDev,
    ...(conf.ingress && { ingress: tbfParams(conf.ingress, tick) }),
    ...(conf.egress && { egress: tbfParams(conf.egress, tick), ifb }),
    ...(conf.subnets && { subnets: conf.subnets }),
  };
}

/** The htb for one device; the old root goes first so that a repeated ADD starts from nothing. */
function htbLines(dev: string, p: TbfParams, s: Subnets, match: "src" | "dst"): TcStep[] {
  const listed = s.only ? SHAPED_CLASS : UNSHAPED_CLASS;
  const lines: TcStep[] = [
    { line: `qdisc del dev ${dev} root`, tolerate: NO_ROOT_QDISC },
    {
      line: `qdisc add dev ${dev} root handle 1: htb default ${(s.only ? UNSHAPED_CLASS : SHAPED_CLASS).slice(2)} r2q 10`,
    },
    // The ceiling's bucket holds the same time as the rate's: twice the bytes at twice the rate.
    {
      line: `class add dev ${dev} parent 1: classid ${SHAPED_CLASS} htb rate ${p.rate}bps burst ${p.burstBytes} ceil ${2 * p.rate}bps cburst ${2 * p.burstBytes}`,
    },
    {
      line: `class add dev ${dev} parent 1: classid ${UNSHAPED_CLASS} htb rate ${UNCAPPED_RATE}bps ceil ${UNCAPPED_RATE}bps`,
    },
  ];
  for (const cidr of s.cidrs) {
    const v6 = cidr.includes(":");
    lines.push({
      line: `filter add dev ${dev} parent 1: protocol ${v6 ? "ipv6" : "ip"} prio ${v6 ? 15 : 16} u32 match ${v6 ? "ip6" : "ip"} ${match} ${cidr} flowid ${listed}`,
    });
  }
  return lines;
}

/** The root tbf as tc makes it: the burst in bytes, which the kernel turns into its own tick count. */
function tbfOp(dev: string, p: TbfParams): TcOp {
  const burst = tcBurst(p);
  return { op: "tbf-replace", dev, rate: p.rate, burst: burst.bytes, limit: p.limit, buffer: burst.ticks };
}

function rootLines(dev: string, p: TbfParams, s: Subnets | undefined, match: "src" | "dst"): TcStep[] {
  return s ? htbLines(dev, p, s, match) : [{ line: tcLine(tbfOp(dev, p)) }];
}

/**
 * The changes for ADD as typed steps, for a plan without subnet lists (undefined with them: the
 * htb is tc lines only, shapingLines). "replace" makes a repeated ADD converge instead of failing
 * on "File exists". The Go plugin's filter also carries a second redirect (its netlink library
 * adds one for the filter's RedirIndex besides the explicit action) that never runs, as the first
 * steals the packet; tc 6.1 cannot give a mirred the "pass" it has, and it changes nothing, so
 * ours has one.
 */
export function shapingOps(plan: ShapingPlan): TcOp[] | undefined {
  if (plan.subnets) return undefined;
  const ops: TcOp[] = [];
  if (plan.ingress) ops.push(tbfOp(plan.hostDev, plan.ingress));
  if (plan.egress && plan.ifb) {
    ops.push(
      { op: "ingress-replace", dev: plan.hostDev },
      { op: "redirect-replace", dev: plan.hostDev, to: plan.ifb },
      tbfOp(plan.ifb, plan.egress),
    );
  }
  return ops;
}

/** The tc batch for ADD (any plan; the typed steps' own lines where there are some). */
export function shapingLines(plan: ShapingPlan): TcStep[] {
  const lines: TcStep[] = [];
  if (plan.ingress) lines.push(...rootLines(plan.hostDev, plan.ingress, plan.subnets, "src"));
  if (plan.egress && plan.ifb) {
    lines.push(
      { line: tcLine({ op: "ingress-replace", dev: plan.hostDev }) },
      { line: tcLine({ op: "redirect-replace", dev: plan.hostDev, to: plan.ifb }) },
      ...rootLines(plan.ifb, plan.egress, plan.subnets, "dst"),
    );
  }
  return lines;
}

/** The reads CHECK makes of the tbf layout, in the order `judgeShaping` reads their answers. */
export function showQueries(plan: ShapingPlan): TcQuery[] {
  const queries: TcQuery[] = [{ q: "qdiscs", dev: plan.hostDev }];
  if (plan.egress && plan.ifb)
    queries.push({ q: "ingress-filters", dev: plan.hostDev }, { q: "qdiscs", dev: plan.ifb });
  return queries;
}

/** The same reads as tc show lines, and for an htb its subnet filters too (CHECK runs them through tc). */
export function showLines(plan: ShapingPlan): string[] {
  const lines = showQueries(plan).map(tcQueryLine);
  if (plan.subnets) for (const dev of shapedDevices(plan)) lines.push(`filter show dev ${dev} parent 1:`);
  return lines;
}

/** The devices whose root qdisc shapes (the host veth towards the pod, the ifb from it). */
export function shapedDevices(plan: ShapingPlan): string[] {
  return [...(plan.ingress ? [plan.hostDev] : []), ...(plan.egress && plan.ifb ? [plan.ifb] : [])];
}

interface TcQdiscJson {
  kind?: string;
  handle?: string;
  root?: boolean;
  options?: { rate?: number; burst_raw?: string; limit?: number };
}

interface TcFilterJson {
  kind?: string;
  options?: {
    flowid?: string;
    actions?: Array<{ kind?: string; mirred_action?: string; direction?: string; to_dev?: string }>;
  };
}

function judgeTbf(qdiscs: unknown[], dev: string, want: TbfParams): string[] {
  const tbfs = (qdiscs as TcQdiscJson[]).filter((q) => q.kind === "tbf" && q.root);
  if (tbfs.length === 0) return [`Failed to find qdisc: no root tbf on ${dev}`];
  const o = tbfs[0]!.options ?? {};
  const problems: string[] = [];
  if (o.rate !== want.rate) problems.push(`Rate doesn't match on ${dev} (${o.rate} != ${want.rate} bytes/s)`);
  const buffer = o.burst_raw === undefined ? undefined : Number.parseInt(o.burst_raw, 16);
  const ticks = tcBurst(want).ticks;
  if (buffer !== ticks) problems.push(`Buffer doesn't match on ${dev} (${buffer} != ${ticks} ticks)`);
  if (o.limit !== want.limit) problems.push(`Limit doesn't match on ${dev} (${o.limit} != ${want.limit} bytes)`);
  return problems;
}

/**
 * An htb root as htbLines builds it: the default class, one filter per subnet to the listed class,
 * and (from `tc -d -r class show`, which prints no JSON for htb) the capped class's bucket.
 */
function judgeHtb(
  qdiscs: unknown[],
  filters: unknown[],
  classText: string,
  dev: string,
  want: TbfParams,
  s: Subnets,
  tick: number,
): string[] {
  const htb = (qdiscs as Array<TcQdiscJson & { options?: { default?: string } }>).find(
    (q) => q.kind === "htb" && q.root,
  );
  if (!htb) return [`Failed to find qdisc: no root htb on ${dev}`];
  const problems: string[] = [];
  const wantDefault = s.only ? "0x1" : "0x30";
  if (htb.options?.default !== wantDefault)
    problems.push(`Default class does not match on ${dev} (${htb.options?.default} != ${wantDefault})`);
  const listed = s.only ? SHAPED_CLASS : UNSHAPED_CLASS;
  const rules = (filters as TcFilterJson[]).filter((f) => f.options?.flowid !== undefined);
  if (rules.length !== s.cidrs.length || rules.some((f) => f.options?.flowid !== listed)) {
    problems.push(
      `subnet filters on ${dev} do not match (${rules.length} found, ${s.cidrs.length} to ${listed} expected)`,
    );
  }
  const shaped = new RegExp(`^class htb ${SHAPED_CLASS} .* buffer \\[([0-9a-f]+)\\]`, "m").exec(classText);
  const ticks = tcXmitTicks(want.rate, want.burstBytes, tick);
  if (!shaped) problems.push(`no htb class ${SHAPED_CLASS} on ${dev}`);
  else if (Number.parseInt(shaped[1]!, 16) !== ticks)
    problems.push(`Burst buffer size does not match on ${dev} (${Number.parseInt(shaped[1]!, 16)} != ${ticks} ticks)`);
  if (!new RegExp(`^class htb ${UNSHAPED_CLASS} `, "m").test(classText))
    problems.push(`no htb class ${UNSHAPED_CLASS} on ${dev}`);
  return problems;
}

/**
 * Problems found in the answers to `showLines(plan)` (and, with subnet lists, each shaped
 * device's class listing); empty when the kernel holds the plan.
 */
export function judgeShaping(
  plan: ShapingPlan,
  answers: unknown[][],
  classText: ReadonlyMap<string, string> = new Map(),
  tick = 15.625,
): string[] {
  const problems: string[] = [];
  const hostQdiscs = answers[0] ?? [];
  const ifbQdiscs = answers[2] ?? [];
  let next = plan.egress && plan.ifb ? 3 : 1;
  const root = (qdiscs: unknown[], dev: string, want: TbfParams): string[] =>
    plan.subnets
      ? judgeHtb(qdiscs, answers[next++] ?? [], classText.get(dev) ?? "", dev, want, plan.subnets, tick)
      : judgeTbf(qdiscs, dev, want);
  if (plan.ingress) problems.push(...root(hostQdiscs, plan.hostDev, plan.ingress));
  if (plan.egress && plan.ifb) {
    if (!(hostQdiscs as TcQdiscJson[]).some((q) => q.kind === "ingress"))
      problems.push(`no ingress qdisc on ${plan.hostDev}`);
    const redirects = (answers[1] ?? []).some((f) =>
      (f as TcFilterJson).options?.actions?.some(
        (a) => a.kind === "mirred" && a.mirred_action === "redirect" && a.to_dev === plan.ifb,
      ),
    );
    if (!redirects) problems.push(`no filter on ${plan.hostDev} redirects to ${plan.ifb}`);
    problems.push(...root(ifbQdiscs, plan.ifb, plan.egress));
  }
  return problems;
}
