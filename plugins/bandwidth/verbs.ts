/**
 * bandwidth's verbs. Processes: none (links, qdiscs, the filter and CHECK's reads of them are
 * rtnetlink requests in this process, shaping-kernel.ts), but with subnet lists one `tc -batch`
 * for the htb in ADD and CHECK's reads (one `tc -j -batch` plus one per shaped device's classes).
 */
import { validAttachments } from "../../shared/cni/attachments.js";
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import type { Result } from "../../shared/cni/result.js";
import { haveBinary } from "../../shared/net/process.js";
import { requireNetns } from "../../shared/net/netns.js";
import { type BandwidthConf, isZero, parseBandwidthConf } from "./config.js";
import {
  createIfb,
  deleteLink,
  type HostLink,
  hostLinks,
  listIfbs,
  podPeerIndex,
  tcChanges,
  tcReads,
  tcShow,
  tcSteps,
  tcText,
  tick,
} from "./shaping-kernel.js";
import {
  type ShapingPlan,
  judgeShaping,
  planShaping,
  shapedDevices,
  shapingLines,
  shapingOps,
  showLines,
  showQueries,
} from "./shaping.js";
import { ifbName } from "./tbf-params.js";

const ETH_HEADER = 14;
const ALIAS_PREFIX = "cni-ts.bandwidth";

function readConf(inv: Invocation): BandwidthConf {
  return parseBandwidthConf(inv.raw, inv.conf.runtimeConfig);
}

function chained(inv: Invocation, message: string): Result {
  const prev = inv.prevResult();
  if (!prev) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      message,
      "put bandwidth after the plugin that creates the pod's veth in a .conflist",
    );
  }
  return prev;
}

/** The host side of the pod's veth, found as upstream does: the peer of CNI_IFNAME, named in prevResult. */
function hostInterface(inv: Invocation, prev: Result): HostLink {
  const { netns, ifname } = inv.env;
  if (prev.interfaces.length === 0) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "no interfaces provided",
      "prevResult lists no interfaces: the plugin before bandwidth must report the pod's veth",
    );
  }
  requireNetns(netns);
  const { peer, error } = podPeerIndex(netns, ifname);
  if (peer === undefined) {
    throw new CniError(
      ErrorCode.Internal,
      `container interface ${ifname} has no veth peer: ${error}`,
      "bandwidth shapes veth pairs only; CNI_IFNAME must be the pod end of one",
    );
  }
  const candidates = prev.interfaces.filter((i) => !i.sandbox).map((i) => i.name);
  for (const link of hostLinks(candidates).values()) if (link.index === peer) return link;
  throw new CniError(
    ErrorCode.Internal,
    "no veth peer of container interface found in host ns",
    `the host end of ${ifname} (ifindex ${peer}) is not among prevResult's host interfaces`,
  );
}

function requireBurstOverMtu(conf: BandwidthConf, link: HostLink): void {
  for (const [dir, limit] of [
    ["ingress", conf.ingress],
    ["egress", conf.egress],
  ] as const) {
    if (limit && Math.floor(limit.burstBits / 8) < link.mtu + ETH_HEADER) {
      const need = (link.mtu + ETH_HEADER) * 8;
      throw new CniError(
        ErrorCode.InvalidNetworkConfig,
        `${dir}Burst ${limit.burstBits} bits is smaller than one full-sized packet on ${link.name} (MTU ${link.mtu} + ${ETH_HEADER} bytes)`,
        `tbf drops every packet larger than its bucket: set ${dir}Burst to at least ${need} bits`,
      );
    }
  }
}

/** Marks the ifb as this network's for GC; skipped when the names make it longer than IFALIASZ. */
function ownerAlias(network: string, containerId: string): string | undefined {
  const alias = `${ALIAS_PREFIX}/${network}/${containerId}`;
  return alias.length < 256 ? alias : undefined;
}

/**
 * 0 under a tbf, as the Go plugin leaves it (the tbf keeps its own queue). An htb's classes queue
 * in pfifos as long as the device's queue length, so there it is the veth's, at least 1000 (what
 * upstream's htb settled on after plugins#1097: with 0 every packet is dropped).
 */
function ifbQueueLength(plan: ShapingPlan, host: HostLink): number {
  return plan.subnets ? Math.max(host.txqlen, 1000) : 0;
}

export function add(inv: Invocation): Result {
  const conf = readConf(inv);
  inv.trace.mark("config");
  const prev = chained(inv, "must be called as chained plugin");
  const result = { ...prev, cniVersion: inv.cniVersion, interfaces: [...prev.interfaces] };
  if (isZero(conf)) return result;
  const host = hostInterface(inv, prev);
  requireBurstOverMtu(conf, host);
  const t = tick();
  const plan = planShaping(conf, host.name, ifbName(inv.conf.name, inv.env.containerId), t);
  inv.trace.mark("host interface");
  if (plan.ifb) {
    const mac = createIfb(
      plan.ifb,
      host.mtu,
      ifbQueueLength(plan, host),
      ownerAlias(inv.conf.name, inv.env.containerId),
    );
    result.interfaces.push({ name: plan.ifb, mac });
  }
  const ops = shapingOps(plan);
  if (ops) tcChanges(ops, `shaping ${host.name}`);
  else tcSteps(shapingLines(plan), { what: `shaping ${host.name}` });
  inv.trace.mark("tc");
  return result;
}

/** Removes the pod's ifb (its tbf goes with it). The veth's qdiscs go with the veth. Needs neither netns nor prevResult. */
export function del(inv: Invocation): void {
  readConf(inv);
  const ifb = ifbName(inv.conf.name, inv.env.containerId);
  if (!deleteLink(ifb)) inv.trace.note(`bandwidth DEL: ${ifb} was already gone`);
}

export function check(inv: Invocation): void {
  const conf = readConf(inv);
  const prev = chained(inv, "must be called as a chained plugin");
  if (isZero(conf)) return;
  const host = hostInterface(inv, prev);
  const t = tick();
  const plan = planShaping(conf, host.name, ifbName(inv.conf.name, inv.env.containerId), t);
  if (plan.ifb && !hostLinks([plan.ifb]).has(plan.ifb)) {
    throw new CniError(
      ErrorCode.Internal,
      `get ifb device: Link not found: ${plan.ifb}`,
      "run DEL and ADD again for this container to restore its egress shaping",
    );
  }
  const what = `reading the qdiscs of ${host.name}`;
  // The htb's subnet filters and classes have no typed reads: tc reads all of that layout.
  const answers = plan.subnets ? tcShow(showLines(plan), what) : tcReads(showQueries(plan), what);
  const classes = new Map(
    plan.subnets
      ? shapedDevices(plan).map((dev) => [dev, tcText([`class show dev ${dev}`], `reading the classes of ${dev}`)])
      : [],
  );
  const problems = judgeShaping(plan, answers, classes, t);
  if (problems.length > 0) {
    throw new CniError(
      ErrorCode.Internal,
      problems.join("; "),
      "run DEL and ADD again for this container to restore its shaping",
    );
  }
}

/** Removes ifb devices this network made for attachments the runtime no longer lists (spec 1.1 GC). */
export function gc(inv: Invocation): void {
  const valid = validAttachments(inv.raw);
  if (valid === undefined) {
    throw new CniError(
      ErrorCode.InvalidNetworkConfig,
      "GC needs cni.dev/valid-attachments",
      "the runtime must list the attachments to keep; without it nothing is removed",
    );
  }
  const keep = new Set(valid.map((a) => a.containerId));
  const mine = `${ALIAS_PREFIX}/${inv.conf.name}/`;
  for (const { name, alias } of listIfbs()) {
    if (!alias.startsWith(mine)) continue;
    const containerId = alias.slice(mine.length);
    if (keep.has(containerId)) continue;
    if (deleteLink(name)) inv.trace.note(`bandwidth GC: removed ${name} of ${containerId}`);
  }
}

export function status(): void {
  if (!haveBinary("tc")) {
    throw new CniError(
      ErrorCode.PluginNotAvailable,
      "tc (iproute2) is not installed",
      "install iproute2: bandwidth shapes traffic with tc",
    );
  }
}
