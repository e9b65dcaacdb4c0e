/**
 * loopback: brings `lo` up in the pod namespace (CNI_IFNAME is ignored, as upstream).
 * One `ip -j -batch -` process inside the namespace does the change and reads the result back.
 */
import { CniError, ErrorCode } from "../../shared/cni/errors.js";
import type { Invocation } from "../../shared/cni/plugin.js";
import { emptyResult, type Result } from "../../shared/cni/result.js";
import { ipBatch, parseJsonStream } from "../../shared/net/exec.js";
import { probeNetns, requireNetns } from "../../shared/net/netns.js";
import { loopbackAddresses, parseLoopbackLink } from "./lo-state.js";

export function add(inv: Invocation): Result {
  requireNetns(inv.env.netns);
  const out = ipBatch(["link set lo up", "addr show dev lo"], {
    netns: inv.env.netns,
    json: true,
    what: `setting lo up in ${inv.env.netns}`,
  });
  const lo = parseLoopbackLink(parseJsonStream(out.stdout));
  const { v4, v6 } = loopbackAddresses(lo);
  const prev = inv.prevResult();
  if (prev) return { ...prev, cniVersion: inv.cniVersion };
  const result = emptyResult(inv.cniVersion);
  result.interfaces.push({ name: "lo", mac: "00:00:00:00:00:00", sandbox: inv.env.netns });
  if (v4) result.ips.push({ address: v4, interface: 0 });
  if (v6) result.ips.push({ address: v6, interface: 0 });
  return result;
}

export function del(inv: Invocation): void {
  const netns = inv.env.netns;
  if (netns === "") return;
  const probe = probeNetns(netns);
  if (probe.state === "missing" || probe.state === "not-netns") {
    inv.trace.note(`loopback DEL: ${netns} is ${probe.state === "missing" ? "gone" : "not a network namespace"}; nothing to set down`);
    return;
  }
  ipBatch(["link set lo down"], { netns, what: `setting lo down in ${netns}` });
}

export function check(inv: Invocation): void {
  requireNetns(inv.env.netns);
  const out = ipBatch(["link show dev lo"], { netns: inv.env.netns, json: true, what: `reading lo in ${inv.env.netns}` });
  const lo = parseLoopbackLink(parseJsonStream(out.stdout));
  if (!lo.up) {
    throw new CniError(ErrorCode.Internal, "loopback interface is down", `run ADD again to bring lo up in ${inv.env.netns}`);
  }
}

/** Spec 1.1 verbs: nothing to collect and no dependency to report, as upstream (success, no output). */
export function gc(): void {}
export function status(): void {}
