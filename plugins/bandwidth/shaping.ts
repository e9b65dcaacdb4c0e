/**
 * The tc layout bandwidth builds, as upstream's: ingress (towards the pod) is a root tbf on the
 * host side of the pod's veth; egress (from the pod) is an ingress qdisc on that veth whose u32
 * filter redirects every packet to the pod's ifb device, which has the root tbf. Rendering the tc
 * lines and judging what `tc -j -d -r` reports live here; running them is shaping-kernel's job.
 */
import type { BandwidthConf } from "./config.js";
import { type TbfParams, tbfParams, tcBurst } from "./tbf-params.js";

export interface ShapingPlan {
  hostDev: string;
  ifb?: string;
  ingress?: TbfParams;
  egress?: TbfParams;
}

export function planShaping(conf: BandwidthConf, hostDev: string, ifb: string, tick: number): ShapingPlan {
  return {
    hostDev,
    ...(conf.ingress && { ingress: tbfParams(conf.ingress, tick) }),
    ...(conf.egress && { egress: tbfParams(conf.egress, tick), ifb }),
  };
}

function tbfLine(dev: string, p: TbfParams): string {
  return `qdisc replace dev ${dev} root handle 1: tbf rate ${p.rate}bps burst ${tcBurst(p).bytes} limit ${p.limit}`;
}

/**
 * The tc batch for ADD. "replace" makes a repeated ADD converge instead of failing on "File exists".
 * The Go plugin's filter also carries a second redirect (its netlink library adds one for the
 * filter's RedirIndex besides the explicit action) that never runs, as the first steals the packet;
 * tc 6.1 cannot give a mirred the "pass" it has, and it changes nothing, so ours has one.
 */
export function shapingLines(plan: ShapingPlan): string[] {
  const lines: string[] = [];
  if (plan.ingress) lines.push(tbfLine(plan.hostDev, plan.ingress));
  if (plan.egress && plan.ifb) {
    lines.push(
      `qdisc replace dev ${plan.hostDev} handle ffff: ingress`,
      `filter replace dev ${plan.hostDev} parent ffff: protocol all prio 1 handle 800::800 u32 match u32 0 0 classid 1:1 action mirred egress redirect dev ${plan.ifb}`,
      tbfLine(plan.ifb, plan.egress),
    );
  }
  return lines;
}

/** The show lines CHECK runs, in the order `judgeShaping` reads their answers. */
export function showLines(plan: ShapingPlan): string[] {
  const lines = [`qdisc show dev ${plan.hostDev}`];
  if (plan.egress && plan.ifb) lines.push(`filter show dev ${plan.hostDev} ingress`, `qdisc show dev ${plan.ifb}`);
  return lines;
}

interface TcQdiscJson {
  kind?: string;
  handle?: string;
  root?: boolean;
  options?: { rate?: number; burst_raw?: string; limit?: number };
}

interface TcFilterJson {
  kind?: string;
  options?: { flowid?: string; actions?: Array<{ kind?: string; mirred_action?: string; direction?: string; to_dev?: string }> };
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

/** Problems found in the answers to `showLines(plan)`; empty when the kernel holds the plan. */
export function judgeShaping(plan: ShapingPlan, answers: unknown[][]): string[] {
  const problems: string[] = [];
  const hostQdiscs = answers[0] ?? [];
  if (plan.ingress) problems.push(...judgeTbf(hostQdiscs, plan.hostDev, plan.ingress));
  if (plan.egress && plan.ifb) {
    if (!(hostQdiscs as TcQdiscJson[]).some((q) => q.kind === "ingress")) problems.push(`no ingress qdisc on ${plan.hostDev}`);
    const redirects = (answers[1] ?? []).some((f) =>
      (f as TcFilterJson).options?.actions?.some((a) => a.kind === "mirred" && a.mirred_action === "redirect" && a.to_dev === plan.ifb),
    );
    if (!redirects) problems.push(`no filter on ${plan.hostDev} redirects to ${plan.ifb}`);
    problems.push(...judgeTbf(answers[2] ?? [], plan.ifb, plan.egress));
  }
  return problems;
}
